#!/usr/bin/env bun
/**
 * @module `bun run bench`: throughput through the broker under BLOCK and DROP (a sweep of offered load,
 * a slow subscriber, latency at a fixed low rate), side by side with zeromq.js on Node and a C libzmq
 * ceiling on the same frames, log throughput, and discovery at scale. Prints progress and a results
 * table, checks the targets, and writes JSON and an SVG chart to bench/results/.
 * `--quick` does less of each and finishes in under a minute.
 */

import { mkdirSync, writeFileSync } from "node:fs";
import { cpus, totalmem } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { type ChainResult, cChain, zeromqJsChain } from "./baselines.ts";
import { type ChainRun, runChain } from "./chain.ts";
import { logThroughput, scale } from "./clusters.ts";
import { fmt, sweepSvg, table } from "./report.ts";
import { targets } from "./targets.ts";

const { values } = parseArgs({
  args: Bun.argv.slice(2),
  options: { quick: { type: "boolean" }, help: { type: "boolean", short: "h" } },
});
if (values.help) {
  console.log("Usage: bun run bench [-- --quick]\n  --quick   fewer and shorter runs (under a minute)");
  process.exit(0);
}
const quick = values.quick === true;
const P = quick
  ? {
      count: 300_000,
      ms: 1000,
      loads: [0.5, 1, 2],
      reps: 1,
      formatReps: 3,
      formatCount: 150_000,
      latencyMs: 2000,
      warmup: 50_000,
      logMs: 1500,
      scaleMs: 1000,
    }
  : {
      count: 1_000_000,
      ms: 2000,
      loads: [0.25, 0.5, 0.75, 1, 1.5, 2],
      reps: 3,
      formatReps: 3,
      formatCount: 1_000_000,
      latencyMs: 5000,
      warmup: 100_000,
      logMs: 3000,
      scaleMs: 2000,
    };
const started = Date.now();
const progress = (what: string) => console.log(`[${((Date.now() - started) / 1000).toFixed(0).padStart(3)} s] ${what}`);
const median = (xs: number[]) => xs.toSorted((a, b) => a - b)[Math.floor(xs.length / 2)]!;

// 1. Capacity of each policy, then the sweep at fractions of the BLOCK capacity.
const sweep: ChainRun[] = [];
for (const policy of ["BLOCK", "DROP"] as const) {
  progress(`${policy}: as fast as it goes (${fmt(P.count)} events)`);
  sweep.push(await runChain({ policy, rate: 0, count: P.count, durationMs: 5000 }));
}
const capacity = sweep[0]!.receivedPerSec;
for (const load of P.loads) {
  for (const policy of ["BLOCK", "DROP"] as const) {
    const rate = Math.round(capacity * load);
    progress(`${policy}: offered ${fmt(rate)}/s (${load}× BLOCK capacity) for ${P.ms} ms`);
    sweep.push(await runChain({ policy, rate, count: Math.ceil((rate * P.ms) / 1000), durationMs: P.ms }));
  }
}

// 2. A slow subscriber (about 50k events/s) offered twice what it can take.
const slow: ChainRun[] = [];
for (const policy of ["BLOCK", "DROP"] as const) {
  progress(`${policy}: slow subscriber (20 µs per event), offered 100k/s`);
  slow.push(await runChain({ policy, rate: 100_000, count: (100_000 * P.ms) / 1000, durationMs: P.ms, slowUs: 20 }));
}

// 2b. Event-loop lag at saturation, next to a control process that keeps a thread just as busy without
// any messaging: on a machine with more busy threads than cores the OS alone delays a busy thread.
progress("BLOCK: as fast as it goes, with a busy control process measuring the machine's own lag");
const lag = await runChain({ policy: "BLOCK", rate: 0, count: P.count, durationMs: 5000, control: true });

// 3. Latency at 1,000 events/s, after a warm-up burst (not measured) so that both sides run compiled code.
progress(`latency at 1,000 events/s for ${P.latencyMs} ms, after ${fmt(P.warmup)} warm-up events`);
const latency = await runChain({
  policy: "BLOCK",
  rate: 1000,
  count: P.latencyMs,
  durationMs: P.latencyMs + 1000,
  warmup: P.warmup,
});

// 4. Baselines, interleaved so that noise hits each alike; the median of the repetitions counts. The
// JIT-compiled ones (Bun, Node) get the same warm-up first; C needs none.
const chains: Record<"bun" | "zeromqJs" | "c", ChainResult[]> = { bun: [], zeromqJs: [], c: [] };
let cSkipped: string | undefined;
for (let rep = 1; rep <= P.reps; rep++) {
  progress(
    `baselines ${rep}/${P.reps}: ${fmt(P.count)} events each through Bun (this library), zeromq.js on Node, C (after ${fmt(P.warmup)} warm-up events)`,
  );
  const b = await runChain({ policy: "BLOCK", rate: 0, count: P.count, durationMs: 30_000, warmup: P.warmup });
  chains.bun.push({
    impl: "bun",
    count: P.count,
    sent: b.sent,
    received: b.received,
    seconds: b.received / b.receivedPerSec,
    eventsPerSec: b.receivedPerSec,
    badFraming: 0,
    p50Us: b.p50Us,
    p99Us: b.p99Us,
    peakRssBytes: b.peakRssBytes,
  });
  chains.zeromqJs.push(await zeromqJsChain(P.count, P.warmup));
  const c = await cChain(P.count);
  if ("skipped" in c) cSkipped = c.skipped;
  else chains.c.push(c);
}
const rate = (k: keyof typeof chains) => (chains[k].length ? median(chains[k].map((r) => r.eventsPerSec)) : undefined);
const baselines = {
  bunEventsPerSec: rate("bun")!,
  zeromqJsEventsPerSec: rate("zeromqJs")!,
  cEventsPerSec: rate("c"),
  vsZeromqJs: rate("bun")! / rate("zeromqJs")!,
  vsC: rate("c") ? rate("bun")! / rate("c")! : undefined,
  cSkipped,
  runs: chains,
};

// 4b. Zeek's event format beside msgpack-v1: saturation throughput (BLOCK) and latency at 1,000 events/s,
// interleaved, median of the repetitions.
const formatRuns: Record<"msgpack-v1" | "broker-bin-v1", { capacity: ChainRun[]; latency: ChainRun[] }> = {
  "msgpack-v1": { capacity: [], latency: [] },
  "broker-bin-v1": { capacity: [], latency: [] },
};
for (let rep = 1; rep <= P.formatReps; rep++) {
  for (const format of ["msgpack-v1", "broker-bin-v1"] as const) {
    progress(`formats ${rep}/${P.formatReps}: ${format}, as fast as it goes, then latency at 1,000 events/s`);
    formatRuns[format].capacity.push(
      await runChain({ policy: "BLOCK", rate: 0, count: P.formatCount, durationMs: 5000, warmup: P.warmup, format }),
    );
    formatRuns[format].latency.push(
      await runChain({
        policy: "BLOCK",
        rate: 1000,
        count: P.latencyMs / 2,
        durationMs: P.latencyMs / 2 + 1000,
        warmup: P.warmup,
        format,
      }),
    );
  }
}
const formats = (["msgpack-v1", "broker-bin-v1"] as const).map((format) => ({
  format,
  eventsPerSec: median(formatRuns[format].capacity.map((r) => r.receivedPerSec)),
  p50Us: median(formatRuns[format].latency.map((r) => r.p50Us)),
  p99Us: median(formatRuns[format].latency.map((r) => r.p99Us)),
  accountingOk: [...formatRuns[format].capacity, ...formatRuns[format].latency].every((r) => r.accountingOk),
  runs: formatRuns[format],
}));

// 5. Logs and scale.
progress(`logs: two writers → one logger writing JSON to disk, ${P.logMs} ms`);
const logs = await logThroughput(P.logMs);
const scaleRuns = [];
for (const n of [2, 8, 32]) {
  progress(`scale: 1 broker + ${n} nodes`);
  scaleRuns.push(await scale(n, P.scaleMs));
}

// Report.
const results = {
  startedAt: new Date(started).toISOString(),
  quick,
  seconds: (Date.now() - started) / 1000,
  machine: {
    cpus: cpus().length,
    cpu: cpus()[0]?.model,
    memGiB: Math.round(totalmem() / 2 ** 30),
    bun: Bun.version,
    node: Bun.spawnSync(["node", "--version"]).stdout.toString().trim(),
  },
  capacityBlock: capacity,
  sweep,
  slow,
  lag,
  latency,
  baselines,
  formats,
  logs,
  scale: scaleRuns,
  targets: [] as ReturnType<typeof targets>,
};
results.targets = targets(results);

const row = (r: ChainRun) => [
  r.format ?? "msgpack-v1",
  r.policy,
  r.rate ? fmt(r.rate) : "max",
  r.slowUs ? `${r.slowUs} µs` : "-",
  r.sentPerSec,
  r.receivedPerSec,
  r.xpubDrops,
  r.onloopDrops,
  r.blocks,
  r.p50Us,
  r.p99Us,
  `${fmt(r.maxLagMs)} / ${fmt(r.lagP99Ms)}`,
  r.peakRssBytes / 2 ** 20,
  r.accountingOk ? "ok" : `FAIL ${r.accounting}`,
];
const header = [
  "format",
  "policy",
  "offered/s",
  "slow sub",
  "sent/s",
  "recv/s",
  "xpub drops",
  "onloop drops",
  "blocks",
  "p50 µs",
  "p99 µs",
  "lag max/p99 ms",
  "RSS MiB",
  "accounting",
];
console.log(
  `\nThroughput through the broker (publisher → broker → subscriber, 3 processes)\n${table(header, [...sweep, ...slow, lag, latency].map(row))}`,
);
console.log(
  `\nA busy process without messaging, in the lag run: ${fmt(lag.controlLag!.maxMs)} ms max, ${fmt(lag.controlLag!.p99Ms)} ms p99 lag`,
);
console.log(
  `\nSame frames, same pattern (median of ${P.reps})\n${table(
    ["implementation", "events/s", "ratio"],
    [
      ["Bun, this library (BLOCK)", baselines.bunEventsPerSec, "1.00"],
      ["zeromq.js on Node", baselines.zeromqJsEventsPerSec, `${baselines.vsZeromqJs.toFixed(2)}× faster`],
      [
        "C libzmq (ceiling)",
        baselines.cEventsPerSec ?? "skipped",
        baselines.vsC ? `${baselines.vsC.toFixed(2)}× of C` : (cSkipped ?? ""),
      ],
    ],
  )}`,
);
console.log(
  `\nEvent formats, same frames and pattern (median of ${P.formatReps}, BLOCK)\n${table(
    ["format", "events/s", "ratio", "p50 µs at 1k/s", "p99 µs at 1k/s", "accounting"],
    formats.map((f) => [
      f.format,
      f.eventsPerSec,
      (f.eventsPerSec / formats[0]!.eventsPerSec).toFixed(2),
      f.p50Us,
      f.p99Us,
      f.accountingOk ? "ok" : "FAIL",
    ]),
  )}`,
);
console.log(
  `\nLogs: ${fmt(logs.recordsPerSec)} records/s from ${logs.writers} writers into one logger (${fmt(logs.received)} records, ${fmt(logs.bytesOnDisk / 2 ** 20)} MiB of JSON, ${logs.accountingOk ? "none lost" : `${logs.dropped} dropped`})`,
);
console.log(
  `\nScale\n${table(
    ["nodes", "launch ms", "ready ms", "discovery ms", "events/s into manager"],
    scaleRuns.map((s) => [s.nodes, s.launchMs, s.readyMs, s.discoveryMs, s.eventsPerSec]),
  )}`,
);
console.log(
  `\nTargets\n${table(
    ["target", "wanted", "measured", "result"],
    results.targets.map((t) => [t.name, t.wanted, t.measured, t.met ? "met" : `MISSED (${t.detail})`]),
  )}`,
);

const dir = join(import.meta.dir, "results");
mkdirSync(dir, { recursive: true });
const stamp = new Date(started).toISOString().replace(/[:.]/g, "-");
const json = JSON.stringify(results, null, 2);
writeFileSync(join(dir, `bench-${stamp}${quick ? "-quick" : ""}.json`), json);
writeFileSync(join(dir, "latest.json"), json);
writeFileSync(
  join(dir, "throughput.svg"),
  sweepSvg(sweep, `Through the broker: BLOCK vs DROP (${results.machine.cpus} cores, ${quick ? "quick" : "full"} run)`),
);
console.log(`\nWrote ${join(dir, "latest.json")} and ${join(dir, "throughput.svg")} (${results.seconds.toFixed(0)} s)`);
const failed =
  [...sweep, ...slow, lag, latency].filter((r) => !r.accountingOk).length +
  formats.filter((f) => !f.accountingOk).length +
  (logs.accountingOk ? 0 : 1);
process.exit(failed > 0 ? 1 : 0);
