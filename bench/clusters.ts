/**
 * @module Benchmarks that run whole clusters through the launcher: log throughput (two writers, one
 * logger writing JSON lines, then TSV, to disk, beside the ceiling of one process writing the same lines) and scale (1 broker + N nodes: launch to full discovery, and
 * the total rate N publishers get into the manager).
 */

import { mkdtempSync, readdirSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { ClusterFile } from "../lib/cluster-file.ts";
import type { ZeroMQOptions } from "../lib/config.ts";
import { Cluster } from "../lib/launcher.ts";
import { logCeiling } from "./log-ceiling.ts";
import { cpuWindow, rssBytes } from "./proc.ts";

const NODE = new URL("./peers/cluster-node.ts", import.meta.url).pathname;
const IP = "127.0.0.1";

/** Log throughput in one file format: two writers into one logger writing that format to disk. */
export interface LogFormatRun {
  format: "json" | "tsv";
  written: number;
  received: number;
  /** The busy part: from the logger's last report with nothing yet to its first with everything. */
  seconds: number;
  recordsPerSec: number;
  bytesOnDisk: number;
  /** Records the writers counted as dropped or lost. */
  dropped: number;
  /** Received + dropped = written. */
  accountingOk: boolean;
  /** One process writing the same lines, already formatted, to the same disk (`log-ceiling.ts`). */
  ceilingRecordsPerSec: number;
  ceilingMBPerSec: number;
  /** The same process formatting them too (the logger's formatter, no network, no decoding). */
  formatCeilingRecordsPerSec: number;
  /** recordsPerSec / ceilingRecordsPerSec. */
  ratio: number;
  /** User + system CPU µs per record received over the busy part: the logger, and both writers together. */
  cpuUsPerRecord: { logger: number; writers: number };
  /** Time the writers spent held back by BLOCK (waiting for acknowledgments), summed. */
  writersWaitedMs: number;
  /** The logger's largest RSS over the busy part, sampled every 100 ms (a node at saturation). */
  loggerPeakRssBytes: number;
}

/** Log throughput: the JSON run at the top level (as before), and each format's run. */
export interface LogRun extends LogFormatRun {
  writers: number;
  formats: { json: LogFormatRun; tsv?: LogFormatRun };
}

/**
 * Two writers → one logger (JSON, then TSV unless `jsonOnly`, to a temporary directory, removed
 * afterwards), each for `ms` ms, with `options` on every node.
 */
export async function logThroughput(ms: number, options: ZeroMQOptions = {}, jsonOnly = false): Promise<LogRun> {
  const json = await logRun("json", ms, options);
  const tsv = jsonOnly ? undefined : await logRun("tsv", ms, options);
  return { ...json, writers: 2, formats: tsv ? { json, tsv } : { json } };
}

async function logRun(format: "json" | "tsv", ms: number, options: ZeroMQOptions): Promise<LogFormatRun> {
  const ceiling = logCeiling(format);
  const dir = mkdtempSync(join(tmpdir(), "bench-logs-"));
  const file: ClusterFile = {
    nodes: {
      manager: { type: "manager", ip: IP },
      logger: { type: "logger", ip: IP, port: 27762 },
      "worker-1": { type: "worker", ip: IP },
      "worker-2": { type: "worker", ip: IP },
    },
    scripts: { manager: NODE, logger: NODE, worker: NODE },
    logging: { dir, format },
    options,
  };
  try {
    return await withLines(
      file,
      { BENCH_MODE: "logs", BENCH_MS: String(ms), CLUSTER_LOG_DIR: dir },
      async (cluster, lines) => {
        const writers = ["worker-1", "worker-2"];
        const pid = (name: string) => cluster.nodes.get(name)!.proc.pid;
        const progress = () => lines.get("logger")?.filter((l) => l.type === "progress") ?? [];
        const records = () => Number(progress().at(-1)?.records ?? 0);
        // CPU from the first records the logger reports to the last: the busy part, warm-up included.
        await until("the first records", ms + 60_000, () => (records() > 0 ? true : undefined));
        const cpu = cpuWindow({ logger: pid("logger"), "worker-1": pid("worker-1"), "worker-2": pid("worker-2") });
        const cpuFrom = records();
        let loggerPeakRssBytes = rssBytes(pid("logger"));
        const sampling = setInterval(() => {
          loggerPeakRssBytes = Math.max(loggerPeakRssBytes, rssBytes(pid("logger")));
        }, 100);
        const done = await until("both writers", ms + 60_000, () => {
          const w = writers.map((n) => lines.get(n)?.find((l) => l.type === "written"));
          return w.every(Boolean) ? (w as Line[]) : undefined;
        });
        const written = done.reduce((s, l) => s + Number(l.records), 0);
        await until("the logger to catch up", 30_000, () => (records() >= written ? true : undefined)).catch(
          () => undefined,
        );
        const used = cpu.stop();
        clearInterval(sampling);
        const cpuRecords = Math.max(1, records() - cpuFrom);
        const p = progress();
        const startAt = p.findLast((l) => Number(l.records) === 0) ?? p[0]!;
        const endAt = p.find((l) => Number(l.records) >= written) ?? p.at(-1)!;
        const received = Number(endAt.records);
        const seconds = (Number(endAt.us) - Number(startAt.us)) / 1e6;
        const dropped = done.reduce((s, l) => s + Number(l.logDroppedRecords ?? 0) + Number(l.logLostRecords ?? 0), 0);
        const bytesOnDisk = readdirSync(dir).reduce((s, f) => s + statSync(join(dir, f)).size, 0);
        const recordsPerSec = received / seconds;
        return {
          format,
          written,
          received,
          seconds,
          recordsPerSec,
          bytesOnDisk,
          dropped,
          accountingOk: received + dropped === written,
          ceilingRecordsPerSec: ceiling.recordsPerSec,
          ceilingMBPerSec: ceiling.mbPerSec,
          formatCeilingRecordsPerSec: ceiling.formatRecordsPerSec,
          ratio: recordsPerSec / ceiling.recordsPerSec,
          cpuUsPerRecord: {
            logger: used.logger!.us / cpuRecords,
            writers: (used["worker-1"]!.us + used["worker-2"]!.us) / cpuRecords,
          },
          writersWaitedMs: done.reduce((s, l) => s + Number(l.waitedMs ?? 0), 0),
          loggerPeakRssBytes,
        };
      },
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** One scale point. */
export interface ScaleRun {
  nodes: number;
  /** From launch until every process had started its node. */
  launchMs: number;
  /** From launch until every node had seen node_up for every other. */
  readyMs: number;
  /** From the last node started until full discovery. */
  discoveryMs: number;
  eventsPerSec: number;
  sent: number;
  received: number;
}

type Line = { type: string } & Record<string, number | string | boolean>;

async function withLines<T>(
  file: ClusterFile,
  env: Record<string, string>,
  fn: (c: Cluster, lines: Map<string, Line[]>, launchedAt: number) => Promise<T>,
): Promise<T> {
  const lines = new Map<string, Line[]>();
  const output = (node: string, line: string) => {
    if (!line.startsWith("{"))
      return void ((line.includes("error") || line.includes("warn")) && console.error(`  ${node}: ${line}`));
    const list = lines.get(node) ?? (lines.set(node, []), lines.get(node)!);
    list.push(JSON.parse(line) as Line);
  };
  const launchedAt = performance.now();
  const cluster = await Cluster.launch(file, { isolated: true, output, env, readyTimeout: 60_000, graceMs: 5000 });
  try {
    return await fn(cluster, lines, launchedAt);
  } finally {
    await cluster.stop();
  }
}

async function until<T>(what: string, timeoutMs: number, get: () => T | undefined): Promise<T> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const value = get();
    if (value !== undefined) return value;
    if (performance.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await Bun.sleep(20);
  }
}

/** 1 manager (the broker) + `n` worker nodes: discovery time, then `ms` ms of every worker publishing to the manager. */
export async function scale(n: number, ms: number): Promise<ScaleRun> {
  const workers = Object.fromEntries(
    Array.from({ length: n }, (_, i) => [`worker-${i + 1}`, { type: "worker" as const, ip: IP }]),
  );
  const file: ClusterFile = {
    nodes: { manager: { type: "manager", ip: IP, port: 27761 }, ...workers },
    scripts: { manager: NODE, worker: NODE },
    options: { onloopQueueHwm: 0 },
  };
  return await withLines(file, { BENCH_MODE: "scale", BENCH_MS: String(ms) }, async (cluster, lines, launchedAt) => {
    const launchMs = performance.now() - launchedAt;
    const readyMs = await cluster.ready();
    const r = await until("the manager's count", ms + 60_000, () =>
      lines.get("manager")?.find((l) => l.type === "scale"),
    );
    const seconds = (Number(r.lastUs) - Number(r.firstUs)) / 1e6;
    return {
      nodes: n,
      launchMs,
      readyMs,
      discoveryMs: Math.max(0, readyMs - launchMs),
      eventsPerSec: Number(r.received) / seconds,
      sent: Number(r.sent),
      received: Number(r.received),
    };
  });
}
