/**
 * Zeek's ZeroMQ cluster backend for Bun: cluster nodes that publish events to each other through a
 * central XPUB/XSUB broker, discover each other (node_up / node_down), and count every drop, with
 * Zeek's options, topics and cluster layouts, on libzmq through `bun:ffi`.
 *
 * @example Two nodes of a layout; the manager runs the broker
 * ```ts
 * import { ClusterNode } from "zeek-zmq-cluster";
 *
 * const layout = {
 *   nodes: {
 *     manager: { type: "manager", ip: "127.0.0.1", port: 27762 },
 *     "worker-1": { type: "worker", ip: "127.0.0.1" },
 *   },
 * } as const;
 * const any = "tcp://127.0.0.1:*"; // free ports instead of Zeek's fixed ones
 * const manager = new ClusterNode({ name: "manager", layout, listenXsubEndpoint: any, listenXpubEndpoint: any, listenLogEndpoint: any });
 * const ping = new Promise<number>((resolve) => manager.on("ping", resolve));
 * await manager.start();
 * const { xsub, xpub } = manager.broker!.endpoints!;
 * const worker = new ClusterNode({ name: "worker-1", layout, connectXpubEndpoint: xsub, connectXsubEndpoint: xpub, connectLogEndpoints: [manager.logEndpoint] });
 * worker.on("Cluster::node_up", () => worker.publish("zeek.cluster.manager", "ping", [1]));
 * await worker.start();
 * console.log(await ping); // 1
 * await worker.stop();
 * await manager.stop();
 * ```
 *
 * @module
 */

// The public surface, name by name. Parts a user imports separately have subpaths (package.json
// "exports"): zeek-zmq-cluster/launcher, /logging, /metrics, /wire, /config, /layout, /curve.

export { ZmqError } from "./lib/_libzmq.ts";
export type { ZeroMQOptions } from "./lib/config.ts";
export { DEFAULT_CONFIG } from "./lib/config.ts";
// Errors.
export { ClusterError } from "./lib/errors.ts";
export type { EventArgs, EventInput, EventType } from "./lib/events.ts";
// Events with Zeek's types, and the formats they travel in.
export { defineEvent } from "./lib/events.ts";
export type { ClusterLayout, LayoutNode, NodeType } from "./lib/layout.ts";
export type { LogStream } from "./lib/logformat.ts";
// Logs.
export { defineStream } from "./lib/logformat.ts";
export type { NodeBus, NodeFeature } from "./lib/node-bus.ts";
export { Pool } from "./lib/pools.ts";
export { Broker } from "./lib/proxy.ts";
export type { EventContext, LoggingOptions, NodeOptions, NodeStats, Reporter } from "./lib/pubsub.ts";
// Nodes and the broker.
export { ClusterNode } from "./lib/pubsub.ts";
export { runNode } from "./lib/runtime.ts";
export type { ClusterEvent, EventFormat, EventMetadata } from "./lib/serializer.ts";
export { registerFormat } from "./lib/serializer.ts";
export type { MetricsOptions } from "./lib/telemetry.ts";
// Zeek's names and settings.
export { EVENTS, nodeidTopic, nodeTopic, POOL_TOPICS, ROLE_TOPICS } from "./lib/topics.ts";
export type { TypeSpec, ZeekInput, ZeekValue } from "./lib/zeek-types.ts";
export { record, setOf, tableOf, vectorOf } from "./lib/zeek-types.ts";
