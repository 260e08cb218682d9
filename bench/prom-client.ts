/**
 * prom-client against lib/metrics.ts: one node's metrics (Zeek's names) in each registry, the cost of
 * a scrape (rendering the exposition text) and of counting (inc with and without labels), and whether
 * prom-client's default process metrics run under Bun. prom-client is no dependency of this package:
 *
 *   bun add --no-save prom-client && bun bench/prom-client.ts
 *   PROM_CLIENT=/path/to/node_modules/prom-client bun bench/prom-client.ts
 *
 * Prints a table and writes bench/results/prom-client.json. Read the ratios, not the absolute times.
 */

import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { processMetrics } from "../lib/_process-metrics.ts";
import { MESSAGE_SIZE_BOUNDS, Registry } from "../lib/metrics.ts";

/** The part of prom-client's API used here (it is not installed for the type check). */
interface PromRegistry {
  setDefaultLabels(labels: Record<string, string>): void;
  metrics(): Promise<string>;
}
type Metric<M> = new (
  options: { name: string; help: string; registers: PromRegistry[] } & Record<string, unknown>,
) => M;
interface Prom {
  Registry: new () => PromRegistry;
  Counter: Metric<{ inc(labelsOrBy?: Record<string, string> | number, by?: number): void }>;
  Histogram: Metric<{ observe(labels: Record<string, string>, value: number): void }>;
  Gauge: Metric<{ set(value: number): void }>;
  collectDefaultMetrics(options: { register: PromRegistry }): void;
}
const prom: Prom = await import(process.env.PROM_CLIENT ?? "prom-client").catch(() => {
  console.error("prom-client is not installed: bun add --no-save prom-client (or set PROM_CLIENT)");
  process.exit(2);
});

const NODE = { node: "worker-1" };
const PLAIN = 25; // counters and gauges without labels, as a node has
const TOPICS = 40; // VERBOSE series: topic × handler
const SIZES = 5; // DEBUG histogram series

function ours(): { render: () => string; inc: () => void; incLabelled: () => void } {
  const r = new Registry();
  const plain = Array.from({ length: PLAIN }, (_, i) => r.counter(`zeek_cluster_zeromq_c${i}_total`, `counter ${i}`));
  const verbose = r.counter("zeek_cluster_core_verbose_incoming_events_total", "Events by topic and handler");
  const sizes = r.histogram("zeek_cluster_core_debug_incoming_event_sizes", "Event sizes", MESSAGE_SIZE_BOUNDS);
  r.collect("zeek_cluster_zeromq_onloop_queue_depth", "gauge", "Events waiting", () => 3);
  for (const c of plain) c.inc({}, 7);
  for (let t = 0; t < TOPICS; t++) verbose.inc({ topic: `zeek.cluster.t${t}`, handler: `h${t}` }, t);
  for (let s = 0; s < SIZES; s++) for (const b of MESSAGE_SIZE_BOUNDS) sizes.observe({ topic: `t${s}` }, b - 1);
  const labels = { topic: "zeek.cluster.t1", handler: "h1" };
  return { render: () => r.render(NODE), inc: () => plain[0]!.inc(), incLabelled: () => verbose.inc(labels) };
}

function theirs(): { render: () => Promise<string>; inc: () => void; incLabelled: () => void } {
  const r = new prom.Registry();
  r.setDefaultLabels(NODE);
  const plain = Array.from(
    { length: PLAIN },
    (_, i) => new prom.Counter({ name: `zeek_cluster_zeromq_c${i}_total`, help: `counter ${i}`, registers: [r] }),
  );
  const verbose = new prom.Counter({
    name: "zeek_cluster_core_verbose_incoming_events_total",
    help: "Events by topic and handler",
    labelNames: ["topic", "handler"],
    registers: [r],
  });
  const sizes = new prom.Histogram({
    name: "zeek_cluster_core_debug_incoming_event_sizes",
    help: "Event sizes",
    labelNames: ["topic"],
    buckets: [...MESSAGE_SIZE_BOUNDS],
    registers: [r],
  });
  new prom.Gauge({
    name: "zeek_cluster_zeromq_onloop_queue_depth",
    help: "Events waiting",
    registers: [r],
    collect(this: { set(value: number): void }) {
      this.set(3);
    },
  });
  for (const c of plain) c.inc(7);
  for (let t = 0; t < TOPICS; t++) verbose.inc({ topic: `zeek.cluster.t${t}`, handler: `h${t}` }, t);
  for (let s = 0; s < SIZES; s++) for (const b of MESSAGE_SIZE_BOUNDS) sizes.observe({ topic: `t${s}` }, b - 1);
  const labels = { topic: "zeek.cluster.t1", handler: "h1" };
  return { render: () => r.metrics(), inc: () => plain[0]!.inc(), incLabelled: () => verbose.inc(labels) };
}

/** Median µs per call over `rounds` rounds of `n` calls. */
async function time(fn: () => unknown, n: number, rounds = 7): Promise<number> {
  for (let i = 0; i < n; i++) await fn(); // warm-up
  const per: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const t = Bun.nanoseconds();
    for (let i = 0; i < n; i++) await fn();
    per.push((Bun.nanoseconds() - t) / n / 1000);
  }
  return per.sort((a, b) => a - b)[Math.floor(rounds / 2)]!;
}

const a = ours();
const b = theirs();
const rows = {
  "scrape (render), µs": [await time(a.render, 2000), await time(b.render, 2000)],
  "inc() without labels, µs": [await time(a.inc, 200_000), await time(b.inc, 200_000)],
  "inc() with 2 labels, µs": [await time(a.incLabelled, 200_000), await time(b.incLabelled, 200_000)],
  "exposition bytes": [a.render().length, (await b.render()).length],
};

// prom-client's process metrics under Bun: which of its families come out, and what they say.
const defaults = new prom.Registry();
let defaultsError: string | undefined;
try {
  prom.collectDefaultMetrics({ register: defaults });
} catch (err) {
  defaultsError = (err as Error).message;
}
await Bun.sleep(200);
const defaultText = await defaults.metrics().catch((err: Error) => `error: ${err.message}`);
const defaultFamilies = [...defaultText.matchAll(/^# TYPE (\S+)/gm)].map((m) => m[1]!);
const defaultScrape = await time(() => defaults.metrics(), 200);
const ownProcess = new Registry();
processMetrics(ownProcess);
const ownProcessScrape = await time(() => ownProcess.render(NODE), 200);

console.log(`prom-client ${(await import(`${process.env.PROM_CLIENT ?? "prom-client"}/package.json`)).version}`);
console.log("| | lib/metrics.ts | prom-client | ratio |\n|---|---|---|---|");
for (const [what, [x, y]] of Object.entries(rows))
  console.log(`| ${what} | ${x!.toFixed(2)} | ${y!.toFixed(2)} | ${(y! / x!).toFixed(2)}× |`);
console.log(
  `collectDefaultMetrics under Bun: ${defaultsError ?? `${defaultFamilies.length} families, scrape ${defaultScrape.toFixed(1)} µs`}; lib/_process-metrics.ts: scrape ${ownProcessScrape.toFixed(1)} µs`,
);
console.log(`  ${defaultFamilies.join(", ")}`);
const nonzero = (name: string) => new RegExp(`^${name}(?:\\{[^}]*\\})? (?!0$)\\S+$`, "m").test(defaultText);
console.log(
  `  event loop lag non-zero: ${nonzero("nodejs_eventloop_lag_p99_seconds")}, heap: ${nonzero("nodejs_heap_size_used_bytes")}`,
);

const dir = join(import.meta.dir, "results");
mkdirSync(dir, { recursive: true });
writeFileSync(
  join(dir, "prom-client.json"),
  JSON.stringify(
    {
      at: new Date().toISOString(),
      rows,
      defaultsError,
      defaultFamilies,
      defaultScrapeUs: defaultScrape,
      ownProcessScrapeUs: ownProcessScrape,
    },
    null,
    2,
  ),
);
