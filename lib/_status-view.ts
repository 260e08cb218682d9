/**
 * @module Private: how `cluster status` and `cluster top` show a running cluster: one line about the
 * cluster, then a table with a row per node.
 */

import type { ClusterStatus } from "./_control.ts";
import type { NodeStatus } from "./_node-status.ts";

const COLUMNS = ["NODE", "TYPE", "PID", "STATE", "UP SINCE", "RESTARTS", "IN/S", "OUT/S", "DROPS", "RSS", ""] as const;
/** Columns whose numbers are right-aligned. */
const NUMERIC = new Set([2, 5, 6, 7, 8, 9]);

const dash = (n: number | null, show: (n: number) => string = String) => (n === null ? "-" : show(n));
const mb = (bytes: number) => `${(bytes / 1048576).toFixed(1)} MB`;
const pad2 = (n: number) => String(n).padStart(2, "0");

/** A time as the local clock shows it: `HH:MM:SS` today, else with the date. */
export function clock(iso: string, now: Date = new Date()): string {
  const t = new Date(iso);
  const time = `${pad2(t.getHours())}:${pad2(t.getMinutes())}:${pad2(t.getSeconds())}`;
  if (t.toDateString() === now.toDateString()) return time;
  return `${t.getFullYear()}-${pad2(t.getMonth() + 1)}-${pad2(t.getDate())} ${time}`;
}

function row(n: NodeStatus, now: Date): string[] {
  const note = n.missing.length > 0 && n.state !== "starting" ? `misses ${n.missing.join(", ")}` : "";
  return [
    n.name,
    n.type,
    String(n.pid),
    n.state,
    n.upSince === null ? "-" : clock(n.upSince, now),
    String(n.restarts),
    dash(n.eventsInPerSec),
    dash(n.eventsOutPerSec),
    dash(n.drops),
    dash(n.rssBytes, mb),
    note,
  ];
}

/**
 * The node table: a header and a row per node, columns padded to the widest cell.
 *
 * @example One node
 * ```ts
 * import type { NodeStatus } from "./_node-status.ts";
 * import { nodeTable } from "./_status-view.ts";
 *
 * const node: NodeStatus = { name: "manager", type: "manager", pid: 7, state: "up", upSince: null, restarts: 0,
 *   missing: [], eventsInPerSec: 5, eventsOutPerSec: 9, drops: 0, rssBytes: 52428800, logRecords: null };
 * const [header, row] = nodeTable([node]).split("\n");
 * console.log(header!.split(/\s{2,}/)); // ["NODE", "TYPE", "PID", "STATE", "UP SINCE", "RESTARTS", "IN/S", "OUT/S", "DROPS", "RSS"]
 * console.log(row!.split(/\s+/)); // ["manager", "manager", "7", "up", "-", "0", "5", "9", "0", "50.0", "MB"]
 * ```
 */
export function nodeTable(nodes: readonly NodeStatus[], now: Date = new Date()): string {
  const rows = [[...COLUMNS], ...nodes.map((n) => row(n, now))];
  const widths = COLUMNS.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows
    .map((r) =>
      r
        .map((cell, i) => (NUMERIC.has(i) ? cell.padStart(widths[i]!) : cell.padEnd(widths[i]!)))
        .join("  ")
        .trimEnd(),
    )
    .join("\n");
}

/** The line about the whole cluster: its file, whether it is ready, the launcher, the run directory. */
export function clusterLine(s: ClusterStatus, now: Date = new Date()): string {
  const up = s.nodes.filter((n) => n.state === "up").length;
  const state = s.stopping ? "stopping" : s.ready ? "ready" : "not ready";
  return `cluster ${s.file}: ${state}, ${up}/${s.nodes.length} nodes up · launcher pid ${s.pid} since ${clock(s.startedAt, now)} · run dir ${s.runDir}`;
}

/** What `cluster status` prints. */
export function formatStatus(s: ClusterStatus, now: Date = new Date()): string {
  return `${clusterLine(s, now)}\n\n${nodeTable(s.nodes, now)}`;
}

/** The totals `cluster top` shows above the table. */
export function totalsLine(s: ClusterStatus): string {
  const sum = (pick: (n: NodeStatus) => number | null) => s.nodes.reduce((t, n) => t + (pick(n) ?? 0), 0);
  const rss = sum((n) => n.rssBytes);
  return `${sum((n) => n.eventsInPerSec)} events/s in · ${sum((n) => n.eventsOutPerSec)} events/s out · ${sum((n) => n.drops)} drops · ${mb(rss)} RSS`;
}
