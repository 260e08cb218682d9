/**
 * @module The manager's view of the whole cluster, for the dashboard: every node of the layout with its
 * state (from node_up / node_down), up since, restarts (a node_up with a new node id for a known name:
 * a new process, however it was started), and the rates and loss counters computed from
 * the stats each node announces about once a second; plus the history of cluster-wide events/s and
 * drops/s. Stats arrive from the network: only known names and known keys with finite values count,
 * and everything else is counted in `ignored`. Not part of the public API.
 */

import type { NodeType } from "./layout.ts";

/**
 * What a node announces each second, all numbers: when (`at`, ms since the epoch) and since when its
 * process runs (`started`), its counters (cumulative), its RSS and the largest event-loop lag of the
 * second; the broker's counters on the node that runs it.
 */
export const SAMPLE_KEYS = [
  "at",
  "started",
  "eventsOut",
  "eventsIn",
  "logWritten",
  "logReceived",
  "xpubDrops",
  "xpubBlocks",
  "onloopDrops",
  "msgErrors",
  "logDropped",
  "logLost",
  "logFailed",
  "logBlocks",
  "disconnects",
  "rss",
  "lag",
  "brokerIn",
  "brokerOut",
  "brokerOverflows",
  "brokerDisconnects",
] as const;

/** One announcement. Broker keys are missing on nodes that run no broker. */
export type Sample = Partial<Record<(typeof SAMPLE_KEYS)[number], number>> & { at: number; started: number };

/** The counters that mean loss: anything non-zero is highlighted. */
export const LOSS_KEYS = ["xpubDrops", "onloopDrops", "msgErrors", "logDropped", "logLost", "logFailed"] as const;
/**
 * The counters summed into the cluster's drops: the terminal summary's (XPUB, onloop, log records
 * dropped and lost) and also failed log records and the broker's overflows.
 */
const DROP_KEYS = ["xpubDrops", "onloopDrops", "logDropped", "logLost", "logFailed", "brokerOverflows"] as const;
const RATE_KEYS = ["eventsOut", "eventsIn", "logWritten", "logReceived", "brokerIn", "brokerOut"] as const;
const TOTAL_KEYS = [...LOSS_KEYS, "xpubBlocks", "logBlocks", "disconnects", "brokerOverflows", "brokerDisconnects"];

/** One node's row on the dashboard. */
export interface NodeRow {
  name: string;
  type: NodeType;
  /** `never`: not seen since the manager started. */
  state: "up" | "down" | "never";
  /** When it came up (ms since the epoch), or null. */
  upSince: number | null;
  /** New processes seen under this name (a new node id in node_up). */
  restarts: number;
  /** Per second, from its last two announcements; null while it announces nothing (a Zeek node, or down). */
  rates: Record<(typeof RATE_KEYS)[number], number> | null;
  /** The counters of its last announcement. */
  totals: Record<string, number> | null;
  rss: number | null;
  /** Seconds. */
  lag: number | null;
  /** Whether it runs the broker. */
  broker: boolean;
}

/** The whole dashboard at one moment. */
export interface Snapshot {
  at: number;
  manager: string;
  nodes: NodeRow[];
  /** As the terminal summary: nodes up, received events/s, log records written, drops. */
  summary: { up: number; nodes: number; events: number; records: number; drops: number };
  /** Announcements ignored: unknown names, stale or malformed values. */
  ignored: number;
}

/** One point of the chart: time (ms since the epoch), cluster-wide received events/s and drops/s. */
export type Point = [at: number, events: number, drops: number];

interface NodeState {
  type: NodeType;
  state: NodeRow["state"];
  upSince: number | null;
  restarts: number;
  id: string | undefined;
  last: Sample | undefined;
  /** When the last announcement arrived, by the manager's clock. */
  arrived: number;
  rates: Record<string, number> | null;
}

const HISTORY = 300;
/** Rates older than this are not shown: the node stopped announcing (hung, or a Zeek node now). */
const STALE_MS = 5000;

/**
 * Gathers the cluster's announcements on the manager.
 *
 * @example Rates from two announcements a second apart
 * ```ts
 * import { ClusterView } from "./_cluster-view.ts";
 *
 * const view = new ClusterView("manager", { manager: "manager", "worker-1": "worker" });
 * view.nodeUp("worker-1", "zeromq_worker-1_host_42_Nabc");
 * view.accept("worker-1", { at: 1_000, started: 1, eventsOut: 0 });
 * view.accept("worker-1", { at: 2_000, started: 1, eventsOut: 250 });
 * console.log(view.snapshot().nodes[1]?.rates?.eventsOut); // 250
 * ```
 */
export class ClusterView {
  readonly #manager: string;
  readonly #nodes = new Map<string, NodeState>();
  readonly #history: Point[] = [];
  #ignored = 0;

  /** @param types Every node of the layout and its role, in layout order. */
  constructor(manager: string, types: Readonly<Record<string, NodeType>>) {
    this.#manager = manager;
    for (const [name, type] of Object.entries(types))
      this.#nodes.set(name, {
        type,
        state: "never",
        upSince: null,
        restarts: 0,
        id: undefined,
        last: undefined,
        arrived: 0,
        rates: null,
      });
  }

  /** A node came up (node_up, or the manager itself) with its node id. */
  nodeUp(name: string, id: string, at: number = Date.now()): void {
    const node = this.#nodes.get(name);
    if (!node || (node.state === "up" && node.id === id)) return;
    if (node.id !== undefined && node.id !== id) node.restarts++;
    Object.assign(node, { state: "up", upSince: at, id });
  }

  /** A node went away (node_down): its rates go with it, its last counters stay on view. */
  nodeDown(name: string): void {
    const node = this.#nodes.get(name);
    if (node?.state !== "up") return;
    Object.assign(node, { state: "down", upSince: null, rates: null });
  }

  /** Takes an announcement from the network; returns whether it was used. */
  accept(name: unknown, stats: unknown, arrived: number = Date.now()): boolean {
    const node = typeof name === "string" ? this.#nodes.get(name) : undefined;
    const sample = node ? toSample(stats) : undefined;
    if (!node || !sample || (node.last && node.last.started === sample.started && sample.at <= node.last.at)) {
      this.#ignored++;
      return false;
    }
    // A new process starts its counters from zero: no rate across the two.
    if (node.last && node.last.started !== sample.started) node.last = undefined;
    if (node.last) {
      const seconds = (sample.at - node.last.at) / 1000;
      const prev = node.last;
      node.rates = Object.fromEntries(
        RATE_KEYS.map((k) => [k, Math.max(0, ((sample[k] ?? 0) - (prev[k] ?? 0)) / seconds)]),
      );
      node.rates.drops = DROP_KEYS.reduce((s, k) => s + Math.max(0, (sample[k] ?? 0) - (prev[k] ?? 0)), 0) / seconds;
    }
    node.last = sample;
    node.arrived = arrived;
    return true;
  }

  /** Adds a point to the chart from the rates known now, and returns it. */
  tick(at: number = Date.now()): Point {
    let events = 0;
    let drops = 0;
    for (const node of this.#nodes.values()) {
      const rates = this.#rates(node, at);
      events += rates?.eventsIn ?? 0;
      drops += rates?.drops ?? 0;
    }
    const point: Point = [at, Math.round(events), Math.round(drops)];
    this.#history.push(point);
    if (this.#history.length > HISTORY) this.#history.shift();
    return point;
  }

  /** The chart's points, oldest first (about 5 minutes). */
  get history(): readonly Point[] {
    return this.#history;
  }

  /** Every node as the dashboard shows it. */
  snapshot(at: number = Date.now()): Snapshot {
    const nodes: NodeRow[] = [];
    const summary = { up: 0, nodes: this.#nodes.size, events: 0, records: 0, drops: 0 };
    for (const [name, n] of this.#nodes) {
      const s = n.last;
      const totals = s ? Object.fromEntries(TOTAL_KEYS.map((k) => [k, s[k as keyof Sample] ?? 0])) : null;
      const known = this.#rates(n, at);
      const rates = known ? (Object.fromEntries(RATE_KEYS.map((k) => [k, known[k] ?? 0])) as NodeRow["rates"]) : null;
      nodes.push({
        name,
        type: n.type,
        state: n.state,
        upSince: n.upSince,
        restarts: n.restarts,
        rates,
        totals,
        rss: n.state === "up" ? (s?.rss ?? null) : null,
        lag: n.state === "up" ? (s?.lag ?? null) : null,
        broker: s?.brokerIn !== undefined,
      });
      if (n.state === "up") summary.up++;
      summary.events += rates?.eventsIn ?? 0;
      summary.records += s?.logWritten ?? 0;
      summary.drops += s ? DROP_KEYS.reduce((sum, k) => sum + (s[k] ?? 0), 0) : 0;
    }
    summary.events = Math.round(summary.events);
    return { at, manager: this.#manager, nodes, summary, ignored: this.#ignored };
  }

  #rates(node: NodeState, now: number): Record<string, number> | null {
    return node.state === "up" && now - node.arrived < STALE_MS ? node.rates : null;
  }
}

/** A sample from an announcement's table (a Map or an object), or undefined when it is not one. */
function toSample(stats: unknown): Sample | undefined {
  const get =
    stats instanceof Map
      ? (k: string) => stats.get(k) as unknown
      : typeof stats === "object" && stats !== null
        ? (k: string) => (Object.hasOwn(stats, k) ? (stats as Record<string, unknown>)[k] : undefined)
        : undefined;
  if (!get) return undefined;
  const sample: Record<string, number> = {};
  for (const key of SAMPLE_KEYS) {
    const v = get(key);
    if (v === undefined) continue;
    if (typeof v !== "number" || !Number.isFinite(v) || v < 0) return undefined;
    sample[key] = v;
  }
  return sample.at !== undefined && sample.started !== undefined ? (sample as Sample) : undefined;
}
