/**
 * @module Benchmarks that run whole clusters through the launcher: log throughput (two writers, one
 * logger writing JSON lines to disk) and scale (1 broker + N nodes: launch to full discovery, and
 * the total rate N publishers get into the manager).
 */

import { mkdtempSync, readdirSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { ClusterFile } from "../lib/cluster-file.ts";
import { Cluster } from "../lib/launcher.ts";

const NODE = new URL("./peers/cluster-node.ts", import.meta.url).pathname;
const IP = "127.0.0.1";

/** Log throughput: records/s from two writers into one logger writing JSON lines to disk. */
export interface LogRun {
  writers: number;
  written: number;
  received: number;
  seconds: number;
  recordsPerSec: number;
  bytesOnDisk: number;
  dropped: number;
  accountingOk: boolean;
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

/** Two writers → one logger (JSON to a temporary directory, removed afterwards) for `ms` ms. */
export async function logThroughput(ms: number): Promise<LogRun> {
  const dir = mkdtempSync(join(tmpdir(), "bench-logs-"));
  const file: ClusterFile = {
    nodes: {
      manager: { type: "manager", ip: IP },
      logger: { type: "logger", ip: IP, port: 27762 },
      "worker-1": { type: "worker", ip: IP },
      "worker-2": { type: "worker", ip: IP },
    },
    scripts: { manager: NODE, logger: NODE, worker: NODE },
    logging: { dir, format: "json" },
  };
  try {
    return await withLines(
      file,
      { BENCH_MODE: "logs", BENCH_MS: String(ms), CLUSTER_LOG_DIR: dir },
      async (_c, lines) => {
        const writers = ["worker-1", "worker-2"];
        const done = await until("both writers", ms + 60_000, () => {
          const w = writers.map((n) => lines.get(n)?.find((l) => l.type === "written"));
          return w.every(Boolean) ? (w as Line[]) : undefined;
        });
        const written = done.reduce((s, l) => s + Number(l.records), 0);
        const progress = () => lines.get("logger")?.filter((l) => l.type === "progress") ?? [];
        await until("the logger to catch up", 30_000, () =>
          Number(progress().at(-1)?.records ?? 0) >= written ? true : undefined,
        ).catch(() => undefined);
        const p = progress();
        // The busy part: from the last report with nothing yet to the first with everything.
        const startAt = p.findLast((l) => Number(l.records) === 0) ?? p[0]!;
        const endAt = p.find((l) => Number(l.records) >= written) ?? p.at(-1)!;
        const received = Number(endAt.records);
        const seconds = (Number(endAt.us) - Number(startAt.us)) / 1e6;
        const dropped = done.reduce((s, l) => s + Number(l.logDroppedRecords ?? 0) + Number(l.logLostRecords ?? 0), 0);
        const bytesOnDisk = readdirSync(dir).reduce((s, f) => s + statSync(join(dir, f)).size, 0);
        return {
          writers: 2,
          written,
          received,
          seconds,
          recordsPerSec: received / seconds,
          bytesOnDisk,
          dropped,
          accountingOk: received + dropped === written,
        };
      },
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
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
