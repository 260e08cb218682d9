/** @module The shape of a bench run's results (bench/results/latest.json), shared by the report and the targets. */

import type { ChainResult } from "./baselines.ts";
import type { ChainRun, RoundTrip } from "./chain.ts";
import type { ScaleRun } from "./clusters.ts";
import type { TargetCheck } from "./targets.ts";

/** The two event formats every row runs in. */
export const FORMATS = ["msgpack-v1", "broker-bin-v1"] as const;
/** One of {@linkcode FORMATS}. */
export type Format = (typeof FORMATS)[number];

/** Per format: this library's median, and every repetition. */
export interface PerFormat<T> {
  format: Format;
  median: T;
  runs: T[];
}

/** Everything one run measured. */
export interface Results {
  startedAt: string;
  quick: boolean;
  seconds: number;
  machine: Record<string, string | number | undefined>;
  /** BLOCK, as fast as it goes, per format (median of the repetitions), and the same frames in C and zeromq.js. */
  throughput: { bun: PerFormat<ChainRun>[]; c?: ChainResult; zeromqJs: ChainResult; cSkipped?: string };
  /** Latency at 1,000 events/s, per format, and C's at the same rate. */
  latency: { bun: PerFormat<ChainRun>[]; c?: ChainResult };
  /** The same throughput, latency and round trips with `xsubEngine` and `xpubEngine` "bun" on every node, run beside them, and the logs with `pushEngine` and `pullEngine` "bun". */
  bunEngine: {
    throughput: PerFormat<ChainRun>[];
    latency: PerFormat<ChainRun>[];
    roundTrip: PerFormat<RoundTrip>[];
    /** The log run with `pushEngine: "bun"` on the writers and `pullEngine: "bun"` on the logger (same shape as `logs`). */
    logs?: unknown;
  };
  /** Ping → pong round trips at 1,000/s, per format, and C's. */
  roundTrip: { bun: PerFormat<RoundTrip>[]; c?: RoundTrip };
  /** msgpack-v1: DROP as fast as it goes, and BLOCK and DROP at fractions of the BLOCK capacity. */
  sweep: ChainRun[];
  /** Per format: BLOCK and DROP at the same offered load above capacity (the cheap-drops rows). */
  drops: { format: Format; block: ChainRun; drop: ChainRun }[];
  /** Per format: BLOCK as fast as it goes with the bounded-queue setting. */
  bounded: { format: Format; setting: string; run: ChainRun }[];
  /** Per format: RSS of an idle node, bytes. */
  idleRss: { format: Format; bytes: number }[];
  slow: ChainRun[];
  lag?: ChainRun;
  /** What bench/clusters.ts' log benchmark returned (its shape is its own; see targets.ts). */
  logs: unknown;
  scale: ScaleRun[];
  /** Benchmarks that failed (logs, scale), with why; the bench exits 1 when there are any. */
  errors?: string[];
  targets: TargetCheck[];
}
