/**
 * @module The live cluster dashboard, a part of every node's metrics. Each node of a layout announces
 * its counters once a second to the manager on an internal topic (only a manager of this library
 * subscribes to it, so a Zeek manager never sees these events); the manager gathers them with what
 * discovery says (node_up / node_down) into a {@linkcode ClusterView} and pushes it to browsers with
 * server-sent events, at once when a node comes or goes. The page is served at `/` by every node: on
 * the manager it reads its own stream, on any other node the manager's, whose address the manager
 * tells every node of this library when it comes up. Not part of the public API.
 */

import { Hono } from "hono";
import { streamSSE } from "hono/streaming";
import { ClusterView, type Point, type Sample } from "./_cluster-view.ts";
import { dashboardPage } from "./_dashboard-page.ts";
import { takeLag } from "./_process-metrics.ts";
import type { NodeType } from "./layout.ts";
import type { NodeBus, NodeStats } from "./node-bus.ts";
import type { BrokerCounters, ProxyStatistics } from "./proxy.ts";
import { EVENTS } from "./topics.ts";

/** Where a node's announcements come from. */
export interface DashboardSources {
  /** The node's counters. */
  stats(): NodeStats;
  /** The broker this node runs, if it runs one. */
  broker():
    | { readonly running: boolean; statistics(): Promise<ProxyStatistics>; counters(): BrokerCounters }
    | undefined;
  /** `host:port` of this node's metrics server while it runs. */
  target(): string | undefined;
}

/** How often a node announces its counters, and the manager adds a point to the chart. */
export const ANNOUNCE_MS = 1000;
/** Browsers one manager streams to at once; more are refused (503) and counted. */
export const MAX_CLIENTS = 32;
/** Points a client that does not read keeps waiting for it (5 minutes); older ones are dropped. */
const MAX_PENDING_POINTS = 300;

interface Client {
  wake: PromiseWithResolvers<void>;
  points: Point[];
}

/**
 * One node's part of the dashboard: its announcements, and on the manager the view, the stream and the
 * page.
 *
 * @example The manager's page and its view, without a socket
 * ```ts
 * import { ClusterNode } from "./pubsub.ts";
 *
 * const node = new ClusterNode({ name: "manager", type: "manager" }); // not started: nothing is bound
 * const page = await node.metrics.dashboard.app.request("/");
 * console.log(page.headers.get("content-type")); // "text/html; charset=UTF-8"
 * const res = await node.metrics.dashboard.app.request("/dashboard.json");
 * const { snapshot } = (await res.json()) as { snapshot: { nodes: { name: string; state: string }[] } };
 * console.log(snapshot.nodes.map((n) => [n.name, n.state])); // [["manager", "never"]]: it has not started
 * ```
 */
export class ClusterDashboard {
  /** The routes: `/`, and on the manager `/dashboard.json` and `/dashboard/events`. */
  readonly app: Hono = new Hono();
  /** The cluster as the manager sees it; undefined on other nodes. */
  readonly view: ClusterView | undefined;
  readonly #node: NodeBus;
  readonly #sources: DashboardSources;
  readonly #statsTopic: string;
  readonly #clients = new Set<Client>();
  #refused = 0;
  #managerTarget: string | undefined;
  #timer: Timer | undefined;
  #stopped = false;

  constructor(node: NodeBus, sources: DashboardSources) {
    this.#node = node;
    this.#sources = sources;
    const prefix = node.config.internalTopicPrefix;
    this.#statsTopic = `${prefix}node-stats.`;
    const whereTopic = `${prefix}dashboard.`;
    if (node.type === "manager") {
      const types: Record<string, NodeType> = {};
      for (const [name, n] of Object.entries(node.layout?.nodes ?? { [node.name]: { type: "manager" as const } }))
        types[name] = n.type;
      const view = (this.view = new ClusterView(node.name, types));
      node.subscribe(this.#statsTopic);
      node.on(EVENTS.nodeStats, (name: unknown, stats: unknown) => view.accept(name, stats));
      node.on(EVENTS.nodeUp, (name: string, id: string) => {
        view.nodeUp(name, id);
        this.#wake();
        // Tell the nodes of this library where the dashboard is, so their `/` can point at it.
        const target = sources.target();
        if (target && node.hasSubscription(whereTopic))
          node.publish(whereTopic, EVENTS.metricsEndpoint, [node.name, target]);
      });
      node.on(EVENTS.nodeDown, (name: string) => {
        view.nodeDown(name);
        this.#wake();
      });
    } else if (node.layout) {
      node.subscribe(whereTopic);
      node.on(EVENTS.metricsEndpoint, (name: unknown, target: unknown) => {
        if (typeof name !== "string" || node.layout?.nodes[name]?.type !== "manager") return;
        if (typeof target === "string" && /^[\w.:[\]-]+:\d+$/.test(target)) this.#managerTarget = target;
      });
    }
    this.#routes();
  }

  /** The manager's dashboard, as `host:port`: this node's own on the manager. */
  get managerTarget(): string | undefined {
    return this.view ? this.#sources.target() : this.#managerTarget;
  }

  /** Starts announcing (and, on the manager, adding a point to the chart) every second. */
  start(): void {
    if (this.#timer || (!this.view && !this.#node.layout)) return;
    this.#stopped = false;
    this.view?.nodeUp(this.#node.name, this.#node.id);
    this.#timer = setInterval(() => void this.#announce(), ANNOUNCE_MS);
    this.#timer.unref();
  }

  /** Stops announcing and ends every stream, so that the server can stop without waiting for them. */
  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
    this.#stopped = true;
    this.#wake();
  }

  async #announce(): Promise<void> {
    const s = this.#sources.stats();
    const sample: Sample = {
      at: Date.now(),
      started: performance.timeOrigin,
      eventsOut: s.outgoingEvents,
      eventsIn: s.incomingEvents,
      logWritten: s.logRecordsWritten,
      logReceived: s.logRecordsReceived,
      xpubDrops: s.xpubDrops,
      xpubBlocks: s.xpubBlocks,
      onloopDrops: s.onloopDrops,
      msgErrors: s.msgErrors,
      logDropped: s.logDroppedRecords,
      logLost: s.logLostRecords,
      logFailed: s.logFailedRecords,
      logBlocks: s.logBlocks,
      disconnects: s.xpubDisconnects + s.xsubDisconnects + s.pushDisconnects + s.pullDisconnects,
      rss: process.memoryUsage.rss(),
      lag: takeLag(),
    };
    const broker = this.#sources.broker();
    if (broker?.running) {
      const statistics = await broker.statistics().catch(() => undefined);
      const counters = broker.counters();
      if (statistics) {
        sample.brokerIn = statistics.frontend.messagesReceived;
        sample.brokerOut = statistics.backend.messagesSent;
      }
      sample.brokerOverflows = counters.xpubOverflows;
      sample.brokerDisconnects = counters.xsubDisconnects + counters.xpubDisconnects;
    }
    if (this.#stopped) return;
    if (this.view) {
      this.view.accept(this.#node.name, sample);
      this.#wake(this.view.tick());
    } else if (this.#node.hasSubscription(this.#statsTopic)) {
      this.#node.publish(this.#statsTopic, EVENTS.nodeStats, [this.#node.name, sample]);
    }
  }

  /** Wakes every stream; with a point, adds it to what each sends next. */
  #wake(point?: Point): void {
    for (const client of this.#clients) {
      if (point) client.points.push(point);
      if (client.points.length > MAX_PENDING_POINTS) client.points.shift();
      client.wake.resolve();
    }
  }

  #routes(): void {
    const app = this.app;
    app.get("/", (c) => {
      // On the manager the page reads its own stream; elsewhere the manager's, once it is known.
      const source = this.view ? "" : this.#managerTarget ? `http://${this.#managerTarget}/` : null;
      return c.html(dashboardPage(source), 200, { "Cache-Control": "no-store" });
    });
    const view = this.view;
    if (!view) return;
    // Any node's page reads the manager's stream from another origin.
    const cors = { "Access-Control-Allow-Origin": "*", "Cache-Control": "no-store" };
    const clients = () => ({ connected: this.#clients.size, refused: this.#refused });
    app.get("/dashboard.json", (c) =>
      c.json({ snapshot: view.snapshot(), history: view.history, clients: clients() }, 200, cors),
    );
    app.get("/dashboard/events", (c) => {
      if (this.#stopped || this.#clients.size >= MAX_CLIENTS) {
        this.#refused++;
        return c.text(`too many dashboard clients (at most ${MAX_CLIENTS})`, 503, cors);
      }
      for (const [k, v] of Object.entries(cors)) c.header(k, v);
      const client: Client = { wake: Promise.withResolvers(), points: [] };
      this.#clients.add(client);
      return streamSSE(c, async (stream) => {
        stream.onAbort(() => client.wake.resolve());
        try {
          const init = { snapshot: view.snapshot(), history: view.history, clients: clients() };
          await stream.writeSSE({ event: "init", data: JSON.stringify(init), retry: 1000 });
          while (!stream.aborted && !this.#stopped) {
            await client.wake.promise;
            client.wake = Promise.withResolvers();
            if (stream.aborted || this.#stopped) break;
            const update = { snapshot: view.snapshot(), points: client.points.splice(0), clients: clients() };
            await stream.writeSSE({ event: "update", data: JSON.stringify(update) });
          }
        } finally {
          this.#clients.delete(client);
        }
      });
    });
  }
}
