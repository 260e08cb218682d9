/**
 * Zeek's ZeroMQ cluster backend for Bun: a central XPUB/XSUB broker, Zeek's options, topics and
 * cluster layouts, on libzmq through `bun:ffi`.
 *
 * @example Running the broker and deriving a node's settings from a layout
 * ```ts
 * import { nodeConfig, startBroker } from "zeek-zmq-cluster";
 *
 * const layout = {
 *   nodes: {
 *     manager: { type: "manager", ip: "127.0.0.1", port: 27761 },
 *     "worker-1": { type: "worker", ip: "127.0.0.1" },
 *   },
 * } as const;
 * const config = nodeConfig(layout, "manager");
 * const broker = await startBroker(config); // the manager runs the broker
 * await broker.stop();
 * ```
 *
 * @module
 */

export * from "./lib/config.ts";
export * from "./lib/layout.ts";
export * from "./lib/proxy.ts";
export * from "./lib/errors.ts";
export * from "./lib/curve.ts";
export { ZmqError } from "./lib/libzmq.ts";
