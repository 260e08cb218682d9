/**
 * @module Issue 13's targets, checked against one run's results: each says met, or missed by how
 * much, beside the C and zeromq.js figures of the same run.
 */

import type { ChainCpu, ChainRun, RoundTrip } from "./chain.ts";
import { fmt } from "./report.ts";
import { FORMATS, type Format, type PerFormat, type Results } from "./results.ts";

/** One target and what the run measured. */
export interface TargetCheck {
  name: string;
  wanted: string;
  /** This library's figure (and the ratio the target is about). */
  measured: string;
  /** C libzmq's figure in the same run, where there is one. */
  c: string;
  /** zeromq.js's figure in the same run, where there is one. */
  zeromqJs: string;
  met: boolean;
  /** How far off when missed ("31 % over"), or why it could not be measured. */
  detail: string;
}

/** The log figures the targets read: what bench/clusters.ts returns, per log format. */
export interface LogFigures {
  format: string;
  recordsPerSec?: number;
  ceilingRecordsPerSec?: number;
  /** The logger's largest RSS while it was saturated. */
  loggerPeakRssBytes?: number;
}

/**
 * The log runs in whatever shape clusters.ts returns them: one run, a list, an object keyed by format
 * (`{ json, tsv }`), or a run with such an object in `formats`; a run without `format` is JSON (the
 * logger's default).
 */
export function logFigures(logs: unknown): LogFigures[] {
  const isRun = (v: unknown): v is Record<string, unknown> =>
    !!v && typeof v === "object" && ("recordsPerSec" in v || "ceilingRecordsPerSec" in v);
  const n = (v: unknown) => (typeof v === "number" && Number.isFinite(v) ? v : undefined);
  const one = (r: Record<string, unknown>, format: string): LogFigures => {
    const out: LogFigures = { format: typeof r.format === "string" ? r.format : format };
    const [rate, ceiling] = [n(r.recordsPerSec), n(r.ceilingRecordsPerSec)];
    if (rate !== undefined) out.recordsPerSec = rate;
    if (ceiling !== undefined) out.ceilingRecordsPerSec = ceiling;
    const rss = n(r.loggerPeakRssBytes);
    if (rss !== undefined) out.loggerPeakRssBytes = rss;
    return out;
  };
  if (Array.isArray(logs)) return logs.filter(isRun).map((r) => one(r, "json"));
  const formats = logs && typeof logs === "object" ? (logs as { formats?: unknown }).formats : undefined;
  if (formats && typeof formats === "object") return logFigures(formats); // { ...json, formats: { json, tsv } }
  if (isRun(logs)) return [one(logs, "json")];
  if (logs && typeof logs === "object") return Object.entries(logs).flatMap(([k, v]) => (isRun(v) ? [one(v, k)] : []));
  return [];
}

const ratio = (x: number) => `${x.toFixed(2)}×`;

function check(
  name: string,
  wanted: string,
  value: number | undefined,
  limit: number,
  atLeast: boolean,
  measured: string,
  c = "",
  zeromqJs = "",
): TargetCheck {
  if (value === undefined || !Number.isFinite(value))
    return { name, wanted, measured: measured || "-", c, zeromqJs, met: false, detail: "not measured" };
  const met = atLeast ? value >= limit : value <= limit;
  const by = atLeast ? `${fmt((1 - value / limit) * 100)} % short` : `${fmt((value / limit - 1) * 100)} % over`;
  return { name, wanted, measured, c, zeromqJs, met, detail: met ? "" : by };
}

const us = (v: number | undefined) => (v === undefined ? "-" : `${fmt(v)} µs`);
const rate = (v: number | undefined) => (v === undefined ? "-" : `${fmt(v)}/s`);
const mb = (b: number) => `${fmt(b / 1e6)} MB`;

/**
 * The publisher's CPU per event it dropped, beside its CPU per event it sent. A sent event's cost is
 * the lowest per-event publisher CPU of `sending` (runs where it dropped nothing: BLOCK at the same
 * offered load, BLOCK as fast as it goes; time spent waiting for room only inflates it), so the cost
 * left over for each drop is not understated. Undefined when the publisher dropped nothing.
 */
export function dropCostRatio(
  sending: ChainRun[],
  drop: ChainRun,
): { perSentUs: number; perDropUs: number } | undefined {
  const costs = sending.filter((r) => r.sent > 0 && r.xpubDrops === 0).map((r) => r.cpu.pub.us / r.sent);
  if (drop.xpubDrops === 0 || costs.length === 0) return undefined;
  const perSentUs = Math.min(...costs);
  const perDropUs = (drop.cpu.pub.us - perSentUs * (drop.sent - drop.xpubDrops)) / drop.xpubDrops;
  return { perSentUs, perDropUs: Math.max(0, perDropUs) };
}

/** The latency, round-trip, throughput and CPU rows of one setting of one format. */
function speedChecks(
  r: Pick<Results, "throughput" | "latency" | "roundTrip">,
  f: string,
  setting: string,
  m: { lat: ChainRun | undefined; rt: RoundTrip | undefined; tp: ChainRun | undefined },
): TargetCheck[] {
  const out: TargetCheck[] = [];
  const [c, z, cl, crt] = [r.throughput.c, r.throughput.zeromqJs, r.latency.c, r.roundTrip.c];
  const vs = (mine: number | undefined, theirs: number | undefined) =>
    mine !== undefined && theirs ? mine / theirs : undefined;
  const latRow = (what: string, mine: number | undefined, theirs: number | undefined, k: number, p: string) => {
    const x = vs(mine, theirs);
    return check(
      `${what}${setting} ${p} ${f}`,
      `≤ ${k}× C`,
      x,
      k,
      false,
      `${us(mine)} (${x === undefined ? "-" : ratio(x)})`,
      us(theirs),
    );
  };
  out.push(latRow("latency at 1,000 events/s", m.lat?.p50Us, cl?.p50Us, 1.3, "p50"));
  out.push(latRow("latency at 1,000 events/s", m.lat?.p99Us, cl?.p99Us, 2, "p99"));
  out.push(latRow("round trip ping → pong", m.rt?.p50Us, crt?.p50Us, 1.3, "p50"));
  out.push(latRow("round trip ping → pong", m.rt?.p99Us, crt?.p99Us, 2, "p99"));
  const t = m.tp?.receivedPerSec;
  const toC = vs(t, c?.eventsPerSec);
  out.push(
    check(
      `throughput vs C${setting} ${f}`,
      "≥ 0.75× C",
      toC,
      0.75,
      true,
      `${rate(t)} (${toC === undefined ? "-" : ratio(toC)})`,
      c ? rate(c.eventsPerSec) : (r.throughput.cSkipped ?? "-"),
    ),
  );
  out.push(
    check(
      `throughput vs zeromq.js${setting} ${f}`,
      "≥ 5× zeromq.js",
      vs(t, z.eventsPerSec),
      5,
      true,
      `${rate(t)} (${ratio(vs(t, z.eventsPerSec) ?? 0)})`,
      "",
      rate(z.eventsPerSec),
    ),
  );
  for (const role of ["pub", "broker", "sub"] as const) {
    const mine = m.tp?.cpu[role].usPerEvent;
    const theirs = (c?.cpu as ChainCpu | undefined)?.[role].usPerEvent;
    out.push(
      check(
        `CPU per event, ${role === "pub" ? "publisher" : role === "sub" ? "subscriber" : "broker"}${setting} ${f}`,
        "≤ 1.5× C",
        vs(mine, theirs),
        1.5,
        false,
        `${us(mine)} (${vs(mine, theirs) === undefined ? "-" : ratio(vs(mine, theirs)!)})`,
        us(theirs),
        us(z.cpu?.[role].usPerEvent),
      ),
    );
  }
  return out;
}

/** Checks issue 13's targets (2-core machine, ratios from the same run). */
export function targets(
  r: Pick<Results, "throughput" | "latency" | "roundTrip" | "bunEngine" | "drops" | "bounded" | "idleRss" | "logs">,
): TargetCheck[] {
  const out: TargetCheck[] = [];
  for (const format of FORMATS) {
    const of = <T>(xs: PerFormat<T>[]) => xs.find((t) => t.format === format)?.median;
    const tp = of(r.throughput.bun);
    const f = `[${format}]`;
    out.push(...speedChecks(r, f, "", { lat: of(r.latency.bun), rt: of(r.roundTrip.bun), tp }));
    // The documented setting for speed (docs/config.md, xsubEngine and xpubEngine), like the bounded-queue rows.
    const e = r.bunEngine;
    out.push(
      ...speedChecks(r, f, ', engines "bun",', { lat: of(e.latency), rt: of(e.roundTrip), tp: of(e.throughput) }),
    );
    out.push(...dropChecks(r, format, tp), ...boundedChecks(r, format), ...memoryChecks(r, format, tp));
    out.push(...memoryChecks(r, format, of(e.throughput), ', engines "bun",'));
  }
  for (const [logs, setting] of [
    [r.logs, ""],
    [r.bunEngine.logs, ', push/pullEngine "bun",'],
  ] as const)
    for (const l of logFigures(logs)) out.push(...logChecks(l, setting));
  return out;
}

function logChecks(l: LogFigures, setting: string): TargetCheck[] {
  const x = l.recordsPerSec;
  const k = x !== undefined && l.ceilingRecordsPerSec ? x / l.ceilingRecordsPerSec : undefined;
  return [
    check(`logs, 2 writers → 1 logger${setting} [${l.format}]`, "≥ 1M records/s", x, 1e6, true, rate(x)),
    check(
      `logs vs one process writing the same lines${setting} [${l.format}]`,
      "≥ 0.7× ceiling",
      k,
      0.7,
      true,
      k === undefined ? "no ceiling measured" : `${ratio(k)} of ${rate(l.ceilingRecordsPerSec)}`,
    ),
    ...(l.loggerPeakRssBytes === undefined
      ? []
      : [
          check(
            `RSS of the logger at saturation${setting} [${l.format}]`,
            "≤ 150 MB",
            l.loggerPeakRssBytes / 1e6,
            150,
            false,
            mb(l.loggerPeakRssBytes),
          ),
        ]),
  ];
}

function dropChecks(r: Pick<Results, "drops">, format: Format, saturated: ChainRun | undefined): TargetCheck[] {
  const d = r.drops.find((x) => x.format === format);
  if (!d) return [];
  const cost = dropCostRatio(saturated ? [d.block, saturated] : [d.block], d.drop);
  const load = `${fmt(d.drop.rate)}/s offered`;
  const k = cost && cost.perDropUs / cost.perSentUs;
  return [
    {
      ...check(
        `publisher CPU per dropped event [${format}]`,
        "≤ 0.2× a sent one",
        k,
        0.2,
        false,
        cost ? `${us(cost.perDropUs)} vs ${us(cost.perSentUs)} sent (${ratio(k!)})` : "",
      ),
      ...(cost ? {} : { detail: `no drops at the publisher at ${load}` }),
    },
    check(
      `DROP delivers ≥ BLOCK at saturation [${format}]`,
      "≥ 1× BLOCK",
      d.drop.receivedPerSec / Math.max(1, d.block.receivedPerSec),
      1,
      true,
      `${rate(d.drop.receivedPerSec)} vs ${rate(d.block.receivedPerSec)} at ${load}`,
    ),
  ];
}

function boundedChecks(r: Pick<Results, "bounded" | "throughput">, format: Format): TargetCheck[] {
  const b = r.bounded.find((x) => x.format === format);
  const defaults = r.throughput.bun.find((t) => t.format === format)?.median;
  const out: TargetCheck[] = [];
  if (b)
    out.push(
      check(
        `BLOCK at saturation p99, ${b.setting} [${format}]`,
        "≤ 100 ms",
        b.run.p99Us / 1000,
        100,
        false,
        `${fmt(b.run.p99Us / 1000)} ms (p50 ${fmt(b.run.p50Us / 1000)} ms, ${rate(b.run.receivedPerSec)})`,
      ),
    );
  if (defaults)
    out.push(
      check(
        `BLOCK at saturation p99, defaults [${format}]`,
        "≤ 100 ms (reported)",
        defaults.p99Us / 1000,
        100,
        false,
        `${fmt(defaults.p99Us / 1000)} ms (p50 ${fmt(defaults.p50Us / 1000)} ms, ${rate(defaults.receivedPerSec)})`,
      ),
    );
  return out;
}

function memoryChecks(
  r: Pick<Results, "idleRss">,
  format: Format,
  saturated: ChainRun | undefined,
  setting = "",
): TargetCheck[] {
  const idle = setting ? undefined : r.idleRss.find((x) => x.format === format);
  const out: TargetCheck[] = [];
  if (idle) out.push(check(`RSS of an idle node [${format}]`, "≤ 60 MB", idle.bytes / 1e6, 60, false, mb(idle.bytes)));
  if (saturated) {
    const peak = Math.max(saturated.pubPeakRssBytes, saturated.subPeakRssBytes);
    out.push(
      check(
        `RSS of a node at saturation${setting} [${format}]`,
        "≤ 150 MB",
        peak / 1e6,
        150,
        false,
        `${mb(saturated.pubPeakRssBytes)} publisher, ${mb(saturated.subPeakRssBytes)} subscriber`,
      ),
    );
  }
  return out;
}
