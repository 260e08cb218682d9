/**
 * @module The narrow interface a node's features are built on: who the node is, its configuration,
 * handlers by event name, publishing, subscriptions, and its reporter. Discovery, logging, metrics and
 * pools plug into a node through it and never see the node class; `ClusterNode` implements it and
 * assembles them. A feature has a `start()` and a `stop()`; the node stops its features in the reverse
 * order of their start.
 */

import type { IoCounters } from "./_io-thread.ts";
import type { LogWriterStats } from "./_logpush-types.ts";
import type { ZeroMQConfig } from "./config.ts";
import type { NodeType, ValidLayout } from "./layout.ts";
import type { LogReceiverStats } from "./logpull.ts";

/** Counters of a node, named after Zeek's metrics. */
export interface NodeStats extends IoCounters, LogWriterStats, LogReceiverStats {
  /** `zeek_cluster_core_outgoing_events_total`: events serialized for publishing. */
  outgoingEvents: number;
  /** `zeek_cluster_core_incoming_events_total`: events received and decoded. */
  incomingEvents: number;
  /** Events `publish()`ed once `stop()` had begun (by handlers of events still arriving): dropped. */
  stoppedDrops: number;
}

/** A handler of events by name; it receives the event's arguments. */
export type EventHandler<A extends unknown[] = unknown[]> = (...args: A) => unknown;

/** Receives the backend's warnings and errors (Zeek's reporter). */
export type Reporter = (level: "warning" | "error", message: string) => void;

/**
 * What a feature may use of its node.
 *
 * @example A feature that counts the nodes that came up
 * ```ts
 * import type { NodeBus, NodeFeature } from "./node-bus.ts";
 *
 * class UpCounter implements NodeFeature {
 *   count = 0;
 *   constructor(bus: NodeBus) {
 *     bus.on("Cluster::node_up", () => void this.count++);
 *   }
 *   start(): void {}
 *   stop(): void {}
 * }
 * console.log(typeof UpCounter); // "function"
 * ```
 */
export interface NodeBus {
  /** The node's name (Zeek's `Cluster::node`). */
  readonly name: string;
  /** The node's unique id (Zeek's `Cluster::node_id()`). */
  readonly id: string;
  /** The node's role, if it has one. */
  readonly type: NodeType | undefined;
  /** The node's configuration. */
  readonly config: ZeroMQConfig;
  /** The layout, when the node belongs to one. */
  readonly layout: ValidLayout | undefined;
  /** Calls `handler` with the arguments of every event named `name`; returns a function that removes it. */
  on<A extends unknown[]>(name: string, handler: EventHandler<A>): () => void;
  /** Raises an event locally: its handlers run now. */
  raise(name: string, args: unknown[]): void;
  /** Publishes an event to a topic; `false` when it had to wait in the local queue. */
  publish(topic: string, name: string, args: unknown[]): boolean;
  /** Subscribes to a topic prefix; works before the node starts. */
  subscribe(prefix: string): void;
  /** Whether a topic is subscribed somewhere in the cluster, as this node's XPUB has seen. */
  hasSubscription(topic: string): boolean;
  /** Reports a problem; with a `key`, a kind already reported (of the last 1,000 kinds) is not passed on again. */
  report(level: "warning" | "error", message: string, key?: string): void;
}

/**
 * A part of a node that is started after the node can publish and stopped before it closes.
 *
 * @example The smallest feature
 * ```ts
 * import type { NodeFeature } from "./node-bus.ts";
 *
 * const noop: NodeFeature = { start() {}, stop() {} };
 * console.log(typeof noop.start); // "function"
 * ```
 */
export interface NodeFeature {
  /** Starts what the feature runs (timers, servers, flushes). */
  start(): void | Promise<void>;
  /** Stops it; `graceMs` bounds waiting for what is in flight. */
  stop(graceMs: number): void | Promise<void>;
}
