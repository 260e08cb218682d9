/**
 * @module Zeek's hello protocol: nodes learn about each other from the node-id subscriptions their XPUB
 * sees, exchange `Cluster::Backend::ZeroMQ::hello(name, id)`, and once a node has both seen a peer's
 * subscription and heard its hello it sends `Cluster::hello(name, id)`, which raises
 * `Cluster::node_up(name, id)` on the peer. An unsubscription of a node-id topic (a clean stop or a
 * dead process) raises `Cluster::node_down(name, id)`.
 *
 * Unlike Zeek, a half-finished handshake does not leave a pair without node_up forever. Zeek forgets
 * an expired subscription and then ignores the peer's late hello. Here the live subscription set is
 * the truth, so a late hello is still answered; every `helloExpiration` without node_up the hello is
 * sent again (with Zeek's warning, once); and a node that hears a repeated hello from a peer it already
 * knows answers with `Cluster::hello` again, in case that reply was what got lost.
 */

import type { ValidLayout } from "./layout.ts";
import type { NodeBus, NodeFeature } from "./node-bus.ts";
import { EVENTS, nodeidTopic } from "./topics.ts";

/**
 * The discovery state of one node. Created by {@linkcode ClusterNode} for nodes of a layout.
 *
 * @example Watching nodes come and go
 * ```ts
 * import { ClusterNode } from "./pubsub.ts";
 *
 * const layout = {
 *   nodes: { manager: { type: "manager", ip: "127.0.0.1", port: 27762 }, "worker-1": { type: "worker", ip: "127.0.0.1" } },
 * } as const;
 * const any = "tcp://127.0.0.1:*"; // free ports
 * const manager = new ClusterNode({ name: "manager", layout, listenXsubEndpoint: any, listenXpubEndpoint: any, listenLogEndpoint: any });
 * const up = Promise.withResolvers<string>();
 * const down = Promise.withResolvers<string>();
 * manager.on("Cluster::node_up", (name: string, id: string) => up.resolve(`up ${name} ${id}`));
 * manager.on("Cluster::node_down", (name: string) => down.resolve(`down ${name}`));
 * await manager.start();
 * const { xsub, xpub } = manager.broker!.endpoints!;
 * const worker = new ClusterNode({ name: "worker-1", layout, connectXpubEndpoint: xsub, connectXsubEndpoint: xpub, connectLogEndpoints: [manager.logEndpoint] });
 * await worker.start();
 * console.log((await up.promise) === `up worker-1 ${worker.id}`); // true
 * console.log(manager.discovery!.up.get("worker-1") === worker.id); // true: the nodes that are up, by name
 * await worker.stop();
 * console.log(await down.promise); // "down worker-1"
 * await manager.stop();
 * ```
 */
export class Discovery implements NodeFeature {
  readonly #node: NodeBus;
  readonly #layout: ValidLayout;
  readonly #prefix: string;
  /** Peers whose node-id subscription is live and that are not up yet: id → when we last said hello. */
  readonly #waiting = new Map<string, number>();
  /** ZeroMQ::hello received before the sender's subscription: id → when. */
  readonly #hellos = new Map<string, number>();
  /** Nodes that are up: name → id (Zeek's `Cluster::nodes[name]$id`). */
  readonly #up = new Map<string, string>();
  #timer: Timer | undefined;

  /** Hooks the protocol into `node`'s events. */
  constructor(node: NodeBus, layout: ValidLayout) {
    this.#node = node;
    this.#layout = layout;
    this.#prefix = `${node.config.nodeidTopicPrefix}.`;
    node.on(EVENTS.subscription, (topic: string) => this.#onSubscription(topic));
    node.on(EVENTS.unsubscription, (topic: string) => this.#onUnsubscription(topic));
    node.on(EVENTS.zeromqHello, (name: unknown, id: unknown) => this.#onZeromqHello(name, id));
    node.on(EVENTS.hello, (name: unknown, id: unknown) => this.#onClusterHello(name, id));
  }

  /** The nodes that are up, by name, with their ids. */
  get up(): ReadonlyMap<string, string> {
    return this.#up;
  }

  /** Starts the expiry sweep (the node can publish from now on). */
  start(): void {
    const every = Math.max(50, Math.floor(this.#node.config.helloExpiration / 4));
    this.#timer ??= setInterval(() => this.#sweep(), every).unref();
  }

  /** Stops the expiry sweep. */
  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  #topic(id: string): string {
    return nodeidTopic(id, this.#node.config.nodeidTopicPrefix);
  }

  #idOf(topic: string): string | undefined {
    if (!topic.startsWith(this.#prefix) || !topic.endsWith(".")) return undefined;
    const id = topic.slice(this.#prefix.length, -1);
    return id === "" || id === this.#node.id ? undefined : id;
  }

  #sayHello(id: string): void {
    this.#node.publish(this.#topic(id), EVENTS.zeromqHello, [this.#node.name, this.#node.id]);
  }

  #sayClusterHello(id: string): void {
    this.#node.publish(this.#topic(id), EVENTS.hello, [this.#node.name, this.#node.id]);
  }

  #onSubscription(topic: string): void {
    const id = this.#idOf(topic);
    if (id === undefined) return;
    this.#sayHello(id);
    if ([...this.#up.values()].includes(id)) return;
    this.#waiting.set(id, performance.now());
    if (this.#hellos.delete(id)) this.#sayClusterHello(id);
  }

  #onZeromqHello(name: unknown, id: unknown): void {
    if (typeof name !== "string" || typeof id !== "string") {
      return this.#node.report(
        "warning",
        `ZeroMQ::hello with bad arguments: ${JSON.stringify([name, id])}`,
        "hello-args",
      );
    }
    const known = this.#up.get(name);
    if (known === id) {
      this.#node.report("warning", `node '${name}' sends ZeroMQ::hello twice (id:${id})`, `twice-${id}`);
      // It asks again because it never got our answer: answer again (Zeek returns here).
      return this.#sayClusterHello(id);
    }
    if (known !== undefined) {
      this.#node.report("warning", `node '${name}' never said goodbye (old id:${known} new id:${id})`);
      this.#up.delete(name);
      this.#node.raise(EVENTS.nodeDown, [name, known]);
    }
    // The live subscription set decides, not an expiring record: a late hello is still answered.
    if (this.#node.hasSubscription(this.#topic(id))) this.#sayClusterHello(id);
    else this.#hellos.set(id, performance.now());
  }

  #onClusterHello(name: unknown, id: unknown): void {
    if (typeof name !== "string" || typeof id !== "string") {
      return this.#node.report(
        "error",
        `Cluster::hello with bad arguments: ${JSON.stringify([name, id])}`,
        "cluster-hello-args",
      );
    }
    if (!(name in this.#layout.nodes)) {
      return this.#node.report("error", `Got Cluster::hello msg from unexpected node: ${name}`, `unexpected-${name}`);
    }
    const known = this.#up.get(name);
    if (known === id) return;
    if (known !== undefined) return this.#node.report("error", `Got Cluster::hello msg from duplicate node:${name}`);
    this.#up.set(name, id);
    this.#waiting.delete(id);
    this.#node.raise(EVENTS.nodeUp, [name, id]);
  }

  #onUnsubscription(topic: string): void {
    const id = this.#idOf(topic);
    if (id === undefined) return;
    this.#waiting.delete(id);
    this.#hellos.delete(id);
    const name = [...this.#up].find(([, upId]) => upId === id)?.[0];
    if (name === undefined) {
      return this.#node.report("warning", `unsubscription of unknown node with id '${id}'`);
    }
    this.#up.delete(name);
    this.#node.raise(EVENTS.nodeDown, [name, id]);
  }

  #sweep(): void {
    const now = performance.now();
    const expiration = this.#node.config.helloExpiration;
    for (const [id, at] of this.#waiting) {
      if (now - at < expiration) continue;
      this.#node.report("warning", `Expired subscription from nodeid ${id}`, `expired-subscription-${id}`);
      this.#waiting.set(id, now);
      this.#sayHello(id); // ask again: a hello or its answer may have been dropped under overload
    }
    for (const [id, at] of this.#hellos) {
      if (now - at < expiration) continue;
      this.#node.report("warning", `Expired hello from nodeid ${id}`, `expired-hello-${id}`);
      this.#hellos.delete(id); // its subscription will bring it back through the normal path
    }
  }
}
