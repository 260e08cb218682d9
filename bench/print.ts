/** @module The terminal report of a bench run: one table per question, then the targets. */

import type { ChainResult } from "./baselines.ts";
import type { ChainRun, RoleCpu } from "./chain.ts";
import { fmt, table } from "./report.ts";
import type { Results } from "./results.ts";
import { logFigures } from "./targets.ts";

const ROLES = ["pub", "broker", "sub"] as const;
const mb = (b: number) => b / 1e6;
const cpuCells = (cpu: Record<(typeof ROLES)[number], RoleCpu> | undefined) =>
  ROLES.map((role) => (cpu ? cpu[role].usPerEvent : "-"));

const chainRow = (r: ChainRun) => [
  r.format ?? "msgpack-v1",
  r.label ?? "defaults",
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
  r.cpu.pub.usPerEvent,
  `${fmt(r.maxLagMs)} / ${fmt(r.lagP99Ms)}`,
  mb(r.peakRssBytes),
  r.accountingOk ? "ok" : `FAIL ${r.accounting}`,
];
const CHAIN_HEADER = [
  "format",
  "setting",
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
  "pub CPU µs/ev",
  "lag max/p99 ms",
  "RSS MB",
  "accounting",
];

/** The 5 busiest threads of a process over the window, "name 123 ms". */
const busiest = (cpu: RoleCpu) =>
  Object.entries(cpu.threads)
    .filter(([, us]) => us > 0)
    .sort((a, b) => b[1] - a[1])
    .slice(0, 5)
    .map(([name, us]) => `${name} ${fmt(us / 1000)} ms`)
    .join(", ");

/** Prints every table of `r` and the targets to stdout. */
export function printResults(r: Results): void {
  const c = r.throughput.c;
  const z = r.throughput.zeromqJs;
  const base = (name: string, x: ChainResult | undefined) =>
    x
      ? [
          name,
          x.eventsPerSec,
          c ? (x.eventsPerSec / c.eventsPerSec).toFixed(2) : "-",
          ...cpuCells(x.cpu),
          mb(x.peakRssBytes),
          x.note ?? "ok",
        ]
      : [name, "skipped", "-", "-", "-", "-", "-", r.throughput.cSkipped ?? ""];
  console.log(
    `\nThroughput and CPU per event, same frames and pattern, BLOCK/lossless (median of ${r.throughput.bun[0]!.runs.length})\n${table(
      ["implementation", "events/s", "× C", "pub µs/ev", "broker µs/ev", "sub µs/ev", "RSS MB", "accounting"],
      [
        base(c?.impl ?? "C libzmq", c),
        base(z.impl, z),
        ...[...r.throughput.bun, ...r.bunEngine.throughput].map((b) => {
          const m = b.median;
          return [
            `Bun, this library, ${b.format}${m.label ? `, ${m.label}` : ""}`,
            m.receivedPerSec,
            c ? (m.receivedPerSec / c.eventsPerSec).toFixed(2) : "-",
            ...cpuCells(m.cpu),
            mb(m.peakRssBytes),
            m.accountingOk ? "ok" : `FAIL ${m.accounting}`,
          ];
        }),
      ],
    )}`,
  );
  const sat = r.throughput.bun[0]!.median;
  console.log(
    `\nWhere the CPU goes at saturation (${sat.format}, busiest threads over the window)\n${table(
      ["process", "CPU ms", "threads"],
      [
        ...ROLES.map((role) => [`Bun ${role}`, sat.cpu[role].us / 1000, busiest(sat.cpu[role])]),
        ...(c?.cpu ? ROLES.map((role) => [`C ${role}`, c.cpu![role].us / 1000, busiest(c.cpu![role])]) : []),
      ],
    )}`,
  );
  const lat = (name: string, x: { p50Us?: number | undefined; p99Us?: number | undefined } | undefined, cx = x) => [
    name,
    x?.p50Us ?? "-",
    x?.p99Us ?? "-",
    x?.p50Us && cx?.p50Us ? (x.p50Us / cx.p50Us).toFixed(2) : "-",
    x?.p99Us && cx?.p99Us ? (x.p99Us / cx.p99Us).toFixed(2) : "-",
  ];
  const latHeader = ["implementation", "p50 µs", "p99 µs", "p50 × C", "p99 × C"];
  console.log(
    `\nLatency at 1,000 events/s, publish to arrival\n${table(latHeader, [
      lat(r.latency.c?.impl ?? "C libzmq (skipped)", r.latency.c),
      ...r.latency.bun.map((b) => lat(`Bun, ${b.format}`, b.median, r.latency.c)),
      ...r.bunEngine.latency.map((b) => lat(`Bun, ${b.format}, engines "bun"`, b.median, r.latency.c)),
    ])}`,
  );
  console.log(
    `\nRound trip ping → broker → pong → broker → ping, at 1,000/s\n${table(latHeader, [
      lat(r.roundTrip.c?.impl ?? "C libzmq (skipped)", r.roundTrip.c),
      ...r.roundTrip.bun.map((b) => lat(`Bun, ${b.format}`, b.median, r.roundTrip.c)),
      ...r.bunEngine.roundTrip.map((b) => lat(`Bun, ${b.format}, engines "bun"`, b.median, r.roundTrip.c)),
    ])}`,
  );
  const rows = [
    ...r.throughput.bun.flatMap((b) => b.runs),
    ...r.bunEngine.throughput.flatMap((b) => b.runs),
    ...r.latency.bun.flatMap((b) => b.runs),
    ...r.bunEngine.latency.flatMap((b) => b.runs),
    ...r.sweep,
    ...r.drops.flatMap((d) => [d.block, d.drop]).filter((x) => !r.sweep.includes(x)),
    ...r.bounded.map((b) => b.run),
    ...r.slow,
    ...(r.lag ? [r.lag] : []),
  ];
  console.log(
    `\nEvery run through the broker (publisher → broker → subscriber)\n${table(CHAIN_HEADER, rows.map(chainRow))}`,
  );
  if (r.lag?.controlLag)
    console.log(
      `\nA busy process without messaging, in the lag run: ${fmt(r.lag.controlLag.maxMs)} ms max, ${fmt(r.lag.controlLag.p99Ms)} ms p99 lag`,
    );
  console.log(`\nMemory: idle node ${r.idleRss.map((i) => `${fmt(mb(i.bytes))} MB (${i.format})`).join(", ")}`);
  for (const [what, data] of [
    ["Logs", r.logs],
    ['Logs, pushEngine and pullEngine "bun"', r.bunEngine.logs],
  ] as const) {
    const logs = logFigures(data);
    console.log(
      `\n${what}: ${logs.length ? logs.map((l) => `${l.format} ${l.recordsPerSec === undefined ? "-" : fmt(l.recordsPerSec)} records/s (ceiling ${l.ceilingRecordsPerSec === undefined ? "not measured" : `${fmt(l.ceilingRecordsPerSec)}/s`}${l.loggerPeakRssBytes === undefined ? "" : `; logger RSS ${fmt(mb(l.loggerPeakRssBytes))} MB`})`).join("; ") : "no figures"}`,
    );
  }
  if (r.scale.length)
    console.log(
      `\nScale\n${table(
        ["nodes", "launch ms", "ready ms", "discovery ms", "events/s into manager"],
        r.scale.map((s) => [s.nodes, s.launchMs, s.readyMs, s.discoveryMs, s.eventsPerSec]),
      )}`,
    );
  console.log(
    `\nTargets (issue 13; ratios from this run)\n${table(
      ["target", "wanted", "this library", "C libzmq", "zeromq.js", "result"],
      r.targets.map((t) => [
        t.name,
        t.wanted,
        t.measured,
        t.c,
        t.zeromqJs,
        t.met ? "met" : /%/.test(t.detail) ? `missed by ${t.detail}` : `missed (${t.detail})`,
      ]),
    )}`,
  );
}
