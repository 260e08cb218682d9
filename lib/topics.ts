/**
 * @module Zeek's topic names and the names of the events the backend itself raises and sends, with the
 * ZeroMQ backend's `.` separator.
 */

import { DEFAULT_CONFIG } from "./config.ts";
import { defineEvent, type EventType } from "./events.ts";

/**
 * The topic each role subscribes to (`Cluster::manager_topic` …).
 *
 * @example Sending an event to every worker
 * ```ts ignore
 * import { ROLE_TOPICS } from "./topics.ts";
 *
 * node.publish(ROLE_TOPICS.worker, "reload_config", ["/etc/app.json"]);
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
 * ```ts ignore
 * import { EVENTS } from "./topics.ts";
 *
 * node.on(EVENTS.nodeUp, (name: string, id: string) => console.log("up", name, id));
 * node.on(EVENTS.nodeDown, (name: string) => console.log("down", name));
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
} = Object.freeze({
  zeromqHello: defineEvent(EVENTS.zeromqHello, { name: "string", id: "string" }),
  hello: defineEvent(EVENTS.hello, { name: "string", id: "string" }),
  logAck: defineEvent(EVENTS.logAck, { logger: "string", seqs: "vector[count]" }),
  logStopped: defineEvent(EVENTS.logStopped, { logger: "string" }),
  metricsEndpoint: defineEvent(EVENTS.metricsEndpoint, { name: "string", target: "string" }),
});
