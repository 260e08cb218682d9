/**
 * @module Private: what a node's `/readyz` says. A node is ready when it has started (the broker
 * echoed its ready handshake, its features run) and its XPUB and XSUB are connected to the broker
 * now, as their socket monitors count connections made and ended. Subscriptions cannot tell: a
 * connecting XPUB keeps the subscriptions of a broker that died, since libzmq keeps its pipe for the
 * reconnect.
 */

import type { Readiness } from "./metrics-server.ts";
import type { NodeBus, NodeStats } from "./node-bus.ts";
import { EVENTS } from "./topics.ts";

/** Where a node is, as its own events tell: `zeek_init` once started, `zeek_done` once stopping. */
type Phase = "starting" | "running" | "stopping";

/**
 * Follows one node's life through its bus and answers whether it can publish now.
 *
 * @example A node that has not started is not ready
 * ```ts
 * import { NodeReadiness } from "./_readiness.ts";
 * import { ClusterNode } from "./pubsub.ts";
 *
 * const node = new ClusterNode({ name: "worker-1", connectXpubEndpoint: "ipc:///tmp/nobody-here" });
 * const readiness = new NodeReadiness(node, () => node.stats());
 * console.log(readiness.now().ready, readiness.now().state); // false "starting"
 * ```
 */
export class NodeReadiness {
  readonly #node: NodeBus;
  readonly #stats: () => NodeStats;
  #phase: Phase = "starting";

  /** @param node The node's bus. @param stats Its counters: connections of its XPUB and XSUB made and ended. */
  constructor(node: NodeBus, stats: () => NodeStats) {
    this.#node = node;
    this.#stats = stats;
    node.on(EVENTS.zeekInit, () => void (this.#phase = "running"));
    node.on(EVENTS.zeekDone, () => void (this.#phase = "stopping"));
  }

  /** Ready or not, and why not. */
  now(): Readiness {
    const c = this.#node.config;
    const broker = `the broker (${c.connectXpubEndpoint} / ${c.connectXsubEndpoint})`;
    if (this.#phase === "starting")
      return { ready: false, state: "starting", reason: `waiting for ${broker} to echo a subscription of this node` };
    if (this.#phase === "stopping") return { ready: false, state: "stopping", reason: "the node is stopping" };
    const s = this.#stats();
    // inproc connections have no monitor events: such a node counts as connected once started.
    const down = [
      ["XPUB", c.connectXpubEndpoint, s.xpubConnects, s.xpubDisconnects] as const,
      ["XSUB", c.connectXsubEndpoint, s.xsubConnects, s.xsubDisconnects] as const,
    ].filter(([, endpoint, made, ended]) => !endpoint.startsWith("inproc:") && made <= ended);
    if (down.length > 0) {
      const which = down.map(([socket, endpoint, , ended]) => `${socket} to ${endpoint} (${ended} disconnects)`);
      return { ready: false, state: "running", reason: `no connection to the broker: ${which.join(", ")}` };
    }
    return { ready: true, state: "running" };
  }
}
