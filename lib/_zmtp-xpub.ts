/**
 * @module A node's publisher connection to the broker's XSUB spoken by main itself (`xpubEngine:
 * "bun"`): ZMTP 3.0 on Bun's own socket (`_zmtp-connection.ts`). `publish()` frames Zeek's four frames
 * straight into one buffer that goes to the kernel in a single write per turn of the event loop: no
 * inproc PAIR, no I/O Worker, no libzmq thread. It does what the node's libzmq XPUB does for it: it
 * takes the broker's (un)subscriptions, passes every one up as `XPUB_VERBOSE` does, sends only what a
 * subscription matches, holds `xpubSndhwm` events beyond which BLOCK waits and DROP drops (counted),
 * and sends what waits within the linger at stop. Not part of the public API.
 */

import { bump, Counter, type SendResult, type SharedState } from "./_channel.ts";
import { within } from "./_deadline.ts";
import { Notice } from "./_frames.ts";
import { XpubProblem } from "./_io-reader.ts";
import { Command, FrameFlag, FrameHeader, putFrameHeader } from "./_zmtp.ts";
import { ZmtpConnection } from "./_zmtp-connection.ts";
import type { ZeroMQConfig } from "./config.ts";

/** The options the connection follows. */
export type ZmtpXpubConfig = Pick<
  ZeroMQConfig,
  "connectXpubEndpoint" | "maxTopicLength" | "maxMessageSize" | "xpubSndhwm" | "overflowPolicy"
>;

/** Where the connection's results go. */
export interface ZmtpXpubSinks {
  /** A subscription (`true`) or unsubscription the broker forwarded, topic bytes without the flag byte. */
  notice(subscribe: boolean, topic: Uint8Array): void;
  /** Reports a problem once per key. */
  report(key: string, message: string): void;
  handshakeFailed(message: string): void;
}

/** Socket types a publisher may talk to. */
const SUBSCRIBERS: ReadonlySet<string> = new Set(["XSUB", "SUB"]);
const INITIAL_BYTES = 64 * 1024;

/** The node's publisher connection, run by main. */
export class ZmtpXpub extends ZmtpConnection {
  readonly #c: ZmtpXpubConfig;
  readonly #state: SharedState;
  readonly #sinks: ZmtpXpubSinks;
  /** This node's id and its event format: frames 1 and 2 of every event. */
  readonly #sender: Uint8Array;
  readonly #format: Uint8Array;
  /** The broker's subscriptions (prefix bytes as latin1 text). */
  readonly #subscriptions = new Set<string>();
  /**
   * Whether a topic matches a subscription, by the topic's bytes (the node passes the same array for a
   * topic each time): `2 × generation + matched`, stale once the subscriptions change.
   */
  #matches = new WeakMap<Uint8Array, number>();
  #generation = 0;
  /** Events framed and not yet handed to the socket. */
  #batch = new Uint8Array(INITIAL_BYTES);
  #length = 0;
  #events = 0;
  #scheduled = false;
  /** The subscription message being read: its first frame (copied) and its frame count. */
  #first: Uint8Array | undefined;
  #parts = 0;
  #drained: (() => void)[] = [];
  /** Events dropped here (DROP at `xpubSndhwm`, or unsent when a connection ended): `xpub_drops`. */
  localDrops = 0;

  constructor(c: ZmtpXpubConfig, state: SharedState, sender: Uint8Array, format: Uint8Array, sinks: ZmtpXpubSinks) {
    super({
      endpoint: c.connectXpubEndpoint,
      socketType: "XPUB",
      peerTypes: SUBSCRIBERS,
      maxFrameSize: c.maxMessageSize,
      heartbeatIvl: 0, // the side that receives the bulk sends the PINGs (see heartbeatIvl)
      heartbeatTtl: 0,
      state,
      connects: Counter.XpubConnects,
      disconnects: Counter.XpubDisconnects,
      report: sinks.report,
      handshakeFailed: sinks.handshakeFailed,
    });
    [this.#c, this.#state, this.#sender, this.#format, this.#sinks] = [c, state, sender, format, sinks];
  }

  /** Events framed here or handed to the socket and not yet taken by the kernel. */
  get waiting(): number {
    return this.#events + this.outbox.waitingEvents;
  }

  /** Under DROP, whether the next event cannot be queued (it is then counted and not encoded). */
  full(): boolean {
    const hwm = this.#c.xpubSndhwm;
    if (this.#c.overflowPolicy !== "DROP" || hwm === 0 || this.waiting < hwm) return false;
    this.localDrops++;
    return true;
  }

  /**
   * Sends an event (`payload[0, length)`) if a subscription matches `topic` (else, as an XPUB does,
   * nothing). `"queued"`: `xpubSndhwm` events wait (BLOCK: await {@linkcode drain}), or `now` is
   * false (it waits for {@linkcode flush}); `"dropped"`: DROP at `xpubSndhwm`. The backend's own
   * events (`priority`) are never held back by the HWM.
   */
  publish(topic: Uint8Array, payload: Uint8Array, length: number, now: boolean, priority = false): SendResult {
    if (!this.#matched(topic)) return "sent";
    if (!priority && this.full()) return "dropped";
    const hwm = this.#c.xpubSndhwm;
    this.#add(topic, payload, length);
    if (!now) return "queued";
    if (!this.#scheduled) {
      this.#scheduled = true;
      queueMicrotask(this.#flushSoon);
    }
    if (priority || hwm === 0 || this.waiting < hwm) return "sent";
    bump(this.#state, Counter.XpubBlocks); // BLOCK: the caller waits for drain()
    return "queued";
  }

  readonly #flushSoon = (): void => {
    this.#scheduled = false;
    this.flush();
  };

  /** Hands what is framed to the socket in one write, unless the socket has not taken the last one yet. */
  flush(): void {
    if (this.#length === 0 || !this.ready || !this.outbox.empty) return;
    const bytes = this.#batch.subarray(0, this.#length);
    const events = this.#events;
    this.#length = this.#events = 0;
    this.write(bytes, events);
    // What the kernel did not take stays in the outbox as a view of this buffer: it is the outbox's now.
    if (!this.outbox.empty) this.#batch = new Uint8Array(Math.max(INITIAL_BYTES, bytes.length));
    if (this.waiting === 0) this.#resolveDrained();
  }

  /** Resolves once nothing waits here (or the connection ended). */
  drain(): Promise<void> {
    if (this.waiting === 0) return Promise.resolve();
    return new Promise((resolve) => this.#drained.push(resolve));
  }

  /** Sends what waits for up to `ms`, then closes; returns the events given up (counted in `xpub_drops`). */
  async closeWithin(ms: number): Promise<number> {
    this.flush();
    if (this.waiting > 0) await within(this.drain(), ms);
    const unsent = this.waiting;
    this.close(); // counts what the socket had not taken (onLost), if it was connected
    this.localDrops += this.#events + this.outbox.clear();
    this.#length = this.#events = 0;
    this.#resolveDrained();
    return unsent;
  }

  protected onReady(): void {
    this.flush(); // events framed while connecting (backend events)
  }

  protected override onDrained(): void {
    this.flush();
    if (this.waiting === 0) this.#resolveDrained();
  }

  // A ZMTP 3.1 peer sends its (un)subscriptions as commands.
  protected override onCommand(name: string, data: Uint8Array): void {
    if (name !== Command.Subscribe && name !== Command.Cancel) return;
    this.#first = new Uint8Array(data.length + 1);
    this.#first[0] = name === Command.Subscribe ? Notice.Subscribe : Notice.Unsubscribe;
    this.#first.set(data, 1);
    this.#parts = 1;
    this.#notice();
  }

  protected onFrame(buf: Uint8Array, start: number, end: number, more: boolean): void {
    if (this.#parts === 0) this.#first = buf.subarray(start, end);
    this.#parts++;
    if (!more) this.#notice();
  }

  protected onChunkEnd(): void {
    // A subscription cut short keeps its first frame as a copy: the bytes under it are reused.
    if (this.#parts > 0 && this.#first) this.#first = this.#first.slice();
  }

  protected onLost(unsent: number): void {
    // A connecting libzmq XPUB keeps its pipe, and the subscriptions and events in it, across
    // reconnects: so do the subscriptions and the events framed here. What the socket had taken is
    // lost with the connection (the first chunk may be cut): counted here, where libzmq would not.
    this.localDrops += unsent;
    this.#parts = 0;
    this.#first = undefined;
    if (this.waiting === 0) this.#resolveDrained();
  }

  #resolveDrained(): void {
    for (const resolve of this.#drained.splice(0)) resolve();
  }

  /** One message from the broker: a subscription, checked as `_io-reader.ts` checks the worker's. */
  #notice(): void {
    const [parts, first] = [this.#parts, this.#first!];
    this.#parts = 0;
    this.#first = undefined;
    if (parts !== 1) return this.#malformed("xpub-parts", XpubProblem.parts(parts));
    const max = this.#c.maxTopicLength;
    if (first.length > max + 1) return this.#malformed("xpub-topic", XpubProblem.subscription(max));
    if (first[0] !== Notice.Subscribe && first[0] !== Notice.Unsubscribe) return; // not one: ignored, as in Zeek
    const topic = first.subarray(1);
    const key = Buffer.from(topic.buffer, topic.byteOffset, topic.length).toString("latin1");
    // libzmq's XPUB keeps a set per peer (the broker is its one peer): a subscription made twice is
    // there once and passed up twice (verbose); an unsubscription is passed up if it removes one.
    if (first[0] === Notice.Subscribe) this.#subscriptions.add(key);
    else if (!this.#subscriptions.delete(key)) return;
    this.#generation++;
    this.#sinks.notice(first[0] === Notice.Subscribe, topic.slice());
  }

  #malformed(key: string, message: string): void {
    bump(this.#state, Counter.MsgErrors);
    this.#sinks.report(key, message);
  }

  #matched(topic: Uint8Array): boolean {
    const known = this.#matches.get(topic);
    if (known !== undefined && known >> 1 === this.#generation) return (known & 1) === 1;
    const key = Buffer.from(topic.buffer, topic.byteOffset, topic.length).toString("latin1");
    let matched = false;
    for (const prefix of this.#subscriptions) if ((matched = key.startsWith(prefix))) break;
    if (this.#generation >= 2 ** 29) [this.#matches, this.#generation] = [new WeakMap(), 0]; // stays a small integer
    this.#matches.set(topic, 2 * this.#generation + (matched ? 1 : 0));
    return matched;
  }

  /** Frames `[topic, sender, format, payload]` at the end of the batch. */
  #add(topic: Uint8Array, payload: Uint8Array, length: number): void {
    const need =
      this.#length + 4 * FrameHeader.Long + topic.length + this.#sender.length + this.#format.length + length;
    if (need > this.#batch.length) {
      const grown = new Uint8Array(Math.max(need, 2 * this.#batch.length));
      grown.set(this.#batch.subarray(0, this.#length));
      this.#batch = grown;
    }
    this.#frame(topic, topic.length, FrameFlag.More);
    this.#frame(this.#sender, this.#sender.length, FrameFlag.More);
    this.#frame(this.#format, this.#format.length, FrameFlag.More);
    this.#frame(payload, length, 0);
    this.#events++;
  }

  #frame(body: Uint8Array, length: number, more: number): void {
    const b = this.#batch;
    const at = putFrameHeader(b, this.#length, more, length);
    if (length < 64) for (let i = 0; i < length; i++) b[at + i] = body[i]!;
    else b.set(body.subarray(0, length), at);
    this.#length = at + length;
  }
}
