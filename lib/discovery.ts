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
 *
 * Unlike Zeek too, a peer's word alone does not end a node. Zeek ends a node that is up as soon as any
 * peer sends a hello with its name and a new id ("never said goodbye"). Here, while the old id's
 * node-id subscription is live, the new id waits as a contender and the old id is asked (a
 * `ZeroMQ::hello` to it: a node of this library answers with `Cluster::hello`, a Zeek node only warns).
 * The contender takes over as in Zeek when the old id's subscription goes, or when the old id does not
 * answer within `helloExpiration` (2 s at most) while the contender is subscribed (after a broker
 * restart, the subscription of a node that died meanwhile never goes). Hellos from ids that are not
 * subscribed end nothing and expire. The tables of unfinished handshakes are bounded (the oldest entry
 * goes, counted), and reports that peers can multiply are passed on once per `helloExpiration` as Zeek
 * words them, the others of the interval as one line with a count.
 */

import type { ValidLayout } from "./layout.ts";
import type { NodeBus, NodeFeature } from "./node-bus.ts";
import { EVENTS, nodeidTopic } from "./topics.ts";

/** How many ids each table of unfinished handshakes holds at least (twice the layout's nodes if more). */
export const MAX_PENDING = 1000;
/** The longest wait for the old id of a contested name to answer. */
const MAX_ASK_WAIT = 2000;

/**
 * A name that is up with `oldId` and claimed by `newId`, both subscribed: when the old id was last asked,
 * the wait for its answer, whether it answered, and whether the contender sent `Cluster::hello` already.
 */
interface Contest {
  oldId: string;
  newId: string;
  askedAt: number;
  timer: Timer | undefined;
  answered: boolean;
  clusterHello: boolean;
}

/**
 * Sizes of the handshake state: live node-id subscriptions of nodes not up yet (`waiting`), hellos
 * waiting for their sender's subscription (`hellos`), names claimed by a second id (`contested`), and
 * the entries dropped since the start because their table was full (`evicted`).
 */
export type PendingCounts = Readonly<Record<"waiting" | "hellos" | "contested" | "evicted", number>>;

type Digest = { note(item: string): void; flush(): void };
type Words = (item: string) => string;

/** Reports of one kind: the first of a quiet interval as it is, the rest at the interval's end in one line. */
function digest(pass: (message: string) => void, one: Words, many: (n: number, eg: string) => string): Digest {
  let count = 0;
  let examples: string[] = [];
  let quiet = false;
  return {
    note(item) {
      const shown = item.length > 100 ? `${item.slice(0, 100)}…` : item;
      if (!quiet) {
        quiet = true;
        return pass(one(shown));
      }
      if (count++ < 3) examples.push(shown);
    },
    flush() {
      if (count > 0) pass(many(count, examples.join(", ")));
      quiet = count > 0; // a flood goes on as one line per interval
      count = 0;
      examples = [];
    },
  };
}

/** The reports that peers can multiply, each as a {@linkcode digest}. */
function digests(node: NodeBus, max: number) {
  const last = `in the last ${node.config.helloExpiration / 1000} s (e.g.`;
  const warn = (message: string) => node.report("warning", message);
  const error = (message: string) => node.report("error", message);
  return {
    unexpected: digest(
      error,
      (name) => `Got Cluster::hello msg from unexpected node: ${name}`,
      (n, eg) => `Got Cluster::hello from ${n} more unexpected nodes ${last} ${eg})`,
    ),
    duplicate: digest(
      error,
      (name) => `Got Cluster::hello msg from duplicate node:${name}`,
      (n, eg) => `Got Cluster::hello from ${n} more duplicate nodes ${last} ${eg})`,
    ),
    stillUp: digest(
      warn,
      (what) => `node ${what} says hello with a new id, but its old id is subscribed and answers: it stays up`,
      (n, eg) => `${n} more hellos with new ids for nodes that stay up ${last} ${eg})`,
    ),
    expiredSub: digest(
      warn,
      (id) => `Expired subscription from nodeid ${id}`,
      (n, eg) => `Expired subscriptions from ${n} more nodeids ${last} ${eg})`,
    ),
    expiredHello: digest(
      warn,
      (id) => `Expired hello from nodeid ${id}`,
      (n, eg) => `Expired hellos from ${n} more nodeids ${last} ${eg})`,
    ),
    unknown: digest(
      warn,
      (id) => `unsubscription of unknown node with id '${id}'`,
      (n, eg) => `unsubscriptions of ${n} more unknown nodes ${last} ${eg})`,
    ),
    full: digest(
      warn,
      (id) => `more than ${max} unfinished handshakes: forgot nodeid ${id}`,
      (n, eg) => `more than ${max} unfinished handshakes: forgot ${n} more nodeids ${last} ${eg})`,
    ),
  };
}

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
 * console.log(manager.discovery!.pending.waiting); // 0: no handshake left unfinished
 * await worker.stop();
 * console.log(await down.promise); // "down worker-1"
 * await manager.stop();
 * ```
 */
export class Discovery implements NodeFeature {
  readonly #node: NodeBus;
  readonly #layout: ValidLayout;
  readonly #prefix: string;
  readonly #max: number;
  /** Peers whose node-id subscription is live and that are not up yet: id → when we last said hello. */
  readonly #waiting = new Map<string, { at: number; warned: boolean }>();
  /** ZeroMQ::hello received before the sender's subscription: id → when, and the name it gave. */
  readonly #hellos = new Map<string, { at: number; name: string }>();
  /** Nodes that are up: name → id (Zeek's `Cluster::nodes[name]$id`). */
  readonly #up = new Map<string, string>();
  /** Ids that are up and were warned about for saying hello twice. */
  readonly #twice = new Set<string>();
  /** Names that are up and claimed by a new id: name → the contest. */
  readonly #contests = new Map<string, Contest>();
  readonly #say: ReturnType<typeof digests>;
  #evicted = 0;
  #flushAt = 0;
  #timer: Timer | undefined;
  #stopped = false;

  /** Hooks the protocol into `node`'s events. */
  constructor(node: NodeBus, layout: ValidLayout) {
    this.#node = node;
    this.#layout = layout;
    this.#prefix = `${node.config.nodeidTopicPrefix}.`;
    this.#max = Math.max(MAX_PENDING, 2 * Object.keys(layout.nodes).length);
    this.#say = digests(node, this.#max);
    node.on(EVENTS.subscription, (topic: string) => this.#onSubscription(topic));
    node.on(EVENTS.unsubscription, (topic: string) => this.#onUnsubscription(topic));
    node.on(EVENTS.zeromqHello, (name: unknown, id: unknown) => this.#onZeromqHello(name, id));
    node.on(EVENTS.hello, (name: unknown, id: unknown) => this.#onClusterHello(name, id));
  }

  /** The nodes that are up, by name, with their ids. */
  get up(): ReadonlyMap<string, string> {
    return this.#up;
  }

  /** How much handshake state the node holds now: read-only counts, for tests and monitoring. */
  get pending(): PendingCounts {
    const [waiting, hellos, contested] = [this.#waiting.size, this.#hellos.size, this.#contests.size];
    return { waiting, hellos, contested, evicted: this.#evicted };
  }

  /** Starts the expiry sweep (the node can publish from now on). */
  start(): void {
    const every = Math.max(50, Math.floor(this.#node.config.helloExpiration / 4));
    this.#flushAt = performance.now() + this.#node.config.helloExpiration;
    this.#timer ??= setInterval(() => this.#sweep(), every).unref();
  }

  /** Stops the expiry sweep and the waits for answers; passes on the counts not reported yet. */
  stop(): void {
    this.#stopped = true; // nothing is asked from now on (events may still come while the node closes)
    clearInterval(this.#timer);
    this.#timer = undefined;
    for (const contest of this.#contests.values()) clearTimeout(contest.timer);
    this.#contests.clear();
    for (const kind of Object.values(this.#say)) kind.flush();
  }

  #topic(id: string): string {
    return nodeidTopic(id, this.#node.config.nodeidTopicPrefix);
  }

  #live(id: string): boolean {
    return this.#node.hasSubscription(this.#topic(id));
  }

  #idOf(topic: string): string | undefined {
    if (!topic.startsWith(this.#prefix) || !topic.endsWith(".")) return undefined;
    const id = topic.slice(this.#prefix.length, -1);
    return id === "" || id === this.#node.id ? undefined : id;
  }

  /** Sends `ZeroMQ::hello` or `Cluster::hello` with our name and id to `id`'s node-id topic. */
  #tell(id: string, event: string): void {
    this.#node.publish(this.#topic(id), event, [this.#node.name, this.#node.id]);
  }

  /** Adds to a table of unfinished handshakes; beyond its size the oldest entry goes. */
  #add<V>(table: Map<string, V>, id: string, value: V): void {
    table.set(id, value);
    if (table.size <= this.#max) return;
    const oldest = table.keys().next().value!;
    table.delete(oldest);
    this.#evicted++;
    this.#say.full.note(oldest);
  }

  #bad(event: string, level: "warning" | "error", args: unknown[]): void {
    this.#node.report(level, `${event} with bad arguments: ${JSON.stringify(args)}`, `${event}-args`);
  }

  #onSubscription(topic: string): void {
    const id = this.#idOf(topic);
    if (id === undefined) return;
    this.#tell(id, EVENTS.zeromqHello);
    if ([...this.#up.values()].includes(id)) return;
    this.#add(this.#waiting, id, { at: performance.now(), warned: false });
    const hello = this.#hellos.get(id);
    if (hello === undefined) return;
    this.#hellos.delete(id);
    this.#answer(hello.name, id);
  }

  #onZeromqHello(name: unknown, id: unknown): void {
    if (typeof name !== "string" || typeof id !== "string") return this.#bad("ZeroMQ::hello", "warning", [name, id]);
    if (this.#up.get(name) !== id) return this.#answer(name, id);
    this.#heard(name, id);
    if (!this.#twice.has(id)) this.#node.report("warning", `node '${name}' sends ZeroMQ::hello twice (id:${id})`);
    this.#twice.add(id);
    // It asks again because it never got our answer: answer again (Zeek returns here).
    this.#tell(id, EVENTS.hello);
  }

  /** A ZeroMQ::hello from `id`, which says it is `name` and is not up as that. */
  #answer(name: string, id: string): void {
    const known = this.#up.get(name);
    if (known !== undefined && known !== id) {
      // Zeek ends the old id here ("never said goodbye"); a live one is asked first.
      if (this.#live(known)) return this.#live(id) ? this.#contest(name, known, id, false) : this.#file(id, name);
      this.#goodbye(name, known, id);
    }
    // The live subscription set decides, not an expiring record: a late hello is still answered.
    if (this.#live(id)) this.#tell(id, EVENTS.hello);
    else this.#file(id, name);
  }

  /** Keeps a hello until its sender's subscription shows up, or it expires (from the first one on). */
  #file(id: string, name: string): void {
    const hello = this.#hellos.get(id);
    if (hello) hello.name = name;
    else this.#add(this.#hellos, id, { at: performance.now(), name });
  }

  #onClusterHello(name: unknown, id: unknown): void {
    if (typeof name !== "string" || typeof id !== "string") return this.#bad("Cluster::hello", "error", [name, id]);
    if (!Object.hasOwn(this.#layout.nodes, name)) {
      this.#waiting.delete(id); // its handshake is done, it just is no node of ours: stop asking
      return this.#say.unexpected.note(name);
    }
    const known = this.#up.get(name);
    if (known === id) return this.#heard(name, id);
    if (known !== undefined) {
      if (this.#live(known) && this.#live(id)) return this.#contest(name, known, id, true);
      return this.#say.duplicate.note(name);
    }
    this.#up.set(name, id);
    this.#waiting.delete(id);
    this.#node.raise(EVENTS.nodeUp, [name, id]);
  }

  /** `newId` claims `name`, up as `oldId`, both subscribed: `oldId` is asked, once per helloExpiration at most. */
  #contest(name: string, oldId: string, newId: string, clusterHello: boolean): void {
    let contest = this.#contests.get(name);
    if (contest?.oldId !== oldId) {
      this.#drop(name);
      contest = { oldId, newId, askedAt: Number.NEGATIVE_INFINITY, timer: undefined, answered: false, clusterHello };
      this.#contests.set(name, contest);
    }
    if (contest.newId !== newId) Object.assign(contest, { newId, clusterHello: false });
    contest.clusterHello ||= clusterHello;
    const [now, expiration] = [performance.now(), this.#node.config.helloExpiration];
    if (this.#stopped || contest.timer !== undefined || now - contest.askedAt < expiration) return;
    const asked = Object.assign(contest, { askedAt: now, answered: false });
    asked.timer = setTimeout(() => this.#decide(name, asked), Math.min(expiration, MAX_ASK_WAIT)).unref();
    this.#tell(oldId, EVENTS.zeromqHello); // our nodes answer with Cluster::hello; Zeek only warns "twice"
  }

  /** Word from `id`, up as `name`: if it was asked, it answered, and the contender waits on. */
  #heard(name: string, id: string): void {
    const contest = this.#contests.get(name);
    if (contest?.oldId !== id || contest.timer === undefined) return;
    clearTimeout(contest.timer);
    Object.assign(contest, { timer: undefined, answered: true });
    this.#say.stillUp.note(`'${name}' (old id:${id} new id:${contest.newId})`);
  }

  /** The old id did not answer: the contender takes over if its subscription is still live. */
  #decide(name: string, contest: Contest): void {
    contest.timer = undefined;
    if (this.#contests.get(name) !== contest || contest.answered) return;
    this.#contests.delete(name);
    if (this.#up.get(name) !== contest.oldId || !this.#live(contest.newId)) return;
    this.#goodbye(name, contest.oldId, contest.newId);
    this.#admit(name, contest);
  }

  /** The contender of `name` goes on where Zeek would have: answered, and up if it said Cluster::hello. */
  #admit(name: string, contest: Contest): void {
    this.#tell(contest.newId, EVENTS.hello);
    if (contest.clusterHello) this.#onClusterHello(name, contest.newId);
  }

  #drop(name: string): void {
    clearTimeout(this.#contests.get(name)?.timer);
    this.#contests.delete(name);
  }

  #goodbye(name: string, oldId: string, newId: string): void {
    this.#node.report("warning", `node '${name}' never said goodbye (old id:${oldId} new id:${newId})`);
    this.#drop(name);
    this.#down(name, oldId);
  }

  #down(name: string, id: string): void {
    this.#up.delete(name);
    this.#twice.delete(id);
    this.#node.raise(EVENTS.nodeDown, [name, id]);
  }

  #onUnsubscription(topic: string): void {
    const id = this.#idOf(topic);
    if (id === undefined) return;
    // A node that stops in the middle of its handshake (stopped right after it started) is known,
    // only not up yet: it leaves without a warning.
    const halfway = this.#waiting.delete(id) || this.#hellos.has(id);
    this.#hellos.delete(id);
    for (const [contested, contest] of this.#contests) if (contest.newId === id) this.#drop(contested);
    const name = [...this.#up].find(([, upId]) => upId === id)?.[0];
    if (name === undefined) return halfway ? undefined : this.#say.unknown.note(id);
    const contest = this.#contests.get(name);
    this.#drop(name);
    this.#down(name, id);
    if (contest?.oldId === id && this.#live(contest.newId)) this.#admit(name, contest);
  }

  #sweep(): void {
    const now = performance.now();
    const expiration = this.#node.config.helloExpiration;
    for (const [id, waiting] of this.#waiting) {
      if (now - waiting.at < expiration) continue;
      if (!waiting.warned) this.#say.expiredSub.note(id);
      Object.assign(waiting, { at: now, warned: true });
      this.#tell(id, EVENTS.zeromqHello); // ask again: a hello or its answer may have been lost under overload
    }
    for (const [id, hello] of this.#hellos) {
      if (now - hello.at < expiration) break; // in the order they came
      this.#say.expiredHello.note(id);
      this.#hellos.delete(id); // its subscription will bring it back through the normal path
    }
    if (now < this.#flushAt) return;
    this.#flushAt = now + expiration;
    for (const kind of Object.values(this.#say)) kind.flush();
  }
}
