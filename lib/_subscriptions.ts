/**
 * @module The cluster's subscriptions as a node's XPUB sees them (`0x01topic` / `0x00topic`), as Zeek
 * tracks them: `Cluster::Backend::ZeroMQ::subscription(topic)` is raised the first time a topic is
 * seen, `…::unsubscription(topic)` when its last subscriber goes. A node waits here for the echo of a
 * subscription of its own (Zeek's "ready to publish" handshake). Not part of the public API.
 */

import { EVENTS } from "./topics.ts";

/**
 * The topics subscribed somewhere in the cluster.
 *
 * @example A subscription seen twice is raised once
 * ```ts
 * import { SeenTopics } from "./_subscriptions.ts";
 *
 * const raised: string[] = [];
 * const seen = new SeenTopics((name, args) => raised.push(`${name} ${args[0]}`));
 * seen.notice(true, "zeek.cluster.worker");
 * seen.notice(true, "zeek.cluster.worker");
 * console.log(raised.length, seen.has("zeek.cluster.worker")); // 1 true
 * ```
 */
export class SeenTopics {
  readonly #topics = new Set<string>();
  readonly #waiters = new Map<string, () => void>();
  readonly #raise: (name: string, args: unknown[]) => void;

  /** @param raise Raises the subscription events on the node. */
  constructor(raise: (name: string, args: unknown[]) => void) {
    this.#raise = raise;
  }

  /** Whether `topic` is subscribed somewhere in the cluster. */
  has(topic: string): boolean {
    return this.#topics.has(topic);
  }

  /** A notice from the XPUB: `subscribe` true for `0x01`, false for `0x00`. */
  notice(subscribe: boolean, topic: string): void {
    if (subscribe) {
      this.#waiters.get(topic)?.();
      if (this.#topics.has(topic)) return; // Zeek raises the event the first time a topic is seen
      this.#topics.add(topic);
      this.#raise(EVENTS.subscription, [topic]);
    } else {
      this.#topics.delete(topic);
      this.#raise(EVENTS.unsubscription, [topic]);
    }
  }

  /** Resolves when a subscription to `topic` is seen; `cancel()` stops waiting. */
  echo(topic: string): { promise: Promise<void>; cancel: () => void } {
    const promise = new Promise<void>((resolve) => this.#waiters.set(topic, resolve));
    return { promise, cancel: () => this.#waiters.delete(topic) };
  }
}
