/**
 * @module Pools, as in Zeek's cluster framework: the nodes of one type, with membership tracked through
 * node_up and node_down. `publishHrw` sends an event to the member a key maps to by highest random
 * weight (rendezvous hashing: a key stays on its node until that node goes away, and only the keys of
 * a departed node move); `publishRr` sends to each member in turn.
 */

import type { NodeType } from "./layout.ts";
import type { NodeBus } from "./node-bus.ts";
import { EVENTS, nodeTopic } from "./topics.ts";

/** What a pool needs of its node: the bus, and which nodes are up already (a `ClusterNode` is one). */
export type PoolNode = NodeBus & { readonly discovery?: { readonly up: ReadonlyMap<string, string> } | undefined };

const encoder = new TextEncoder();

/** The weight of `member` for `key`: a 64-bit hash of both, the same in every process. */
function weight(key: string, member: string): bigint {
  return BigInt(Bun.hash.wyhash(encoder.encode(`${key}\0${member}`), 0n));
}

/**
 * A pool of one node type.
 *
 * @example Sharding by key across the proxies (Zeek's `Cluster::publish_hrw(Cluster::proxy_pool, …)`)
 * ```ts
 * import { ClusterNode, Pool } from "zeek-zmq-cluster";
 *
 * const layout = {
 *   nodes: {
 *     manager: { type: "manager", ip: "127.0.0.1", port: 27762 },
 *     "proxy-1": { type: "proxy", ip: "127.0.0.1" },
 *     "proxy-2": { type: "proxy", ip: "127.0.0.1" },
 *   },
 * } as const;
 * const any = "tcp://127.0.0.1:*"; // free ports
 * const manager = new ClusterNode({ name: "manager", layout, listenXsubEndpoint: any, listenXpubEndpoint: any, listenLogEndpoint: any });
 * const proxies = new Pool(manager, "proxy");
 * const bothUp = new Promise<void>((resolve) => manager.on("Cluster::node_up", () => proxies.alive.length === 2 && resolve()));
 * await manager.start();
 * const { xsub, xpub } = manager.broker!.endpoints!;
 * const observed = Promise.withResolvers<string>();
 * const nodes = ["proxy-1", "proxy-2"].map((name) => {
 *   const node = new ClusterNode({ name, layout, connectXpubEndpoint: xsub, connectXsubEndpoint: xpub, connectLogEndpoints: [manager.logEndpoint] });
 *   node.on("observe", () => observed.resolve(name));
 *   return node;
 * });
 * await Promise.all(nodes.map((node) => node.start()));
 * await bothUp;
 * proxies.publishHrw("10.0.0.1", "observe", ["10.0.0.1"]);
 * console.log((await observed.promise) === proxies.hrw("10.0.0.1")); // true: the key's proxy got it
 * await Promise.all(nodes.map((node) => node.stop()));
 * await manager.stop();
 * ```
 */
export class Pool {
  /** The node type of the members. */
  readonly type: NodeType;
  readonly #node: PoolNode;
  readonly #members: readonly string[];
  readonly #alive = new Set<string>();
  #next = 0;

  /**
   * @param node The node that publishes; its layout defines the members.
   * @param type The node type whose nodes are the members.
   */
  constructor(node: PoolNode, type: NodeType) {
    if (!node.layout) throw new TypeError("Cannot make a pool: the node has no layout");
    this.#node = node;
    this.type = type;
    const layout = node.layout;
    this.#members = Object.keys(layout.nodes)
      .filter((n) => layout.nodes[n]!.type === type)
      .sort();
    if (this.#members.includes(node.name)) this.#alive.add(node.name);
    for (const name of node.discovery?.up.keys() ?? []) if (this.#members.includes(name)) this.#alive.add(name);
    node.on(EVENTS.nodeUp, (name: string) => this.#members.includes(name) && this.#alive.add(name));
    node.on(EVENTS.nodeDown, (name: string) => this.#alive.delete(name));
  }

  /** Every member of the layout, alive or not. */
  get members(): readonly string[] {
    return this.#members;
  }

  /** The members that are up (and this node, if it is a member), sorted. */
  get alive(): string[] {
    return this.#members.filter((m) => this.#alive.has(m));
  }

  /** The member `key` maps to by highest random weight, or `undefined` if none is alive. */
  hrw(key: string | number | bigint): string | undefined {
    const k = String(key);
    let best: string | undefined;
    let bestWeight = -1n;
    for (const member of this.#alive) {
      const w = weight(k, member);
      if (w > bestWeight || (w === bestWeight && member < best!)) [best, bestWeight] = [member, w];
    }
    return best;
  }

  /** The next member in round-robin order, or `undefined` if none is alive. */
  rr(): string | undefined {
    const alive = this.alive;
    if (alive.length === 0) return undefined;
    return alive[this.#next++ % alive.length];
  }

  /** Publishes to the member `key` maps to (raised here if that is this node). `false` if no member is alive. */
  publishHrw(key: string | number | bigint, event: string, args: unknown[] = []): boolean {
    return this.#publishTo(this.hrw(key), event, args);
  }

  /** Publishes to the next member in turn (raised here if that is this node). `false` if no member is alive. */
  publishRr(event: string, args: unknown[] = []): boolean {
    return this.#publishTo(this.rr(), event, args);
  }

  #publishTo(member: string | undefined, event: string, args: unknown[]): boolean {
    if (member === undefined) return false;
    // A node never receives its own messages, so an event for this node is raised right here.
    if (member === this.#node.name) this.#node.raise(event, args);
    else this.#node.publish(nodeTopic(member, this.#node.config.nodeTopicPrefix), event, args);
    return true;
  }
}
