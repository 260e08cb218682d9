/**
 * @module What the I/O Worker posts to main (and main reads on its own turns): received messages as
 * records in one buffer, the writer that fills it and the cursor that walks it. Not part of the public API.
 */

import { MESSAGE_FRAMES } from "./_frames.ts";
import type { Message, NativeBuffer } from "./_zmq.ts";

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
 * import { BatchCursor, BatchWriter, Kind } from "./_batch.ts";
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
 * import { BatchCursor } from "./_batch.ts";
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

/**
 * Records of four frames (events, or log messages) written from JavaScript frames, in the layout of
 * {@linkcode Record}: main's own ZMTP connections (`_zmtp-xsub.ts`, `_zmtp-pull.ts`) hand what they
 * read to the inbox this way, like the worker's batches.
 *
 * @example One event, read back with a cursor
 * ```ts
 * import { BatchCursor, MessageRecords } from "./_batch.ts";
 *
 * const records = new MessageRecords();
 * const text = (s: string) => new TextEncoder().encode(s);
 * const frames = ["zeek.test", "node-1", "msgpack-v1", "payload"].map(text);
 * records.addFrames(frames, [0, 0, 0, 0], frames.map((f) => f.length));
 * const cursor = new BatchCursor(records.take());
 * console.log(cursor.next(), new TextDecoder().decode(cursor.frame(3))); // true "payload"
 * ```
 */
export class MessageRecords {
  #bytes = new Uint8Array(64 * 1024);
  #view = new DataView(this.#bytes.buffer);
  #pos = 0;
  /** Events written since the last {@linkcode take}. */
  events = 0;
  /** Log messages written since the last {@linkcode take}. */
  logs = 0;

  #frame(from: Uint8Array, start: number, end: number): void {
    const at = this.#pos + Record.FrameLengthSize;
    this.#view.setUint32(this.#pos, end - start, true);
    // Small frames (topic, sender, format) byte by byte: cheaper than making a view to copy from.
    if (end - start < 64) for (let i = start, j = at; i < end; i++, j++) this.#bytes[j] = from[i]!;
    else this.#bytes.set(from.subarray(start, end), at);
    this.#pos = at + end - start;
  }

  /** Appends a record of `kind` of four frames, frame `i` being `from[i][starts[i], ends[i])`. */
  addFrames(
    from: readonly Uint8Array[],
    starts: readonly number[],
    ends: readonly number[],
    kind: typeof Kind.Event | typeof Kind.Log = Kind.Event,
  ): void {
    let need = this.#pos + Record.HeaderSize + 4 * Record.FrameLengthSize;
    for (let i = 0; i < MESSAGE_FRAMES; i++) need += ends[i]! - starts[i]!;
    if (need > this.#bytes.length) {
      const grown = new Uint8Array(Math.max(need, 2 * this.#bytes.length));
      grown.set(this.#bytes.subarray(0, this.#pos));
      this.#bytes = grown;
      this.#view = new DataView(grown.buffer);
    }
    this.#bytes[this.#pos + Record.Kind] = kind;
    this.#bytes[this.#pos + Record.Frames] = MESSAGE_FRAMES;
    this.#pos += Record.HeaderSize;
    for (let i = 0; i < MESSAGE_FRAMES; i++) this.#frame(from[i]!, starts[i]!, ends[i]!);
    if (kind === Kind.Event) this.events++;
    else this.logs++;
  }

  /** The records written so far, as a buffer of their own; resets. */
  take(): ArrayBuffer {
    const out = this.#bytes.slice(0, this.#pos).buffer;
    this.#pos = 0;
    this.events = this.logs = 0;
    return out;
  }
}
