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

export * from "./lib/config.ts";
export * from "./lib/layout.ts";
export * from "./lib/proxy.ts";
export * from "./lib/pubsub.ts";
export * from "./lib/discovery.ts";
export * from "./lib/serializer.ts";
export { BROKER_BIN_V1, BROKER_JSON_V1 } from "./lib/broker-event.ts";
export type { BrokerEvent, BrokerEventFormat } from "./lib/broker-event.ts";
export type { BrokerValue } from "./lib/broker-value.ts";
export { defineEvent } from "./lib/events.ts";
export type { EventArgs, EventInput, EventType, ParamSpec } from "./lib/events.ts";
export { record, setOf, tableOf, vectorOf } from "./lib/zeek-types.ts";
export type { FieldSpec, RecordSpec, TypeSpec, ZeekInput, ZeekType, ZeekValue } from "./lib/zeek-types.ts";
export * from "./lib/logformat.ts";
export * from "./lib/logpush.ts";
export * from "./lib/logpull.ts";
export * from "./lib/logfiles.ts";
export * from "./lib/topics.ts";
export * from "./lib/metrics.ts";
export * from "./lib/metrics-server.ts";
export * from "./lib/telemetry.ts";
export * from "./lib/pools.ts";
export * from "./lib/cluster-file.ts";
export * from "./lib/runtime.ts";
export * from "./lib/launcher.ts";
export * from "./lib/errors.ts";
export * from "./lib/curve.ts";
export { ZmqError } from "./lib/libzmq.ts";
