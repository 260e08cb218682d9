/**
 * @module A node's subscriber connection to the broker's XPUB spoken by main itself (`xsubEngine:
 * "bun"`): ZMTP 3.0 on Bun's own socket, so the kernel wakes the main thread when events arrive, with
 * no libzmq thread and no I/O Worker on the way. It does what the node's libzmq XSUB does for it:
 * the handshake (NULL), its subscriptions (sent again on every new connection), `PING`s carrying
 * `heartbeatTtl`, reconnects, `maxMessageSize`, and the checks and counters of `_io-reader.ts`
 * (frame counts, topic lengths, its own events, `onloop_queue_hwm`). Not part of the public API.
 */

import { EventRecords } from "./_batch.ts";
import { bump, Counter, type SharedState, Slot } from "./_channel.ts";
import { MESSAGE_FRAMES, Notice } from "./_frames.ts";
import { XsubProblem } from "./_io-reader.ts";
import {
  Command,
  FrameFlag,
  FrameHeader,
  frame,
  Greeting,
  greeting,
  greetingProblem,
  Outbox,
  ping,
  pong,
  readCommand,
  readErrorReason,
  ready,
  readyProblem,
  type ZmtpAddress,
  zmtpAddress,
} from "./_zmtp.ts";
import type { ZeroMQConfig } from "./config.ts";

/** libzmq's `ZMQ_RECONNECT_IVL` default: how soon a lost connection is made again. */
const RECONNECT_MS = 100;
/** After a protocol error, at most one reconnect this often (as the worker's monitors do). */
const RECONNECT_AFTER_ERROR_MS = 1000;
/** libzmq's `ZMQ_HANDSHAKE_IVL` default. */
const HANDSHAKE_MS = 30_000;
/** Socket types a subscriber may talk to. */
const PUBLISHERS: ReadonlySet<string> = new Set(["XPUB", "PUB"]);

/** The options the connection follows. */
export type ZmtpXsubConfig = Pick<
  ZeroMQConfig,
  | "connectXsubEndpoint"
  | "maxTopicLength"
  | "maxMessageSize"
  | "onloopQueueHwm"
  | "xsubRcvhwm"
  | "heartbeatIvl"
  | "heartbeatTtl"
>;

/** Where the connection's results go. */
export interface ZmtpXsubSinks {
  /** Takes a batch of event records (its events already counted as waiting on main). */
  received(buffer: ArrayBuffer): void;
  /** Reports a problem once per key. */
  report(key: string, message: string): void;
  handshakeFailed(message: string): void;
}

type Connection = Bun.Socket<undefined>;

/** The node's subscriber connection, run by main. */
export class ZmtpXsub {
  readonly #c: ZmtpXsubConfig;
  readonly #state: SharedState;
  /** This node's id: its own events, which the broker echoes, are skipped. */
  readonly #id: Uint8Array;
  readonly #sinks: ZmtpXsubSinks;
  readonly #endpoint: string;
  readonly #address: ZmtpAddress;
  /** Subscriptions (prefix bytes as latin1 text) and how often each was made, as libzmq's XSUB keeps them. */
  readonly #subscriptions = new Map<string, number>();
  readonly #records = new EventRecords();
  #socket: Connection | undefined;
  #closed = false;
  #connecting = false;
  #greeted = false;
  #ready = false;
  #paused = false;
  /** Bytes not yet parsed: the start of a frame (or of the greeting). */
  #pending = new Uint8Array(0);
  #pendingLength = 0;
  /** Bytes the kernel did not take yet. */
  readonly #outbox = new Outbox();
  readonly #ping: Uint8Array;
  /** The frames of the message being read (the first four), and how many of them are our own copies. */
  readonly #frames: Uint8Array[] = [];
  #parts = 0;
  #copied = 0;
  #heartbeat: ReturnType<typeof setInterval> | undefined;
  #handshakeTimer: ReturnType<typeof setTimeout> | undefined;
  #reconnect: ReturnType<typeof setTimeout> | undefined;
  /** Why the connection is being closed by this side, if it is. */
  #protocolError = "";
  /** The protocol error that ended the last connection, reported once the next one is made. */
  #afterError = "";
  /** Events this connection handed to main. */
  delivered = 0;

  constructor(c: ZmtpXsubConfig, state: SharedState, id: Uint8Array, sinks: ZmtpXsubSinks) {
    const address = zmtpAddress(c.connectXsubEndpoint);
    if (!address) throw new RangeError(`xsubEngine "bun" cannot connect to ${JSON.stringify(c.connectXsubEndpoint)}`);
    [this.#c, this.#state, this.#id, this.#sinks] = [c, state, id, sinks];
    this.#endpoint = c.connectXsubEndpoint;
    this.#address = address;
    this.#ping = ping(c.heartbeatTtl);
  }

  /** Connects, and keeps connecting until {@linkcode close}. */
  start(): void {
    if (this.#closed || this.#socket || this.#connecting) return;
    this.#connecting = true;
    const handlers = {
      binaryType: "uint8array" as const,
      open: (s: Connection) => this.#open(s),
      data: (_: Connection, chunk: Uint8Array) => this.#data(chunk),
      drain: () => this.#socket && this.#outbox.flush(this.#socket),
      close: () => this.#lost(),
      // The broker closing its side (a heartbeat timeout, a restart) ends ours: no half-open connection.
      end: (s: Connection) => s.terminate(),
      error: () => this.#lost(),
    };
    const connecting =
      "unix" in this.#address
        ? Bun.connect({ unix: this.#address.unix, socket: handlers })
        : Bun.connect({ hostname: this.#address.hostname, port: this.#address.port, socket: handlers });
    connecting.then(
      (s) => {
        this.#connecting = false;
        if (this.#closed) s.terminate();
      },
      () => {
        this.#connecting = false;
        this.#again(RECONNECT_MS);
      },
    );
  }

  #open(s: Connection): void {
    this.#socket = s;
    bump(this.#state, Counter.XsubConnects);
    if (this.#afterError) {
      // As the worker's monitors say it of libzmq's XSUB (once per endpoint).
      const message = `XSUB: connected to ${this.#endpoint} again after a protocol error (${this.#afterError})`;
      this.#sinks.report(`reconnect-${this.#endpoint}`, message);
      this.#afterError = "";
    }
    this.#handshakeTimer = setTimeout(() => this.#fail("no handshake within 30 s"), HANDSHAKE_MS);
    this.#write(greeting());
  }

  /** Subscribes (`0x01prefix`) or unsubscribes (`0x00prefix`), as a node's XSUB does. */
  update(notice: Uint8Array): void {
    if (notice.length === 0) return;
    const key = Buffer.from(notice.buffer, notice.byteOffset + 1, notice.length - 1).toString("latin1");
    const count = this.#subscriptions.get(key) ?? 0;
    if (notice[0] === Notice.Subscribe) {
      this.#subscriptions.set(key, count + 1);
    } else {
      if (count === 0) return;
      if (count > 1) return void this.#subscriptions.set(key, count - 1);
      this.#subscriptions.delete(key);
    }
    if (!this.#ready) return;
    this.#write(frame(0, notice));
    this.#beat();
  }

  /** Reads again after main caught up (reading paused at `backpressureAt` with `onloopHwm` 0). */
  resume(): void {
    if (!this.#paused) return;
    this.#paused = false;
    this.#socket?.resume();
  }

  /** Closes the connection for good. */
  close(): void {
    this.#closed = true;
    clearTimeout(this.#reconnect);
    this.#socket?.terminate();
    this.#lost();
  }

  #write(bytes: Uint8Array): void {
    if (this.#socket) this.#outbox.write(this.#socket, bytes);
  }

  /** Ends the connection after a protocol error: connected again a second later, and reported then. */
  #fail(reason: string): void {
    this.#protocolError = reason;
    this.#socket?.terminate();
  }

  #lost(): void {
    const s = this.#socket;
    if (!s) return;
    this.#socket = undefined;
    bump(this.#state, Counter.XsubDisconnects);
    clearInterval(this.#heartbeat);
    clearTimeout(this.#handshakeTimer);
    this.#greeted = this.#ready = this.#paused = false;
    this.#pendingLength = this.#parts = this.#copied = 0;
    this.#outbox.clear();
    this.#again(this.#protocolError ? RECONNECT_AFTER_ERROR_MS : RECONNECT_MS);
    this.#afterError = this.#protocolError;
    this.#protocolError = "";
  }

  #again(ms: number): void {
    if (this.#closed) return;
    clearTimeout(this.#reconnect);
    this.#reconnect = setTimeout(() => this.start(), ms);
  }

  #data(chunk: Uint8Array): void {
    let buf = chunk;
    if (this.#pendingLength > 0) {
      this.#keep(chunk);
      buf = this.#pending.subarray(0, this.#pendingLength);
    }
    let at = 0;
    if (!this.#greeted) {
      if (buf.length < Greeting.Size) {
        if (buf === chunk) this.#keep(chunk);
        return;
      }
      if (!this.#greet(buf.subarray(0, Greeting.Size))) return;
      at = Greeting.Size;
    }
    at = this.#parse(buf, at);
    this.#handOver(); // what came before a protocol error was whole and checked
    if (this.#protocolError !== "" || !this.#socket) return;
    // A message cut short keeps its frames as copies: the bytes under them are reused.
    const kept = Math.min(this.#parts, MESSAGE_FRAMES);
    for (; this.#copied < kept; this.#copied++) this.#frames[this.#copied] = this.#frames[this.#copied]!.slice();
    const rest = buf.subarray(at);
    this.#pendingLength = 0;
    if (rest.length > 0) this.#keep(rest);
  }

  /** Appends `bytes` to the unparsed bytes (`bytes` may be a view of them: `set` copies overlaps right). */
  #keep(bytes: Uint8Array): void {
    const need = this.#pendingLength + bytes.length;
    if (need > this.#pending.length) {
      const grown = new Uint8Array(Math.max(need, 2 * this.#pending.length, 4096));
      grown.set(this.#pending.subarray(0, this.#pendingLength));
      this.#pending = grown;
    }
    this.#pending.set(bytes, this.#pendingLength);
    this.#pendingLength = need;
  }

  #greet(g: Uint8Array): boolean {
    const failed = greetingProblem(g);
    if (failed) return this.#handshakeFailed(failed);
    this.#greeted = true;
    this.#write(ready({ "Socket-Type": "XSUB" }));
    return true;
  }

  /** Parses whole frames of `buf` from `at`; returns where the first incomplete one starts. */
  #parse(buf: Uint8Array, at: number): number {
    const limit = this.#c.maxMessageSize;
    while (buf.length - at >= FrameHeader.Short) {
      const flags = buf[at]!;
      let size = buf[at + 1]!;
      let head: number = FrameHeader.Short;
      if (flags & FrameFlag.Long) {
        if (buf.length - at < FrameHeader.Long) break;
        // Sizes of 2 GiB or more fit no buffer here (and no sane limit): the high bytes must be 0.
        if (buf[at + 1]! | buf[at + 2]! | buf[at + 3]! | buf[at + 4]! | (buf[at + 5]! & 0x80)) {
          return this.#protocol(buf, "a frame of 2 GiB or more");
        }
        size = ((buf[at + 5]! << 24) | (buf[at + 6]! << 16) | (buf[at + 7]! << 8) | buf[at + 8]!) >>> 0;
        head = FrameHeader.Long;
      }
      if (flags & FrameFlag.Reserved) return this.#protocol(buf, "a frame with reserved flag bits set");
      if (limit >= 0 && size > limit) return this.#protocol(buf, `a frame of ${size} bytes, beyond maxMessageSize`);
      if (buf.length - at < head + size) break;
      const body = buf.subarray(at + head, at + head + size);
      at += head + size;
      if (flags & FrameFlag.Command) {
        // libzmq puts a PONG between the frames of a message when a PING comes in meanwhile.
        if (flags & FrameFlag.More) return this.#protocol(buf, "a command with the MORE flag");
        if (!this.#command(body)) return buf.length;
      } else if (!this.#ready) {
        return this.#protocol(buf, "a message before READY");
      } else {
        if (this.#parts < MESSAGE_FRAMES) this.#frames[this.#parts] = body;
        this.#parts++;
        if (!(flags & FrameFlag.More)) this.#message();
      }
    }
    return at;
  }

  #handshakeFailed(reason: string): false {
    this.#sinks.handshakeFailed(`ZeroMQ: Handshake for socket ${this.#endpoint} failed: ${reason}`);
    return this.#failed(reason);
  }

  /** Fails the connection; returns the end of `buf` (nothing more of it is parsed). */
  #protocol(buf: Uint8Array, reason: string): number {
    this.#fail(reason);
    return buf.length;
  }

  #failed(reason: string): false {
    this.#fail(reason);
    return false;
  }

  /** Handles a command; `false` if the connection ends. */
  #command(body: Uint8Array): boolean {
    const cmd = readCommand(body);
    if (!cmd) return this.#failed("a command cut short");
    if (!this.#ready) {
      const failed = readyProblem(cmd, PUBLISHERS);
      if (failed) return this.#handshakeFailed(failed);
      this.#connected();
    } else if (cmd.name === Command.Ping) {
      this.#write(pong(cmd.data));
      this.#beat();
    } else if (cmd.name === Command.Error) {
      return this.#failed(`the broker sent ERROR: ${readErrorReason(cmd.data)}`);
    }
    return true; // PONG and commands of later versions: nothing to do
  }

  #connected(): void {
    this.#ready = true;
    clearTimeout(this.#handshakeTimer);
    for (const [key, count] of this.#subscriptions) {
      if (count > 0) this.#write(frame(0, noticeBytes(key)));
    }
    if (this.#c.heartbeatIvl > 0) {
      this.#beat();
      this.#heartbeat = setInterval(() => this.#beat(), this.#c.heartbeatIvl);
      this.#heartbeat.unref();
    }
  }

  // libzmq arms its TTL timer on a PING and disarms it on any other input: so whatever this side
  // writes is followed by a PING, and the broker always has the timer running (libzmq's own XSUB does
  // not do this: a node stopped right after it subscribed is not found, see test/hung-node.test.ts).
  // A PING waits behind nothing: with bytes still queued the peer is not reading anyway.
  #beat(): void {
    if (this.#c.heartbeatIvl > 0 && this.#outbox.empty) this.#write(this.#ping);
  }

  /** One whole message: checked as `_io-reader.ts` checks the worker's, then kept for main. */
  #message(): void {
    const c = this.#c;
    const parts = this.#parts;
    const [topic, sender, format, payload] = this.#frames;
    this.#parts = this.#copied = 0;
    if (parts !== MESSAGE_FRAMES) return this.#malformed("xsub-parts", XsubProblem.parts(parts));
    if (topic!.length > c.maxTopicLength) return this.#malformed("xsub-topic", XsubProblem.topic(c.maxTopicLength));
    if (equal(sender!, this.#id)) return;
    const hwm = c.onloopQueueHwm;
    if (hwm > 0 && Atomics.load(this.#state.ints, Slot.OnloopDepth) + this.#records.events >= hwm) {
      bump(this.#state, Counter.OnloopDrops);
      return this.#sinks.report("onloop-drop", XsubProblem.onloopDrop);
    }
    this.#records.add(topic!, sender!, format!, payload!);
  }

  #malformed(key: string, message: string): void {
    bump(this.#state, Counter.MsgErrors);
    this.#sinks.report(key, message);
  }

  #handOver(): void {
    const events = this.#records.events;
    if (events === 0) return;
    const depth = Atomics.add(this.#state.ints, Slot.OnloopDepth, events) + events;
    this.delivered += events;
    this.#sinks.received(this.#records.take());
    // With onloopQueueHwm 0 nothing is dropped: reading stops at 10 × xsubRcvhwm waiting, as the worker's does.
    if (this.#c.onloopQueueHwm === 0 && depth >= 10 * this.#c.xsubRcvhwm && this.#socket && !this.#paused) {
      this.#paused = true;
      this.#socket.pause();
    }
  }
}

const noticeBytes = (key: string) => Buffer.concat([Buffer.of(Notice.Subscribe), Buffer.from(key, "latin1")]);

function equal(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
