/**
 * @module Zeek's topic names and the names of the events the backend itself raises and sends, with the
 * ZeroMQ backend's `.` separator.
 */

import { hostname } from "node:os";
import { DEFAULT_CONFIG, type ZeroMQConfig } from "./config.ts";
import { defineEvent, type EventType } from "./events.ts";
import type { NodeType } from "./layout.ts";

/**
 * The topic each role subscribes to (`Cluster::manager_topic` …).
 *
 * @example Sending an event to every worker
 * ```ts
 * import { Broker } from "./proxy.ts";
 * import { ClusterNode } from "./pubsub.ts";
 * import { ROLE_TOPICS } from "./topics.ts";
 *
 * // A broker on free ports, and nodes without a layout (so without discovery) that know their role.
 * const broker = new Broker({ listenXsubEndpoint: "tcp://127.0.0.1:*", listenXpubEndpoint: "tcp://127.0.0.1:*" });
 * const { xsub, xpub } = await broker.start();
 * const endpoints = { connectXpubEndpoint: xsub, connectXsubEndpoint: xpub };
 * const manager = new ClusterNode({ name: "manager", type: "manager", ...endpoints });
 * const worker = new ClusterNode({ name: "worker-1", type: "worker", ...endpoints });
 * const reload = new Promise<string>((resolve) => worker.on("reload_config", resolve));
 * await worker.start(); // subscribes to its role's topic, zeek.cluster.worker
 * await manager.start();
 * manager.publish(ROLE_TOPICS.worker, "reload_config", ["/etc/app.json"]);
 * console.log(await reload); // "/etc/app.json"
 * await Promise.all([manager.stop(), worker.stop()]);
 * await broker.stop();
 * ```
 */
export const ROLE_TOPICS: Readonly<Record<"manager" | "logger" | "proxy" | "worker", string>> = Object.freeze({
  manager: "zeek.cluster.manager",
  logger: "zeek.cluster.logger",
  proxy: "zeek.cluster.proxy",
  worker: "zeek.cluster.worker",
});

/**
 * The pool topics (`Cluster::proxy_pool_spec$topic` …). A manager is in no pool.
 *
 * @example Every pool has a topic, the manager none
 * ```ts
 * import { POOL_TOPICS } from "./topics.ts";
 *
 * console.log(POOL_TOPICS.proxy); // "zeek.cluster.pool.proxy"
 * console.log("manager" in POOL_TOPICS); // false
 * ```
 */
export const POOL_TOPICS: Readonly<Record<"logger" | "proxy" | "worker", string>> = Object.freeze({
  logger: "zeek.cluster.pool.logger",
  proxy: "zeek.cluster.pool.proxy",
  worker: "zeek.cluster.pool.worker",
});

/**
 * Events the backend raises locally or sends for discovery, by their Zeek names. Handlers register for
 * them like for any other event.
 *
 * @example Following nodes as they come and go
 * ```ts
 * import { ClusterNode } from "./pubsub.ts";
 * import { EVENTS } from "./topics.ts";
 *
 * const layout = {
 *   nodes: { manager: { type: "manager", ip: "127.0.0.1", port: 27762 }, "worker-1": { type: "worker", ip: "127.0.0.1" } },
 * } as const;
 * const any = "tcp://127.0.0.1:*"; // free ports
 * const manager = new ClusterNode({ name: "manager", layout, listenXsubEndpoint: any, listenXpubEndpoint: any, listenLogEndpoint: any });
 * const up = Promise.withResolvers<string>();
 * const down = Promise.withResolvers<string>();
 * manager.on(EVENTS.nodeUp, (name: string) => up.resolve(name));
 * manager.on(EVENTS.nodeDown, (name: string) => down.resolve(name));
 * await manager.start();
 * const { xsub, xpub } = manager.broker!.endpoints!;
 * const worker = new ClusterNode({ name: "worker-1", layout, connectXpubEndpoint: xsub, connectXsubEndpoint: xpub, connectLogEndpoints: [manager.logEndpoint] });
 * await worker.start();
 * console.log("up", await up.promise); // "up" "worker-1"
 * await worker.stop();
 * console.log("down", await down.promise); // "down" "worker-1"
 * await manager.stop();
 * ```
 */
export const EVENTS = {
  /** `(topic)`: a topic was subscribed somewhere in the cluster, raised the first time it is seen. */
  subscription: "Cluster::Backend::ZeroMQ::subscription",
  /** `(topic)`: the last subscriber of a topic went away. */
  unsubscription: "Cluster::Backend::ZeroMQ::unsubscription",
  /** `(name, id)`: sent to a node's node-id topic when its subscription is seen. */
  zeromqHello: "Cluster::Backend::ZeroMQ::hello",
  /** `(name, id)`: sent once both directions work; raises node_up on the receiver. */
  hello: "Cluster::hello",
  /** `(name, id)`: another node of the layout is reachable both ways. */
  nodeUp: "Cluster::node_up",
  /** `(name, id)`: another node went away (its node-id topic was unsubscribed). */
  nodeDown: "Cluster::node_down",
  /** `(logger name, [seq...])`: a logger has written these log batches of the receiving writer. */
  logAck: "Cluster::Backend::ZeroMQ::log_ack",
  /** `(logger name)`: a logger stopped; everything it wrote was acknowledged before this. */
  logStopped: "Cluster::Backend::ZeroMQ::log_stopped",
  /** `(node name, "host:port")`: a node tells the manager where its metrics are served. */
  metricsEndpoint: "Cluster::Backend::ZeroMQ::metrics_endpoint",
  /** `(node name, stats)`: a node's counters of the last second, for the manager's dashboard. */
  nodeStats: "Cluster::Backend::ZeroMQ::node_stats",
  /** `()`: raised locally once the node runs, as Zeek raises it at start-up. */
  zeekInit: "zeek_init",
  /** `()`: raised locally when the node starts stopping; publishing and logging still work here. */
  zeekDone: "zeek_done",
} as const;

/**
 * Zeek's `Cluster::node_topic(name)`: `<prefix>.<name>.`, with a trailing dot so that `worker-1`
 * does not also receive what is sent to `worker-10`.
 *
 * @example The topic only worker-1 subscribes to
 * ```ts
 * import { nodeTopic } from "./topics.ts";
 *
 * console.log(nodeTopic("worker-1")); // "zeek.cluster.node.worker-1."
 * ```
 */
export function nodeTopic(name: string, prefix: string = DEFAULT_CONFIG.nodeTopicPrefix): string {
  return `${prefix}.${name}.`;
}

/**
 * Zeek's `Cluster::nodeid_topic(id)`: `<prefix>.<id>.`.
 *
 * @example The topic of one node process, not of a later restart
 * ```ts
 * import { nodeidTopic } from "./topics.ts";
 *
 * console.log(nodeidTopic("zeromq_worker-1_host_42_Nabc")); // "zeek.cluster.nodeid.zeromq_worker-1_host_42_Nabc."
 * ```
 */
export function nodeidTopic(id: string, prefix: string = DEFAULT_CONFIG.nodeidTopicPrefix): string {
  return `${prefix}.${id}.`;
}

/**
 * The backend's own events with Zeek's parameter types, so that they travel exactly as a Zeek node
 * sends and expects them (both hellos) and are checked on receipt.
 *
 * @example The hello a Zeek node sends and answers
 * ```ts
 * import { BACKEND_EVENTS } from "./topics.ts";
 *
 * console.log(BACKEND_EVENTS.hello.params.map((p) => p.name)); // ["name", "id"]
 * ```
 */
export const BACKEND_EVENTS: {
  readonly zeromqHello: EventType<{ readonly name: "string"; readonly id: "string" }>;
  readonly hello: EventType<{ readonly name: "string"; readonly id: "string" }>;
  readonly logAck: EventType<{ readonly logger: "string"; readonly seqs: "vector[count]" }>;
  readonly logStopped: EventType<{ readonly logger: "string" }>;
  readonly metricsEndpoint: EventType<{ readonly name: "string"; readonly target: "string" }>;
  readonly nodeStats: EventType<{ readonly name: "string"; readonly stats: "table[string] of double" }>;
} = Object.freeze({
  zeromqHello: defineEvent(EVENTS.zeromqHello, { name: "string", id: "string" }),
  hello: defineEvent(EVENTS.hello, { name: "string", id: "string" }),
  logAck: defineEvent(EVENTS.logAck, { logger: "string", seqs: "vector[count]" }),
  logStopped: defineEvent(EVENTS.logStopped, { logger: "string" }),
  metricsEndpoint: defineEvent(EVENTS.metricsEndpoint, { name: "string", target: "string" }),
  nodeStats: defineEvent(EVENTS.nodeStats, { name: "string", stats: "table[string] of double" }),
});

/**
 * Zeek's node id: `zeromq_<name>_<host>_<pid>_N<random>`.
 *
 * @example A fresh id for every start of a node
 * ```ts
 * import { makeNodeId } from "./topics.ts";
 *
 * console.log(makeNodeId("worker-1")); // e.g. "zeromq_worker-1_myhost_4242_NkX3bT0qL9wZr2Va"
 * ```
 */
export function makeNodeId(name: string): string {
  const alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
  const random = Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => alphabet[b % 62]).join("");
  return `zeromq_${name}_${hostname()}_${process.pid}_N${random}`;
}

/**
 * The topics a node of a role subscribes to at start, as Zeek's `setup-subscriptions.zeek` does: its
 * node topic, its node-id topic, its role topic and its pool topic (a manager is in no pool).
 *
 * @example A worker's topics
 * ```ts
 * import { DEFAULT_CONFIG, type ZeroMQConfig } from "./config.ts";
import type { NodeType } from "./layout.ts";
 * import { ownTopics } from "./topics.ts";
 *
 * console.log(ownTopics("worker-1", "id1", "worker", DEFAULT_CONFIG)); // ["zeek.cluster.node.worker-1.", "zeek.cluster.nodeid.id1.", "zeek.cluster.worker", "zeek.cluster.pool.worker"]
 * ```
 */
export function ownTopics(
  name: string,
  id: string,
  type: NodeType | undefined,
  config: Pick<ZeroMQConfig, "nodeTopicPrefix" | "nodeidTopicPrefix">,
): string[] {
  if (type === undefined) return [];
  const own = [nodeTopic(name, config.nodeTopicPrefix), nodeidTopic(id, config.nodeidTopicPrefix), ROLE_TOPICS[type]];
  if (type !== "manager") own.push(POOL_TOPICS[type]);
  return own;
}
