/**
 * @module The channel between a node's main thread and its I/O Worker, shared by both sides: how
 * control messages are tagged on the inproc PAIRs, where the shared counters live, and how the
 * worker packs received messages into one transferable batch. Not part of the public API.
 */

import { type ContextHandle, type Message, NativeBuffer } from "./zmq.ts";

/** Control PAIR (main → worker), 2 frames `[tag, payload]`. */
export const CTRL_XSUB_UPDATE = 0; // payload: 0x01topic or 0x00topic, sent on the XSUB
/** Control PAIR: stop now, dropping anything still pending (the graceful stop is a data message). */
export const CTRL_ABORT = 1;
/** Control PAIR: read what the PULL socket holds, close it, then post `pull-closed`. */
export const CTRL_CLOSE_PULL = 2;

/**
 * Data PAIR (main → worker): one frame, either a batch of publishes (it starts with
 * {@linkcode PUBLISH_BATCH}; see `outbox.ts`) or this. Log PAIR: 3 frames `[u32 records, u32 seq
 * (little-endian; 0 when the writer wants no acknowledgment), format, payload]`.
 */
export const DATA_TERMINATE = "terminate";
/** The first byte of a batch of publishes on the data PAIR. */
export const PUBLISH_BATCH = 0xb1;
/**
 * Batches each end of the data PAIR holds (libzmq adds both ends' HWMs for inproc): enough for the
 * worker to keep the XPUB busy while main is off the CPU for a few ms, little enough (about 1 MiB) that
 * BLOCK pushes back on the publisher soon.
 */
export const DATA_PAIR_HWM = 16;

/**
 * Int32 slots of the shared state. `OnloopDepth`: events handed to the main thread and not yet
 * processed (the onloop queue). `WantDrain`: set by main when its data PAIR was full; the worker posts
 * `drain` once it has read from it. `LogDepth` and `LogWantDrain`: the same for log batches.
 */
export const Slot = { OnloopDepth: 0, WantDrain: 1, LogDepth: 2, LogWantDrain: 3 } as const;
const INT_SLOTS = 4;

/** 64-bit counters of the shared state, written by the worker. */
export const Counter = { XpubDrops: 0, XpubBlocks: 1, OnloopDrops: 2, MsgErrors: 3, LogBlocks: 4 } as const;
/** A counter index. */
export type Counter = (typeof Counter)[keyof typeof Counter];
const COUNTERS = 8;

/** The state both threads see: small integer slots and 64-bit counters. */
export interface SharedState {
  /** Int32 slots, indexed by {@linkcode Slot}. */
  ints: Int32Array;
  /** Counters, indexed by {@linkcode Counter}. */
  counters: BigInt64Array;
}

/** Allocates the shared state; the buffer is posted to the worker. */
export function createSharedState(buffer: SharedArrayBuffer = new SharedArrayBuffer(INT_SLOTS * 4 + COUNTERS * 8)): SharedState {
  return { ints: new Int32Array(buffer, 0, INT_SLOTS), counters: new BigInt64Array(buffer, INT_SLOTS * 4, COUNTERS) };
}

/** Adds to a counter (worker side). */
export function bump(state: SharedState, counter: Counter, by = 1): void {
  Atomics.add(state.counters, counter, BigInt(by));
}

/** Reads a counter as a number. */
export function readCounter(state: SharedState, counter: Counter): number {
  return Number(Atomics.load(state.counters, counter));
}

/** What main posts to start the worker. */
export interface IoWorkerStart {
  context: ContextHandle;
  shared: SharedArrayBuffer;
  /** inproc endpoints of the data, log and control PAIRs, bound by main. */
  dataEndpoint: string;
  logEndpoint: string;
  controlEndpoint: string;
  nodeId: string;
  /** The name of the event format, sent as every publish's third frame. */
  format: string;
  xpubEndpoint: string;
  xsubEndpoint: string;
  /** Logger endpoints the PUSH socket connects to (none: no PUSH socket). */
  logConnect: readonly string[];
  /** Where the PULL socket binds (empty: no PULL socket). */
  logListen: string;
  logOverflowPolicy: "BLOCK" | "DROP";
  socketOptions: {
    logSndhwm: number;
    logRcvhwm: number;
    logSndbuf: number;
    logRcvbuf: number;
    logImmediate: boolean;
    lingerMs: number;
    xpubSndhwm: number;
    xpubSndbuf: number;
    xsubRcvhwm: number;
    xsubRcvbuf: number;
    xpubNodrop: boolean;
  };
  /** CURVE client keys, or undefined for plain connections. */
  curve: { serverKey: string; publicKey: string; secretKey: string } | undefined;
  /** CURVE server secret key for the PULL socket, or empty. */
  curveServerKey: string;
  overflowPolicy: "BLOCK" | "DROP";
  onloopQueueHwm: number;
  /** Where to stop reading the XSUB when `onloopQueueHwm` is 0 (never drop), so memory stays bounded. */
  onloopBackpressureAt: number;
  pollMaxMessages: number;
  debug: boolean;
}

/**
 * What the worker posts to main. `closed`: its sockets are closed; main then closes its own and posts
 * {@linkcode TERMINATE_CONTEXT}, and the worker answers `terminated` once lingering messages are out.
 */
export type IoWorkerEvent =
  | { type: "ready"; logListen: string }
  | { type: "batch"; buffer: ArrayBuffer; events: number; logs: number }
  | { type: "drain" }
  | { type: "log-drain" }
  | { type: "log-dropped"; batches: [seq: number, records: number][] }
  | { type: "pull-closed" }
  | { type: "report"; key: string; message: string }
  | { type: "handshake-failed"; message: string }
  | { type: "closed" }
  | { type: "terminated" }
  | { type: "failed"; message: string };

/** Posted by main after `closed`: terminate the context (waiting for linger) off the main thread. */
export const TERMINATE_CONTEXT = "terminate-context";

/**
 * Record kinds in a batch. `Event`: 4 frames from the XSUB, `[topic, sender, format, payload]`, which
 * count in the onloop queue. `Notice`: 1 frame from the XPUB, `0x01topic` or `0x00topic`, which bypasses
 * the queue limit. `Log`: 4 frames from the PULL, `["log-write", sender, format, payload]`.
 */
export const Kind = { Event: 1, Notice: 2, Log: 3 } as const;
/** A record kind. */
export type Kind = (typeof Kind)[keyof typeof Kind];

const INITIAL_BATCH = 256 * 1024;

/**
 * Collects received messages into one buffer: per record `[u8 kind][u8 frame count]`, then per frame
 * `[u32 length][bytes]`, little-endian. Frames are copied straight from libzmq memory.
 */
export class BatchWriter {
  // In C memory, so frames are copied in without looking up a JS buffer's address each time.
  readonly #native = new NativeBuffer(INITIAL_BATCH);
  #buf = this.#native.bytes;
  #view = new DataView(this.#buf.buffer);
  #pos = 0;
  #recordStart = -1;
  /** Where the record's first frames start (the rest are not looked at). */
  readonly #starts = [0, 0, 0, 0];
  #frames = 0;
  /** Events in the current batch. */
  events = 0;
  /** Log messages in the current batch. */
  logs = 0;

  /** Bytes used. */
  get size(): number {
    return this.#pos;
  }

  #ensure(extra: number): void {
    if (this.#pos + extra <= this.#buf.length) return;
    this.#native.ensure(this.#pos + extra, this.#pos);
    this.#buf = this.#native.bytes;
    this.#view = new DataView(this.#buf.buffer);
  }

  /** Starts a record. */
  begin(kind: Kind): void {
    this.#ensure(2);
    this.#recordStart = this.#pos;
    this.#buf[this.#pos] = kind;
    this.#pos += 2;
    this.#frames = 0;
  }

  /** Appends the content of `msg` (`size` bytes) as the next frame of the record. */
  frame(msg: Message, size: number): void {
    this.#ensure(4 + size);
    this.#view.setUint32(this.#pos, size, true);
    if (this.#frames < 4) this.#starts[this.#frames] = this.#pos + 4;
    this.#native.copyFrom(msg, this.#pos + 4, size);
    this.#pos += 4 + size;
    this.#frames++;
  }

  /** Whether frame `index` of the record being written equals `bytes`. */
  frameEquals(index: number, bytes: Uint8Array): boolean {
    if (index >= this.#frames) return false;
    const start = this.#starts[index]!;
    if (this.#view.getUint32(start - 4, true) !== bytes.length) return false;
    for (let i = 0; i < bytes.length; i++) if (this.#buf[start + i] !== bytes[i]) return false;
    return true;
  }

  /** The first byte of frame `index` of the record being written, or -1 if it has none. */
  firstByte(index: number): number {
    if (index >= this.#frames || this.#view.getUint32(this.#starts[index]! - 4, true) === 0) return -1;
    return this.#buf[this.#starts[index]!]!;
  }

  /** Finishes the record. */
  commit(): void {
    this.#buf[this.#recordStart + 1] = this.#frames;
    if (this.#buf[this.#recordStart] === Kind.Event) this.events++;
    else if (this.#buf[this.#recordStart] === Kind.Log) this.logs++;
    this.#recordStart = -1;
  }

  /** Drops the record being written. */
  rollback(): void {
    if (this.#recordStart >= 0) this.#pos = this.#recordStart;
    this.#recordStart = -1;
  }

  /** The finished records as a transferable copy of just the used bytes; resets the writer. */
  take(): { buffer: ArrayBuffer; events: number; logs: number } {
    const out = { buffer: this.#buf.slice(0, this.#pos).buffer, events: this.events, logs: this.logs };
    this.#pos = 0;
    this.events = 0;
    this.logs = 0;
    return out;
  }

  /** Frees the C memory (when the worker ends). */
  close(): void {
    this.#native.close();
  }
}

/**
 * Walks the records of a batch without allocating per record: frames are offsets into `bytes`, and a
 * view is made only for a frame somebody asks for.
 */
export class BatchCursor {
  /** The whole batch. */
  readonly bytes: Uint8Array;
  readonly #view: DataView;
  #pos = 0;
  /** Kind of the current record. */
  kind: Kind = Kind.Event;
  /** Frames in the current record. */
  count = 0;
  readonly #starts: number[] = [];
  readonly #ends: number[] = [];

  constructor(buffer: ArrayBuffer) {
    this.bytes = new Uint8Array(buffer);
    this.#view = new DataView(buffer);
  }

  /** Moves to the next record; `false` at the end. */
  next(): boolean {
    const bytes = this.bytes;
    let pos = this.#pos;
    if (pos >= bytes.length) return false;
    this.kind = bytes[pos] as Kind;
    this.count = bytes[pos + 1]!;
    pos += 2;
    for (let i = 0; i < this.count; i++) {
      const size = this.#view.getUint32(pos, true);
      this.#starts[i] = pos + 4;
      this.#ends[i] = pos += 4 + size;
    }
    this.#pos = pos;
    return true;
  }

  /** Where frame `i` starts in `bytes`. */
  start(i: number): number {
    return this.#starts[i]!;
  }

  /** Where frame `i` ends in `bytes`. */
  end(i: number): number {
    return this.#ends[i]!;
  }

  /** A view of frame `i`. */
  frame(i: number): Uint8Array {
    return this.bytes.subarray(this.#starts[i], this.#ends[i]);
  }

  /** Whether frame `i` equals `other`, without making a view. */
  frameEquals(i: number, other: Uint8Array): boolean {
    const start = this.#starts[i]!;
    if (this.#ends[i]! - start !== other.length) return false;
    for (let j = 0; j < other.length; j++) if (this.bytes[start + j] !== other[j]) return false;
    return true;
  }
}
