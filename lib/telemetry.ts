/**
 * @module A node's metrics under Zeek's names, each with a `node` label: the ZeroMQ backend's drop,
 * block and error counters, the core event counters (plus, opt-in, Zeek's VERBOSE families by topic
 * and handler and DEBUG size histograms), the log counters, the broker's 8 proxy counters on the node
 * that runs it, and process health.
 */

import { brokerMetrics } from "./_broker-metrics.ts";
import { ClusterDashboard } from "./_dashboard.ts";
import { processMetrics } from "./_process-metrics.ts";
import { NodeReadiness } from "./_readiness.ts";
import { type Counter, type Histogram, MESSAGE_SIZE_BOUNDS, Registry } from "./metrics.ts";
import {
  MetricsServer,
  type MetricsServerOptions,
  metricsApp,
  type Readiness,
  type ServiceGroup,
} from "./metrics-server.ts";
import type { NodeBus, NodeFeature, NodeStats } from "./node-bus.ts";
import type { BrokerCounters, ProxyStatistics } from "./proxy.ts";
import { EVENTS } from "./topics.ts";

/** Where a node's metrics come from, besides the bus. */
export interface MetricsSources {
  /** The node's counters. */
  stats(): NodeStats;
  /** How many other nodes of the layout are up. */
  nodesUp(): number;
  /** The broker this node runs, if it runs one. */
  broker():
    | { readonly running: boolean; statistics(): Promise<ProxyStatistics>; counters(): BrokerCounters }
    | undefined;
}

/** Zeek's `Cluster::Telemetry::core_metrics` levels. */
export type CoreMetricsLevel = "INFO" | "VERBOSE" | "DEBUG";

/** Options of a node's metrics: what it counts, and where it serves them. */
export interface MetricsOptions extends TelemetryOptions, MetricsServerOptions {}

/** What a node counts. */
export interface TelemetryOptions {
  /** Which core event families to keep: INFO (totals), VERBOSE (by topic and handler), DEBUG (size histograms). @default {["INFO"]} */
  coreMetrics?: readonly CoreMetricsLevel[];
  /** Topic rewrites for the `topic` label, first match wins (Zeek's `topic_normalizations`). @default {node-id topics → zeek.cluster.nodeid.__normalized__} */
  topicNormalizations?: readonly (readonly [RegExp, string])[];
}

/**
 * Zeek's default topic normalizations: Broker-style and ZeroMQ-style node-id topics collapse into one.
 *
 * @example Adding a rule of one's own while keeping Zeek's
 * ```ts
 * import { Registry } from "./metrics.ts";
 * import { DEFAULT_TOPIC_NORMALIZATIONS, EventTelemetry } from "./telemetry.ts";
 *
 * const rules = [[/^app\.session\./, "app.session.__normalized__"] as const, ...DEFAULT_TOPIC_NORMALIZATIONS];
 * const telemetry = new EventTelemetry(new Registry(), ["VERBOSE"], rules);
 * console.log(telemetry.normalize("app.session.42.")); // "app.session.__normalized__"
 * ```
 */
export const DEFAULT_TOPIC_NORMALIZATIONS: readonly (readonly [RegExp, string])[] = Object.freeze([
  [/^zeek\/cluster\/nodeid\/.*/, "zeek/cluster/nodeid/__normalized__"],
  [/^zeek\.cluster\.nodeid\..*/, "zeek.cluster.nodeid.__normalized__"],
] as const);

/**
 * Counts published and received events by topic and handler (VERBOSE) and their sizes (DEBUG). A node
 * makes its own (`node.metrics.events`) from its `coreMetrics` option.
 *
 * @example Node-id topics share one label, so the number of series stays bounded
 * ```ts
 * import { Registry } from "./metrics.ts";
 * import { DEFAULT_TOPIC_NORMALIZATIONS, EventTelemetry } from "./telemetry.ts";
 *
 * const registry = new Registry();
 * const telemetry = new EventTelemetry(registry, ["VERBOSE"], DEFAULT_TOPIC_NORMALIZATIONS);
 * telemetry.incoming("zeek.cluster.nodeid.zeromq_worker-1_host_42_Nabc.", "Cluster::hello", 64);
 * telemetry.incoming("zeek.cluster.nodeid.zeromq_worker-2_host_43_Nxyz.", "Cluster::hello", 64);
 * console.log(registry.render().split("\n")[2]);
 * // 'zeek_cluster_core_verbose_incoming_events_total{topic="zeek.cluster.nodeid.__normalized__",handler="Cluster::hello"} 2'
 * ```
 */
export class EventTelemetry {
  readonly #normalizations: readonly (readonly [RegExp, string])[];
  readonly #normalized = new Map<string, string>();
  readonly #verbose: { out: Counter; in: Counter } | undefined;
  readonly #debug: { out: Histogram; in: Histogram } | undefined;

  constructor(
    registry: Registry,
    levels: readonly CoreMetricsLevel[],
    normalizations: readonly (readonly [RegExp, string])[],
  ) {
    this.#normalizations = normalizations;
    if (levels.includes("VERBOSE")) {
      this.#verbose = {
        out: registry.counter(
          "zeek_cluster_core_verbose_outgoing_events_total",
          "Number of outgoing events by topic and handler",
        ),
        in: registry.counter(
          "zeek_cluster_core_verbose_incoming_events_total",
          "Number of incoming events by topic and handler",
        ),
      };
    }
    if (levels.includes("DEBUG")) {
      this.#debug = {
        out: registry.histogram(
          "zeek_cluster_core_debug_outgoing_event_sizes",
          "Sizes of outgoing events in bytes",
          MESSAGE_SIZE_BOUNDS,
        ),
        in: registry.histogram(
          "zeek_cluster_core_debug_incoming_event_sizes",
          "Sizes of incoming events in bytes",
          MESSAGE_SIZE_BOUNDS,
        ),
      };
    }
  }

  /** Whether any family is on (otherwise the node skips the calls). */
  get active(): boolean {
    return this.#verbose !== undefined || this.#debug !== undefined;
  }

  /** The `topic` label of a topic. */
  normalize(topic: string): string {
    let label = this.#normalized.get(topic);
    if (label === undefined) {
      label = this.#normalizations.find(([re]) => re.test(topic))?.[1] ?? topic;
      if (this.#normalized.size > 10_000) this.#normalized.clear();
      this.#normalized.set(topic, label);
    }
    return label;
  }

  /** An event was published. */
  outgoing(topic: string, handler: string, size: number): void {
    const labels = { topic: this.normalize(topic), handler };
    this.#verbose?.out.inc(labels);
    // Zeek labels the size by the publishing script's location; here the caller's file and line.
    this.#debug?.out.observe({ ...labels, script_location: callerLocation() }, size);
  }

  /** An event was received and decoded. */
  incoming(topic: string, handler: string, size: number): void {
    const labels = { topic: this.normalize(topic), handler };
    this.#verbose?.in.inc(labels);
    this.#debug?.in.observe(labels, size);
  }
}

function callerLocation(): string {
  const frames = new Error().stack?.split("\n") ?? [];
  const outside = frames.find((f) => f.includes("at ") && !/\/lib\/(telemetry|pubsub)\.ts/.test(f) && f.includes(":"));
  return (
    /\(?([^\s()]+:\d+):\d+\)?$/
      .exec(outside ?? "")?.[1]
      ?.split("/")
      .pop() ?? "unknown"
  );
}

const LOG_COUNTERS: [keyof NodeStats, string, string][] = [
  ["logRecordsWritten", "log_written_records_total", "Log records written on this node"],
  ["logBatchesSent", "log_sent_batches_total", "Log batches sent to the loggers"],
  ["logBatchesAcked", "log_acked_batches_total", "Log batches acknowledged by a logger"],
  ["logBatchesResent", "log_resent_batches_total", "Log batches sent again after a logger stopped or did not answer"],
  ["logDroppedRecords", "log_dropped_records_total", "Log records dropped (DROP policy, or no logger)"],
  ["logDroppedBatches", "log_dropped_batches_total", "Log batches dropped (DROP policy, or no logger)"],
  ["logLostRecords", "log_lost_records_total", "Log records sent but never acknowledged when the writer stopped"],
  ["logLostBatches", "log_lost_batches_total", "Log batches sent but never acknowledged when the writer stopped"],
  [
    "logUnackedRecords",
    "log_unacked_records_total",
    "Log records sent without an acknowledgment request (to loggers that do not acknowledge)",
  ],
  [
    "logUnackedBatches",
    "log_unacked_batches_total",
    "Log batches sent without an acknowledgment request (to loggers that do not acknowledge)",
  ],
  ["logBlocks", "log_blocks_total", "Times a log batch had to wait for a logger (BLOCK policy)"],
  ["logRecordsReceived", "log_received_records_total", "Log records received and written by this logger"],
  ["logBatchesReceived", "log_received_batches_total", "Log batches received and written by this logger"],
  ["logDuplicateBatches", "log_duplicate_batches_total", "Log batches received again and not written twice"],
  ["logFailedRecords", "log_failed_records_total", "Log records received by this logger but not written to its files"],
];

/** The `socket` label of `zeek_cluster_zeromq_disconnects_total`, and its counter. */
const DISCONNECT_SOCKETS = [
  ["xpub", "xpubDisconnects"],
  ["xsub", "xsubDisconnects"],
  ["push", "pushDisconnects"],
  ["pull", "pullDisconnects"],
] as const;

/**
 * The metrics of one node, and the HTTP server for them. `render()` reads the broker's counters first
 * (at most every 10 ms, never blocking), then renders everything with the node's `node` label. Nodes
 * announce their endpoint to the manager once it is up; the manager lists them in `/services.json`.
 *
 * @example Serving a node's metrics on a free port
 * ```ts
 * import { ClusterNode } from "./pubsub.ts";
 *
 * const any = "tcp://127.0.0.1:*"; // free ports
 * // A node on its own, without a layout: it runs the broker itself.
 * const node = new ClusterNode({
 *   name: "manager", runProxyThread: true, listenXsubEndpoint: any, listenXpubEndpoint: any,
 *   metrics: { port: 0, coreMetrics: ["INFO", "VERBOSE"] },
 * });
 * await node.start();
 * console.log(node.metrics.url); // e.g. "http://127.0.0.1:39451/"
 * const text = await (await fetch(new URL("/metrics", node.metrics.url))).text();
 * console.log(text.includes('zeek_cluster_core_outgoing_events_total{node="manager"} 0')); // true
 * await node.stop();
 * ```
 */
export class NodeMetrics implements NodeFeature {
  readonly registry: Registry = new Registry();
  readonly events: EventTelemetry;
  /** The live dashboard at `/`: announcements to the manager, and on the manager the cluster's view. */
  readonly dashboard: ClusterDashboard;
  readonly #node: NodeBus;
  readonly #sources: MetricsSources;
  readonly #server: MetricsServerOptions | undefined;
  readonly #targets = new Map<string, string>();
  readonly #readiness: NodeReadiness;
  #running: MetricsServer | undefined;
  #proxy: ProxyStatistics | undefined;

  /** @param serve Where to serve metrics; undefined: no server. */
  constructor(node: NodeBus, sources: MetricsSources, options: TelemetryOptions = {}, serve?: MetricsServerOptions) {
    this.#node = node;
    this.#sources = sources;
    this.#server = serve;
    this.dashboard = new ClusterDashboard(node, { ...sources, target: () => this.target });
    this.#readiness = new NodeReadiness(node, () => sources.stats());
    // Announcements go to a topic only a manager of this library subscribes to: a Zeek manager never
    // sees an event it has no handler for (it would report each one as an error).
    const announceTopic = `${node.config.internalTopicPrefix}metrics-endpoints.`;
    if (node.type === "manager") {
      node.subscribe(announceTopic);
      node.on(EVENTS.metricsEndpoint, (name: unknown, target: unknown) => {
        if (typeof name === "string" && typeof target === "string" && /^[\w.:[\]-]+:\d+$/.test(target))
          this.#targets.set(name, target);
      });
      node.on(EVENTS.nodeDown, (name: string) => this.#targets.delete(name));
    } else {
      node.on(EVENTS.nodeUp, (name: string) => {
        if (this.target && node.layout?.nodes[name]?.type === "manager" && node.hasSubscription(announceTopic)) {
          node.publish(announceTopic, EVENTS.metricsEndpoint, [node.name, this.target]);
        }
      });
    }
    const levels = options.coreMetrics ?? ["INFO"];
    for (const level of levels)
      if (!["INFO", "VERBOSE", "DEBUG"].includes(level))
        throw new RangeError(`Invalid metrics option 'coreMetrics': unknown level '${level}'`);
    const r = this.registry;
    const stat = (key: keyof NodeStats) => () => sources.stats()[key];
    r.collect(
      "zeek_cluster_zeromq_xpub_drops_total",
      "counter",
      "Number of published events dropped due to XPUB socket HWM",
      stat("xpubDrops"),
    );
    r.collect(
      "zeek_cluster_zeromq_xpub_blocks_total",
      "counter",
      "Number of times publishing had to wait at the XPUB socket HWM (BLOCK)",
      stat("xpubBlocks"),
    );
    r.collect(
      "zeek_cluster_zeromq_onloop_drops_total",
      "counter",
      "Number of received events dropped due to OnLoop queue full",
      stat("onloopDrops"),
    );
    r.collect(
      "zeek_cluster_zeromq_msg_errors_total",
      "counter",
      "Number of malformed messages received",
      stat("msgErrors"),
    );
    r.collect(
      "zeek_cluster_zeromq_disconnects_total",
      "counter",
      "Connections of the node's sockets that ended (a broker or logger restart, a peer cut off by heartbeats or maxMessageSize); messages in flight on them may be lost",
      () => {
        const s = sources.stats();
        return DISCONNECT_SOCKETS.map(([socket, key]) => [{ socket }, s[key]]);
      },
    );
    r.collect(
      "zeek_cluster_zeromq_onloop_queue_depth",
      "gauge",
      "Received events waiting for the main thread",
      stat("onloopQueueDepth"),
    );
    r.collect(
      "zeek_cluster_zeromq_pending_publishes",
      "gauge",
      "Published events waiting in the local queue",
      stat("pendingPublishes"),
    );
    if (levels.includes("INFO")) {
      r.collect(
        "zeek_cluster_core_outgoing_events_total",
        "counter",
        "Number of outgoing events",
        stat("outgoingEvents"),
      );
      r.collect(
        "zeek_cluster_core_incoming_events_total",
        "counter",
        "Number of incoming events",
        stat("incomingEvents"),
      );
    }
    this.events = new EventTelemetry(r, levels, options.topicNormalizations ?? DEFAULT_TOPIC_NORMALIZATIONS);
    for (const [key, name, help] of LOG_COUNTERS) r.collect(`zeek_cluster_zeromq_${name}`, "counter", help, stat(key));
    r.collect("zeek_cluster_nodes_up", "gauge", "Other nodes of the layout that are up", () => sources.nodesUp());
    brokerMetrics(
      r,
      () => this.#proxy,
      () => sources.broker()?.counters(),
    );
    processMetrics(r);
  }

  /** Starts the HTTP server, if the node has one. */
  start(): void {
    this.dashboard.start(); // also without a server of its own: the node announces to the manager
    if (!this.#server || this.#running) return;
    const services = this.#node.type === "manager" ? () => this.services() : undefined;
    this.#running = MetricsServer.start(
      metricsApp({
        metrics: () => this.render(),
        readiness: () => this.readiness(),
        dashboard: this.dashboard.app,
        ...(services ? { services } : {}),
      }),
      this.#server,
    );
  }

  /** Stops the HTTP server gracefully. */
  async stop(): Promise<void> {
    this.dashboard.stop(); // its streams end first, or the server would wait for them
    await this.#running?.stop();
    this.#running = undefined;
  }

  /** What `/readyz` answers: started, and connected to the broker now. */
  readiness(): Readiness {
    return this.#readiness.now();
  }

  /** The server's base URL while it runs. */
  get url(): string | undefined {
    return this.#running?.url;
  }

  /** `host:port` of the server while it runs: what Prometheus scrapes. */
  get target(): string | undefined {
    if (!this.#running) return undefined;
    const host =
      this.#running.hostname === "0.0.0.0"
        ? (this.#node.layout?.nodes[this.#node.name]?.ip ?? "127.0.0.1")
        : this.#running.hostname;
    return `${host.includes(":") ? `[${host}]` : host}:${this.#running.port}`;
  }

  /** Prometheus HTTP service discovery for the cluster (on the manager): every node's endpoint. */
  services(): ServiceGroup[] {
    const own = this.target ? [this.target] : [];
    return [{ targets: [...own, ...[...this.#targets.values()].sort()], labels: {} }];
  }

  /** The exposition text of this node. */
  async render(): Promise<string> {
    const broker = this.#sources.broker();
    if (broker?.running) this.#proxy = await broker.statistics().catch(() => this.#proxy); // keep the last values if it is stalled
    return this.registry.render({ node: this.#node.name });
  }
}
