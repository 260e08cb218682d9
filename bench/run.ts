#!/usr/bin/env bun
/**
 * @module `bun run bench`: this library beside the machine's limit, in one run. Throughput and CPU per
 * event of each process (publisher, broker, subscriber) beside the same chain in C on libzmq and in
 * zeromq.js on Node; latency at 1,000 events/s and a ping → pong round trip beside C's; BLOCK vs DROP
 * over offered load, cheap drops, bounded queueing, memory, a slow subscriber, event-loop lag, logs
 * and discovery at scale. Every row for msgpack-v1 and broker-bin-v1. Prints the tables and the
 * targets (met, or missed by how much), writes JSON and two SVG charts to bench/results/, and exits 1
 * when an accounting check or a benchmark fails. `--quick` runs each once and shortly, and leaves out
 * the slow subscriber, the lag and the scale rows, so that it finishes in under a minute on 2 cores.
 */

import { mkdirSync, writeFileSync } from "node:fs";
import { cpus, totalmem } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { type ChainResult, cChain, cRoundTrip, zeromqJsChain } from "./baselines.ts";
import { type ChainRun, type ChainSpec, idleRss, type RoundTrip, roundTrip, runChain } from "./chain.ts";
import { logThroughput, scale } from "./clusters.ts";
import { printResults } from "./print.ts";
import { baselinesSvg, fmt, sweepSvg } from "./report.ts";
import { FORMATS, type Format, type PerFormat, type Results } from "./results.ts";
import { BOUNDED_QUEUES } from "./settings.ts";
import { targets } from "./targets.ts";

const { values } = parseArgs({
  args: Bun.argv.slice(2),
  options: { quick: { type: "boolean" }, help: { type: "boolean", short: "h" } },
});
if (values.help) {
  console.log(
    "Usage: bun run bench [-- --quick]\n  --quick   each run once and shorter; no slow-subscriber, lag or scale rows (under a minute)",
  );
  process.exit(0);
}
const quick = values.quick === true;
const P = quick
  ? {
      reps: 1,
      maxMs: 800,
      cCount: 300_000,
      zmqjsCount: 60_000,
      warmup: 20_000,
      settleMs: 300,
      loads: [2],
      ms: 800,
      latencyCount: 600,
      rttCount: 600,
      rttWarmup: 500,
      slow: false,
      logMs: 1000,
      scale: [],
      scaleMs: 1000,
    }
  : {
      reps: 3,
      maxMs: 3000,
      cCount: 1_000_000,
      zmqjsCount: 300_000,
      warmup: 100_000,
      settleMs: 1000,
      loads: [0.25, 0.5, 0.75, 1, 1.5, 2],
      ms: 2000,
      latencyCount: 5000,
      rttCount: 5000,
      rttWarmup: 5000,
      slow: true,
      logMs: 3000,
      scale: [2, 8, 32],
      scaleMs: 2000,
    };
// The cheap-drops rows: BLOCK and DROP offered this multiple of the BLOCK capacity.
const OVERLOAD = 2;
const started = Date.now();
const progress = (what: string) => console.log(`[${((Date.now() - started) / 1000).toFixed(0).padStart(3)} s] ${what}`);
const medianBy = <T>(xs: T[], key: (x: T) => number): T =>
  xs.toSorted((a, b) => key(a) - key(b))[Math.floor(xs.length / 2)]!;
const perFormat = <T>(runs: Map<Format, T[]>, key: (x: T) => number): PerFormat<T>[] =>
  FORMATS.map((format) => ({ format, median: medianBy(runs.get(format)!, key), runs: runs.get(format)! }));
const byFormat = <T>() => new Map<Format, T[]>(FORMATS.map((f) => [f, []]));
const chain = (spec: ChainSpec) => runChain({ settleMs: P.settleMs, ...spec });
const maxRun = (format: Format, extra: Partial<ChainSpec> = {}) =>
  chain({ policy: "BLOCK", rate: 0, count: 1e9, durationMs: P.maxMs, warmup: P.warmup, format, ...extra });

// 1. As fast as it goes (BLOCK, lossless) with the CPU of every process, interleaved with C and
// zeromq.js so that noise from the rest of the machine hits each alike; the median repetition counts.
const maxRuns = byFormat<ChainRun>();
// The same with the broker connections spoken by main itself (`xsubEngine`, `xpubEngine` "bun"), beside them.
const ENGINE = { xsubEngine: "bun", xpubEngine: "bun" } as const;
const engineMax = byFormat<ChainRun>();
const cRuns: ChainResult[] = [];
const zmqjsRuns: ChainResult[] = [];
let cSkipped: string | undefined;
for (let rep = 1; rep <= P.reps; rep++) {
  for (const format of FORMATS) {
    progress(`throughput ${rep}/${P.reps}: this library, ${format}, BLOCK, as fast as it goes for ${P.maxMs} ms`);
    maxRuns.get(format)!.push(await maxRun(format));
    progress(`throughput ${rep}/${P.reps}: this library, ${format}, engines "bun"`);
    engineMax.get(format)!.push(await maxRun(format, { nodeOptions: ENGINE, label: 'engines "bun"' }));
  }
  progress(`throughput ${rep}/${P.reps}: zeromq.js on Node, ${fmt(P.zmqjsCount)} events`);
  zmqjsRuns.push(await zeromqJsChain(P.zmqjsCount, P.warmup));
  progress(`throughput ${rep}/${P.reps}: C libzmq, ${fmt(P.cCount)} events`);
  const c = await cChain(P.cCount);
  if ("skipped" in c) cSkipped = c.skipped;
  else cRuns.push(c);
}
const throughput = {
  bun: perFormat(maxRuns, (r) => r.receivedPerSec),
  zeromqJs: medianBy(zmqjsRuns, (r) => r.eventsPerSec),
  ...(cRuns.length ? { c: medianBy(cRuns, (r) => r.eventsPerSec) } : {}),
  ...(cSkipped ? { cSkipped } : {}),
};
const capacity = Object.fromEntries(throughput.bun.map((t) => [t.format, t.median.receivedPerSec])) as Record<
  Format,
  number
>;

// 2. Latency at 1,000 events/s (after a warm-up burst, so both sides run compiled code), beside C
// at the same rate with the same frames; then ping → pong round trips, beside C's.
const latencyRun = (format: Format, extra: Partial<ChainSpec> = {}) =>
  chain({
    policy: "BLOCK",
    rate: 1000,
    count: P.latencyCount,
    durationMs: P.latencyCount + 1000,
    warmup: P.warmup,
    format,
    ...extra,
  });
const latencyRuns = byFormat<ChainRun>();
const engineLatency = byFormat<ChainRun>();
const engineRtt = byFormat<RoundTrip>();
const cLatency: ChainResult[] = [];
const rttRuns = byFormat<RoundTrip>();
const cRtt: RoundTrip[] = [];
for (let rep = 1; rep <= P.reps; rep++) {
  for (const format of FORMATS) {
    progress(`latency ${rep}/${P.reps}: ${format}, ${fmt(P.latencyCount)} events at 1,000/s`);
    latencyRuns.get(format)!.push(await latencyRun(format));
    progress(`latency ${rep}/${P.reps}: ${format}, engines "bun"`);
    engineLatency.get(format)!.push(await latencyRun(format, { nodeOptions: ENGINE, label: 'engines "bun"' }));
  }
  progress(`latency ${rep}/${P.reps}: C libzmq, ${fmt(P.latencyCount)} events at 1,000/s`);
  const c = await cChain(P.latencyCount, 1000);
  if (!("skipped" in c)) cLatency.push(c);
  for (const format of FORMATS) {
    progress(`round trip ${rep}/${P.reps}: ${format}, ${fmt(P.rttCount)} pings at 1,000/s`);
    rttRuns.get(format)!.push(await roundTrip(format, P.rttCount, P.rttWarmup));
    progress(`round trip ${rep}/${P.reps}: ${format}, engines "bun"`);
    engineRtt.get(format)!.push(await roundTrip(format, P.rttCount, P.rttWarmup, ENGINE));
  }
  progress(`round trip ${rep}/${P.reps}: C libzmq, ${fmt(P.rttCount)} pings at 1,000/s`);
  const ct = await cRoundTrip(P.rttCount, P.rttWarmup);
  if (!("skipped" in ct)) cRtt.push(ct);
}
const latency = {
  bun: perFormat(latencyRuns, (r) => r.p50Us),
  ...(cLatency.length ? { c: medianBy(cLatency, (r) => r.p50Us ?? 0) } : {}),
};
const bunEngine: Results["bunEngine"] = {
  throughput: perFormat(engineMax, (r) => r.receivedPerSec),
  latency: perFormat(engineLatency, (r) => r.p50Us),
  roundTrip: perFormat(engineRtt, (r) => r.p50Us),
};
const rtt = { bun: perFormat(rttRuns, (r) => r.p50Us), ...(cRtt.length ? { c: medianBy(cRtt, (r) => r.p50Us) } : {}) };

// 3. BLOCK vs DROP over offered load (msgpack-v1), and per format the pair above capacity that shows
// whether drops are cheap: BLOCK and DROP at the same offered load, interleaved.
const sweep: ChainRun[] = [];
progress(`msgpack-v1: DROP as fast as it goes for ${P.maxMs} ms`);
sweep.push(await maxRun("msgpack-v1", { policy: "DROP" }));
const paced = (policy: "BLOCK" | "DROP", format: Format, load: number) => {
  const rate = Math.round(capacity[format] * load);
  progress(`${format}: ${policy} offered ${fmt(rate)}/s (${load}× BLOCK capacity) for ${P.ms} ms`);
  // Warmed up like the other rows, so that neither policy's row pays for the JIT compiling its code.
  return chain({ policy, rate, count: Math.ceil((rate * P.ms) / 1000), durationMs: P.ms, format, warmup: P.warmup });
};
const drops: Results["drops"] = [];
for (const load of P.loads)
  for (const policy of ["BLOCK", "DROP"] as const) sweep.push(await paced(policy, "msgpack-v1", load));
for (const format of FORMATS) {
  const at = (policy: string) =>
    format === "msgpack-v1"
      ? sweep.find((r) => r.policy === policy && r.rate === Math.round(capacity[format] * OVERLOAD))
      : undefined;
  const block = at("BLOCK") ?? (await paced("BLOCK", format, OVERLOAD));
  const drop = at("DROP") ?? (await paced("DROP", format, OVERLOAD));
  drops.push({ format, block, drop });
}

// 4. Bounded queueing: BLOCK at saturation with the documented setting, beside the defaults' rows of 1.
const bounded: Results["bounded"] = [];
for (const format of FORMATS) {
  progress(`${format}: BLOCK as fast as it goes, bounded queues (${BOUNDED_QUEUES.label})`);
  const run = await maxRun(format, {
    nodeOptions: BOUNDED_QUEUES.node,
    brokerOptions: BOUNDED_QUEUES.broker,
    label: "bounded queues",
  });
  bounded.push({ format, setting: BOUNDED_QUEUES.label, run });
}

// 5. Memory: an idle node's RSS (the saturated ones are in the rows above).
progress(`RSS of an idle node, ${FORMATS.join(" and ")}`);
const idle: Results["idleRss"] = await idleRss(FORMATS, 1000);

// 6. A slow subscriber (about 50k events/s) offered twice what it can take, and the publisher's
// event-loop lag at saturation beside a control process that keeps a thread just as busy without
// messaging (on a machine with more busy threads than cores the OS alone delays a busy thread).
const slow: ChainRun[] = [];
let lag: ChainRun | undefined;
if (P.slow) {
  for (const policy of ["BLOCK", "DROP"] as const) {
    progress(`${policy}: slow subscriber (20 µs per event), offered 100k/s`);
    slow.push(await chain({ policy, rate: 100_000, count: (100_000 * P.ms) / 1000, durationMs: P.ms, slowUs: 20 }));
  }
  progress("BLOCK: as fast as it goes, with a busy control process measuring the machine's own lag");
  lag = await chain({ policy: "BLOCK", rate: 0, count: 1e9, durationMs: P.maxMs, control: true });
}

// 7. Logs and scale.
progress(`logs: two writers → one logger writing to disk, ${P.logMs} ms`);
// A failure here costs its own rows, not the run's: it is reported, and the bench exits 1.
const errors: string[] = [];
const attempt = async <T>(what: string, fn: () => Promise<T>): Promise<T | undefined> => {
  try {
    return await fn();
  } catch (err) {
    errors.push(`${what}: ${err instanceof Error ? err.message.split("\n")[0] : String(err)}`);
    console.log(`  ${what} failed: ${errors.at(-1)}`);
    return undefined;
  }
};
const logs: unknown = (await attempt("logs", () => logThroughput(P.logMs))) ?? { error: errors.at(-1) };
// The quick run measures JSON only here (the slower format), to stay under a minute.
progress(
  `logs: the same with pushEngine and pullEngine "bun" on every node, ${P.logMs} ms${quick ? ", JSON only" : ""}`,
);
const pushed = () => logThroughput(P.logMs, { pushEngine: "bun", pullEngine: "bun" }, quick);
const engineLogs: unknown = (await attempt("logs, engines", pushed)) ?? { error: errors.at(-1) };
bunEngine.logs = engineLogs;
const scaleRuns = [];
for (const n of P.scale) {
  progress(`scale: 1 broker + ${n} nodes`);
  const s = await attempt(`scale with ${n} nodes`, () => scale(n, P.scaleMs));
  if (s) scaleRuns.push(s);
}

const results: Results = {
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
  throughput,
  latency,
  roundTrip: rtt,
  bunEngine,
  sweep,
  drops,
  bounded,
  idleRss: idle,
  slow,
  ...(lag ? { lag } : {}),
  logs,
  scale: scaleRuns,
  ...(errors.length ? { errors } : {}),
  targets: [],
};
results.targets = targets(results);
printResults(results);

const dir = join(import.meta.dir, "results");
mkdirSync(dir, { recursive: true });
const stamp = new Date(started).toISOString().replace(/[:.]/g, "-");
const json = JSON.stringify(results, null, 2);
writeFileSync(join(dir, `bench-${stamp}${quick ? "-quick" : ""}.json`), json);
writeFileSync(join(dir, "latest.json"), json);
const run = `${results.machine.cpus} cores, ${quick ? "quick" : "full"} run`;
writeFileSync(
  join(dir, "throughput.svg"),
  sweepSvg(
    [...sweep, ...drops.flatMap((d) => [d.block, d.drop])],
    throughput.bun,
    `Through the broker: BLOCK vs DROP (${run})`,
  ),
);
writeFileSync(join(dir, "baselines.svg"), baselinesSvg(results, `This library beside C libzmq and zeromq.js (${run})`));
console.log(`\nWrote latest.json, throughput.svg and baselines.svg to ${dir} (${results.seconds.toFixed(0)} s)`);

const chainRuns = [
  ...throughput.bun.flatMap((t) => t.runs),
  ...latency.bun.flatMap((t) => t.runs),
  ...sweep,
  ...drops.flatMap((d) => [d.block, d.drop]),
  ...bounded.map((b) => b.run),
  ...slow,
  ...(lag ? [lag] : []),
];
const failed =
  chainRuns.filter((r) => !r.accountingOk).length + [logs, engineLogs].filter((l) => !logsAccountingOk(l)).length;
if (failed) console.log(`\nACCOUNTING FAILED in ${failed} row(s): see the accounting column`);
for (const e of errors) console.log(`FAILED: ${e}`);
process.exit(failed + errors.length > 0 ? 1 : 0);

/** Whether every log run says none was lost (the shape is clusters.ts'; runs without the field pass). */
function logsAccountingOk(l: unknown): boolean {
  const formats = l && typeof l === "object" ? (l as { formats?: unknown }).formats : undefined;
  if (formats && typeof formats === "object") return logsAccountingOk(formats);
  const runs = Array.isArray(l) ? l : l && typeof l === "object" && !("accountingOk" in l) ? Object.values(l) : [l];
  return runs.every((r) => !r || typeof r !== "object" || (r as { accountingOk?: unknown }).accountingOk !== false);
}
