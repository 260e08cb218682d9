/**
 * @module Private: what `cluster status` shows of each node, from what the launcher already knows:
 * the process, the node's reports over IPC (started, the peers it sees, and a stats report about once
 * a second from `runNode()`), and whether the launcher is starting it again. No metrics are scraped.
 */

import type { NodeType } from "./layout.ts";
import type { NodeStats } from "./node-bus.ts";

/** Where a node is: see {@linkcode NodeStatus.state}. */
export type NodeRunState = "starting" | "up" | "down" | "exited" | "restarting";

/** One node of a running cluster, as `cluster status --json` prints it. */
export interface NodeStatus {
  name: string;
  type: NodeType;
  /** The pid of its process (the last one, if it has ended). */
  pid: number;
  /**
   * `starting`: its process runs but has not yet seen node_up for every other node; `up`: it has;
   * `down`: it had, and now misses some (`missing`), e.g. while another node restarts; `restarting`:
   * its process ended and the launcher starts it again; `exited`: it ended and stays so.
   */
  state: NodeRunState;
  /** When it first saw every other node since its process started (ISO 8601), or null. */
  upSince: string | null;
  /** How often the launcher started it again. */
  restarts: number;
  /** The other nodes it has not seen node_up for. */
  missing: string[];
  /** Events received and published per second over its last second; null until it reported (`runNode()` does). */
  eventsInPerSec: number | null;
  eventsOutPerSec: number | null;
  /** Events and log records dropped or lost so far (XPUB, onloop, log drops and losses), or null. */
  drops: number | null;
  /** Its resident memory in bytes, or null. */
  rssBytes: number | null;
  /** Log records it received and wrote so far (a logger), or null. */
  logRecords: number | null;
}

/** What a node process reports about once a second (`runNode()` sends it); counters are totals. */
export interface StatsReport {
  type: "stats";
  name: string;
  eventsIn: number;
  eventsOut: number;
  drops: number;
  records: number;
  rss: number;
}

/** The last stats report of a node with the rates since the one before. */
export interface StatsSample {
  at: number;
  report: StatsReport;
  inPerSec: number;
  outPerSec: number;
}

/** The stats report of a node: its totals and RSS. */
export function statsReport(name: string, s: NodeStats): StatsReport {
  const drops = s.xpubDrops + s.onloopDrops + s.logDroppedRecords + s.logLostRecords;
  return {
    type: "stats",
    name,
    eventsIn: s.incomingEvents,
    eventsOut: s.outgoingEvents,
    drops,
    records: s.logRecordsReceived,
    rss: process.memoryUsage.rss(),
  };
}

/** The sample after `previous` (undefined for the first report of a process), at `at` ms. */
export function nextSample(previous: StatsSample | undefined, report: StatsReport, at: number): StatsSample {
  if (!previous) return { at, report, inPerSec: 0, outPerSec: 0 };
  const seconds = Math.max(at - previous.at, 1) / 1000;
  const rate = (now: number, before: number) => Math.max(0, Math.round((now - before) / seconds));
  return {
    at,
    report,
    inPerSec: rate(report.eventsIn, previous.report.eventsIn),
    outPerSec: rate(report.eventsOut, previous.report.eventsOut),
  };
}

/** What the launcher holds of a node, as far as its status needs. */
export interface NodeFacts {
  name: string;
  type: NodeType;
  proc: { pid: number; exitCode: number | null; signalCode: string | number | null };
  id: string | undefined;
  up: Set<string>;
  restarts: number;
  upSince: number | undefined;
  stats: StatsSample | undefined;
  restarting: boolean;
}

/**
 * A node's status among `all` (the names of every node of the cluster).
 *
 * @example A node that sees everyone else
 * ```ts
 * import { nodeStatus } from "./_node-status.ts";
 *
 * const status = nodeStatus({
 *   name: "worker-1", type: "worker", proc: { pid: 4242, exitCode: null, signalCode: null }, id: "w1",
 *   up: new Set(["manager"]), restarts: 0, upSince: Date.UTC(2025, 0, 1), stats: undefined, restarting: false,
 * }, ["manager", "worker-1"]);
 * console.log(status.state, status.upSince, status.eventsInPerSec); // "up" "2025-01-01T00:00:00.000Z" null
 * ```
 */
export function nodeStatus(node: NodeFacts, all: readonly string[]): NodeStatus {
  const running = node.proc.exitCode === null && node.proc.signalCode === null;
  const missing = running ? all.filter((n) => n !== node.name && !node.up.has(n)) : [];
  const state: NodeRunState = !running
    ? node.restarting
      ? "restarting"
      : "exited"
    : node.id === undefined || node.upSince === undefined
      ? "starting"
      : missing.length > 0
        ? "down"
        : "up";
  const s = running ? node.stats : undefined;
  return {
    name: node.name,
    type: node.type,
    pid: node.proc.pid,
    state,
    upSince: node.upSince === undefined ? null : new Date(node.upSince).toISOString(),
    restarts: node.restarts,
    missing,
    eventsInPerSec: s ? s.inPerSec : null,
    eventsOutPerSec: s ? s.outPerSec : null,
    drops: s ? s.report.drops : null,
    rssBytes: s ? s.report.rss : null,
    logRecords: s ? s.report.records : null,
  };
}
