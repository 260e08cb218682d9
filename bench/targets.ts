/** @module The targets, checked against a run's results; a miss says by how much. */

import type { ChainRun } from "./chain.ts";
import type { LogRun, ScaleRun } from "./clusters.ts";
import { fmt } from "./report.ts";

/** One target and what the run measured. */
export interface TargetCheck {
  name: string;
  wanted: string;
  measured: string;
  met: boolean;
  detail: string;
}

interface Inputs {
  sweep: ChainRun[];
  /** A BLOCK run at saturation with a control process (see chain.ts). */
  lag: ChainRun;
  latency: ChainRun;
  baselines: { vsZeromqJs: number; vsC?: number | undefined; cSkipped?: string | undefined };
  logs: LogRun;
  scale: ScaleRun[];
  /** Saturation throughput per event format, msgpack-v1 first. */
  formats?: { format: string; eventsPerSec: number }[];
}

function check(
  name: string,
  wanted: string,
  value: number,
  limit: number,
  atLeast: boolean,
  unit: string,
): TargetCheck {
  const met = atLeast ? value >= limit : value <= limit;
  const by = atLeast ? `${fmt((1 - value / limit) * 100)} % short` : `${fmt((value / limit - 1) * 100)} % over`;
  return { name, wanted, measured: `${fmt(value)}${unit}`, met, detail: met ? "" : by };
}

/** Checks the targets of issue 7 (2-core machine, ratios from the same run). */
export function targets(r: Inputs): TargetCheck[] {
  const l = r.lag;
  const control = l.controlLag ? `; a busy process without messaging: ${fmt(l.controlLag.maxMs)} ms max` : "";
  const out = [
    check("Bun → broker → Bun vs zeromq.js on Node", "≥ 4×", r.baselines.vsZeromqJs, 4, true, "×"),
    check("latency p50 at 1,000 events/s", "≤ 150 µs", r.latency.p50Us, 150, false, " µs"),
    check("latency p99 at 1,000 events/s", "≤ 500 µs", r.latency.p99Us, 500, false, " µs"),
    {
      ...check("publisher event-loop lag, BLOCK at saturation", "≤ 10 ms", l.maxLagMs, 10, false, " ms"),
      measured: `${fmt(l.maxLagMs)} ms max, ${fmt(l.lagP99Ms)} ms p99${control}`,
    },
    check("logs into one logger writing to disk", "≥ 500k records/s", r.logs.recordsPerSec, 500_000, true, "/s"),
  ];
  out.splice(
    1,
    0,
    r.baselines.vsC === undefined
      ? {
          name: "Bun → broker → Bun vs C libzmq",
          wanted: "≥ 0.6×",
          measured: "skipped",
          met: false,
          detail: r.baselines.cSkipped ?? "no C ceiling",
        }
      : check("Bun → broker → Bun vs C libzmq", "≥ 0.6×", r.baselines.vsC, 0.6, true, "×"),
  );
  const [msgpack, bin] = r.formats ?? [];
  if (msgpack && bin)
    out.push(
      check(
        "broker-bin-v1 end to end vs msgpack-v1",
        "≥ 0.9×",
        bin.eventsPerSec / msgpack.eventsPerSec,
        0.9,
        true,
        "×",
      ),
    );
  const s32 = r.scale.find((s) => s.nodes === 32);
  if (s32)
    out.push(check("discovery of 32 nodes (after the last started)", "< 2 s", s32.discoveryMs / 1000, 2, false, " s"));
  return out;
}
