/**
 * @module Every byte layout that crosses a boundary, defined once: the 4-frame event and log messages
 * on the network (Zeek's), subscription notices, and what the main thread and its I/O Worker hand each
 * other on their inproc PAIRs and in posted batches. Numbers are little-endian between the threads;
 * what goes on the network is Zeek's. Not part of the public API.
 */

import type { Message, NativeBuffer } from "./_zmq.ts";

const encoder = new TextEncoder();

/** The frames of an event message (node XPUB → broker → node XSUB), as Zeek sends them. */
export const EventFrame = { Topic: 0, Sender: 1, Format: 2, Payload: 3 } as const;
/** The frames of a log message (node PUSH → logger PULL), as Zeek sends them. */
export const LogFrame = { Tag: 0, Sender: 1, Format: 2, Payload: 3 } as const;
/** Event and log messages have exactly this many frames. */
export const MESSAGE_FRAMES = 4;

/** Frame 0 of a log message; Zeek sends this and ignores the frame on receipt. */
export const LOG_WRITE: Uint8Array = encoder.encode("log-write");
const ACK_REQUEST = encoder.encode("log-write;seq=");

/**
 * Frame 0 of a log message: `log-write`, or `log-write;seq=<seq>` when the writer asks the logger to
 * acknowledge batch `seq` (a Zeek logger reads nothing in frame 0, so it takes either).
 *
 * @example Asking for an acknowledgment
 * ```ts
 * import { ackRequest, logWriteTag } from "./_frames.ts";
 *
 * console.log(new TextDecoder().decode(logWriteTag(17))); // "log-write;seq=17"
 * console.log(new TextDecoder().decode(logWriteTag(0))); // "log-write"
 * console.log(ackRequest(logWriteTag(17)), ackRequest(logWriteTag(0))); // 17 undefined
 * ```
 */
export function logWriteTag(seq: number): Uint8Array {
  if (seq === 0) return LOG_WRITE;
  const digits = encoder.encode(String(seq));
  const out = new Uint8Array(ACK_REQUEST.length + digits.length);
  out.set(ACK_REQUEST);
  out.set(digits, ACK_REQUEST.length);
  return out;
}

/** The sequence number a log message's frame 0 asks to acknowledge (see {@linkcode logWriteTag}), or `undefined`. */
export function ackRequest(frame: Uint8Array): number | undefined {
  if (frame.length <= ACK_REQUEST.length || frame.length > ACK_REQUEST.length + 10) return undefined;
  for (let i = 0; i < ACK_REQUEST.length; i++) if (frame[i] !== ACK_REQUEST[i]) return undefined;
  let seq = 0;
  for (let i = ACK_REQUEST.length; i < frame.length; i++) {
    const d = frame[i]! - 48;
    if (d < 0 || d > 9) return undefined;
    seq = seq * 10 + d;
  }
  return seq > 0 && seq <= 0xffffffff ? seq : undefined;
}

/** The first byte of a subscription notice (a node's XSUB sends it; every XPUB sees it). */
export const Notice = { Unsubscribe: 0, Subscribe: 1 } as const;

/** A subscription notice: one frame, the flag byte and the topic prefix. */
export function noticeFrame(flag: (typeof Notice)[keyof typeof Notice], topic: string): Uint8Array {
  const bytes = encoder.encode(topic);
  const out = new Uint8Array(1 + bytes.length);
  out[0] = flag;
  out.set(bytes, 1);
  return out;
}

/** Control PAIR (main → worker): `[tag, payload…]`. */
export const Control = {
  XsubUpdate: 0, // payload: a notice to send on the XSUB
  Stop: 1, // payload: u32 grace in ms; main has closed its PAIRs: send what they hold within it, then end
  ClosePull: 2, // read what the PULL socket holds, close it, then post `pull-closed`
  Publish: 3, // `[tag, topic, payload]`: one of the backend's own events, sent ahead of the data PAIR's
  XpubCheck: 4, // main's XPUB sends may have taken its ZMQ_FD signal while subscriptions wait: read them
  XsubBack: 5, // main has read the XSUB the worker lent it and gives it back
} as const;

/** The first byte of a publish batch on the data PAIR. */
export const PUBLISH_BATCH = 0xb1;

/**
 * A batch of publishes (main → worker, one data PAIR message): `[u8 PUBLISH_BATCH]`, then per event
 * `[u16 topic length][topic][u32 payload length][payload]`. The worker adds the sender and format
 * frames. One message for many events: main makes one libzmq call per batch instead of four per event.
 *
 * @example Packing two events and reading them back
 * ```ts
 * import { PublishBatch, readPublishRecord } from "./_frames.ts";
 *
 * const batch = new PublishBatch();
 * const bytes = (s: string) => new TextEncoder().encode(s);
 * batch.add(bytes("t.a"), bytes("one"), 3);
 * batch.add(bytes("t.b"), bytes("two!"), 4);
 * const view = new DataView(batch.bytes.buffer, 0, batch.length);
 * const r = { topicStart: 0, topicEnd: 0, payloadStart: 0, payloadEnd: 0 };
 * console.log(readPublishRecord(view, 1, r), r.payloadEnd - r.payloadStart); // true 3
 * console.log(readPublishRecord(view, r.payloadEnd, r), batch.events); // true 2
 * ```
 */
export class PublishBatch {
  bytes: Uint8Array;
  #view: DataView;
  /** Bytes used: the batch is `bytes[0, length)`. */
  length = 1;
  /** Events in the batch. */
  events = 0;

  constructor(bytes: Uint8Array = new Uint8Array(64 * 1024)) {
    this.bytes = bytes;
    this.bytes[0] = PUBLISH_BATCH;
    this.#view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  /** Bytes an event of these sizes takes in a batch. */
  static size(topicLength: number, payloadLength: number): number {
    return 6 + topicLength + payloadLength;
  }

  /** Appends an event whose payload is `payload[0, length)`; the caller made room (see {@linkcode fits}). */
  add(topic: Uint8Array, payload: Uint8Array, length: number): void {
    const at = this.length;
    this.#view.setUint16(at, topic.length, true);
    copy(topic, topic.length, this.bytes, at + 2);
    this.#view.setUint32(at + 2 + topic.length, length, true);
    copy(payload, length, this.bytes, at + 6 + topic.length);
    this.length = at + PublishBatch.size(topic.length, length);
    this.events++;
  }

  /** Whether `size` more bytes fit. */
  fits(size: number): boolean {
    return this.length + size <= this.bytes.length;
  }

  /** Starts over in `bytes` (a reused or a bigger buffer). */
  reset(bytes: Uint8Array = this.bytes): void {
    this.bytes = bytes;
    this.bytes[0] = PUBLISH_BATCH;
    this.#view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.length = 1;
    this.events = 0;
  }
}

/** Where one event of a publish batch is, as offsets into the batch. */
export interface PublishRecord {
  topicStart: number;
  topicEnd: number;
  payloadStart: number;
  payloadEnd: number;
}

/** Reads the event at `at` of a publish batch into `r`; `false` if the batch ends or is cut short there. */
export function readPublishRecord(view: DataView, at: number, r: PublishRecord): boolean {
  if (at + 2 > view.byteLength) return false;
  r.topicStart = at + 2;
  r.topicEnd = r.topicStart + view.getUint16(at, true);
  if (r.topicEnd + 4 > view.byteLength) return false;
  r.payloadStart = r.topicEnd + 4;
  r.payloadEnd = r.payloadStart + view.getUint32(r.topicEnd, true);
  return r.payloadEnd <= view.byteLength;
}

/** Copies `from[0, length)` to `to` at `at`; small copies in a loop, which beats making a view. */
function copy(from: Uint8Array, length: number, to: Uint8Array, at: number): void {
  if (length > 64) return to.set(length === from.length ? from : from.subarray(0, length), at);
  for (let i = 0; i < length; i++) to[at + i] = from[i]!;
}

/** A log batch on the log PAIR (main → worker): 3 frames `[header, format, payload]`; the header's fields. */
export const LogHeader = { Records: 0, Seq: 4, Size: 8 } as const;

/**
 * The header frame of a log batch on the log PAIR: how many records, and the sequence number the
 * writer wants acknowledged (0: none).
 *
 * @example A header and its fields
 * ```ts
 * import { LogHeader, logHeader, readLogHeader } from "./_frames.ts";
 *
 * const header = logHeader(1000, 7);
 * console.log(header.length === LogHeader.Size, readLogHeader(header)); // true { records: 1000, seq: 7 }
 * ```
 */
export function logHeader(records: number, seq: number): Uint8Array {
  const out = new Uint8Array(LogHeader.Size);
  const view = new DataView(out.buffer);
  view.setUint32(LogHeader.Records, records, true);
  view.setUint32(LogHeader.Seq, seq, true);
  return out;
}

/** The fields of a log batch header frame (see {@linkcode logHeader}). */
export function readLogHeader(frame: Uint8Array): { records: number; seq: number } {
  const view = new DataView(frame.buffer, frame.byteOffset, frame.byteLength);
  return { records: view.getUint32(LogHeader.Records, true), seq: view.getUint32(LogHeader.Seq, true) };
}

/**
 * The kinds of record in a batch the worker posts to main. `Event`: the 4 frames of an event message,
 * counted in the onloop queue. `Notice`: one subscription notice, which bypasses the queue limit.
 * `Log`: the 4 frames of a log message.
 */
export const Kind = { Event: 1, Notice: 2, Log: 3 } as const;
/** A record kind. */
export type Kind = (typeof Kind)[keyof typeof Kind];

/**
 * A batch the worker posts to main: per record `[u8 kind][u8 frame count]`, then per frame
 * `[u32 length][bytes]`. These are the offsets within a record header and a frame header.
 */
export const Record = { Kind: 0, Frames: 1, HeaderSize: 2, FrameLengthSize: 4 } as const;

/**
 * Collects received messages into a batch for main. Frames are copied straight from libzmq memory into
 * C memory (no JS buffer address is looked up per frame); {@linkcode take} copies the used bytes out as
 * one transferable buffer.
 *
 * @example A record of two frames, and the cursor that reads it
 * ```ts
 * import { BatchCursor, BatchWriter, Kind } from "./_frames.ts";
 * import { Message, NativeBuffer } from "./_zmq.ts";
 *
 * const writer = new BatchWriter(new NativeBuffer(1024));
 * const msg = new Message();
 * writer.begin(Kind.Notice);
 * for (const text of ["a", "bc"]) {
 *   msg.set(text);
 *   writer.frame(msg, msg.size);
 * }
 * writer.commit();
 * const cursor = new BatchCursor(writer.take().buffer);
 * console.log(cursor.next(), cursor.kind === Kind.Notice, cursor.count, new TextDecoder().decode(cursor.frame(1))); // true true 2 "bc"
 * msg.close();
 * writer.close();
 * ```
 */
export class BatchWriter {
  readonly #native: NativeBuffer;
  #pos = 0;
  #recordStart = -1;
  /** Where the record's first frames start (the rest are not looked at). */
  readonly #starts = [0, 0, 0, 0];
  #frames = 0;
  /** Events in the current batch. */
  events = 0;
  /** Log messages in the current batch. */
  logs = 0;

  /** @param native The C memory to write into; it grows as needed and is freed by {@linkcode close}. */
  constructor(native: NativeBuffer) {
    this.#native = native;
  }

  /** Bytes used. */
  get size(): number {
    return this.#pos;
  }

  #ensure(extra: number): void {
    if (this.#pos + extra > this.#native.length) this.#native.ensure(this.#pos + extra, this.#pos);
  }

  /** Starts a record. */
  begin(kind: Kind): void {
    this.#ensure(Record.HeaderSize);
    this.#recordStart = this.#pos;
    this.#native.setUint8(this.#pos + Record.Kind, kind);
    this.#pos += Record.HeaderSize;
    this.#frames = 0;
  }

  /** Appends the content of `msg` (`size` bytes) as the next frame of the record. */
  frame(msg: Message, size: number): void {
    this.#ensure(Record.FrameLengthSize + size);
    this.#native.setUint32(this.#pos, size, true);
    if (this.#frames < MESSAGE_FRAMES) this.#starts[this.#frames] = this.#pos + Record.FrameLengthSize;
    this.#native.copyFrom(msg, this.#pos + Record.FrameLengthSize, size);
    this.#pos += Record.FrameLengthSize + size;
    this.#frames++;
  }

  /** Whether frame `index` (< 4) of the record being written equals `bytes`. */
  frameEquals(index: number, bytes: Uint8Array): boolean {
    if (index >= this.#frames) return false;
    const start = this.#starts[index]!;
    return (
      this.#native.getUint32(start - Record.FrameLengthSize, true) === bytes.length && this.#native.equals(start, bytes)
    );
  }

  /** The first byte of frame `index` (< 4) of the record being written, or -1 if it has none. */
  firstByte(index: number): number {
    if (index >= this.#frames || this.#native.getUint32(this.#starts[index]! - Record.FrameLengthSize, true) === 0)
      return -1;
    return this.#native.getUint8(this.#starts[index]!);
  }

  /** Finishes the record. */
  commit(): void {
    this.#native.setUint8(this.#recordStart + Record.Frames, this.#frames);
    const kind = this.#native.getUint8(this.#recordStart + Record.Kind);
    if (kind === Kind.Event) this.events++;
    else if (kind === Kind.Log) this.logs++;
    this.#recordStart = -1;
  }

  /** Drops the record being written. */
  rollback(): void {
    if (this.#recordStart >= 0) this.#pos = this.#recordStart;
    this.#recordStart = -1;
  }

  /** The finished records as a transferable copy of just the used bytes; resets the writer. */
  take(): { buffer: ArrayBuffer; events: number; logs: number } {
    const out = { buffer: this.#native.slice(0, this.#pos).buffer, events: this.events, logs: this.logs };
    this.#pos = 0;
    this.events = 0;
    this.logs = 0;
    return out;
  }

  /** Frees the C memory. */
  close(): void {
    this.#native.close();
  }
}

/**
 * Walks the records of a batch from the worker without allocating per record: frames are offsets into
 * `bytes`, and a view is made only for a frame somebody asks for.
 *
 * @example An empty batch has no records
 * ```ts
 * import { BatchCursor } from "./_frames.ts";
 *
 * console.log(new BatchCursor(new ArrayBuffer(0)).next()); // false
 * ```
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
    this.kind = bytes[pos + Record.Kind] as Kind;
    this.count = bytes[pos + Record.Frames]!;
    pos += Record.HeaderSize;
    for (let i = 0; i < this.count; i++) {
      const size = this.#view.getUint32(pos, true);
      this.#starts[i] = pos + Record.FrameLengthSize;
      this.#ends[i] = pos += Record.FrameLengthSize + size;
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
