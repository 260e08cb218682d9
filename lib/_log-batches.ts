/**
 * @module Private: the batches a log writer (`logpush.ts`) is filling, one per stream and path, and
 * their bytes once sealed. Sending `zeek-bin-serializer` to loggers, a record is checked and encoded
 * into its batch's bytes as it is written (`_zeek-log-stream.ts`); otherwise its values are kept and
 * the batch is encoded (or handed over locally) when it is sealed. The buffers of acknowledged
 * batches are reused for the bytes of the next ones.
 */

import type { Buffered } from "./_logpush-types.ts";
import { beginStreamBatch, endStreamBatch, streamEncoder, type ZeekBatchBytes } from "./_zeek-log-stream.ts";
import { encodeZeekBatch, type LogBatch, type LogStream, recordValues } from "./logformat.ts";

/** A batch being filled: values, or the bytes of records checked and encoded at once. */
type Open = Buffered & { bytes?: ZeekBatchBytes | undefined };

/** A sealed batch: its bytes (and the buffer they are in, to reuse once acknowledged), or its values for a local logger. */
export interface Sealed {
  records: number;
  payload?: Uint8Array;
  spare?: Uint8Array | undefined;
  batch?: LogBatch;
}

/**
 * The open batches of one writer.
 *
 * @example Records of one stream and path, sealed into the bytes of one batch
 * ```ts
 * import { OpenBatches } from "./_log-batches.ts";
 * import { decodeZeekBatch, defineStream, encodeZeekBatch } from "./logformat.ts";
 *
 * const PING = defineStream({ id: "Ping::LOG", path: "ping", fields: { ts: "time", peer: "addr" } });
 * const batches = new OpenBatches(encodeZeekBatch, false, 64, () => {});
 * batches.add(PING, { ts: 1, peer: "10.0.0.1" }, "ping");
 * console.log(batches.add(PING, { ts: 2, peer: "10.0.0.2" }, "ping")); // 2
 * const payload = batches.take(batches.lastKey, undefined)!.payload!;
 * console.log(decodeZeekBatch(payload).records); // [[1, "10.0.0.1"], [2, "10.0.0.2"]]
 * ```
 */
export class OpenBatches {
  readonly #buffers = new Map<string, Open>();
  /** The buffer the last record went to (until it is sealed). */
  #last: Open | undefined;
  readonly #encode: (batch: LogBatch, spare?: Uint8Array) => Uint8Array;
  readonly #local: boolean;
  /** Records are checked and encoded as they are written (`zeek-bin-serializer`, not local). */
  readonly #onePass: boolean;
  /**
   * Buffers of acknowledged batches, for the bytes of the next ones: a fresh buffer of a batch's size
   * costs a page fault per 4 KiB when it is first written (about 15 % of a writer's main thread). As
   * many as may be in flight; let go when the writer is idle.
   */
  readonly #spares: Uint8Array[] = [];
  readonly #maxSpares: number;
  #spareSize = 64 * 1024;
  /** Seals a batch (its writer queues it): called when a record cannot join the batch of its key. */
  readonly #seal: (key: string) => void;

  constructor(
    encode: (batch: LogBatch, spare?: Uint8Array) => Uint8Array,
    local: boolean,
    maxSpares: number,
    seal: (key: string) => void,
  ) {
    this.#encode = encode;
    this.#local = local;
    this.#onePass = encode === encodeZeekBatch && !local;
    this.#maxSpares = maxSpares;
    this.#seal = seal;
  }

  /** The keys of the batches being filled. */
  keys(): string[] {
    return [...this.#buffers.keys()];
  }

  /** The key of the batch the last record went to. */
  lastKey = "";

  /**
   * Checks a record and adds it to the batch of its stream and path ({@linkcode lastKey}); returns how
   * many records that batch holds now.
   *
   * @throws {TypeError} a record that does not match the stream; nothing of it is kept.
   */
  add(stream: LogStream, record: Readonly<Record<string, unknown>>, path: string): number {
    const encode = this.#onePass && typeof record === "object" && record !== null ? streamEncoder(stream) : undefined;
    const values = encode === undefined ? recordValues(stream, record) : undefined;
    // Records come stream after stream: the last buffer is found without making and hashing its key.
    let buffer = this.#last;
    if (
      buffer === undefined ||
      buffer.stream !== stream ||
      buffer.path !== path ||
      buffer.id !== stream.id ||
      buffer.writer !== stream.writer ||
      buffer.filter !== stream.filter
    ) {
      const key = `${stream.id}\0${stream.writer}\0${stream.filter}\0${path}`;
      buffer = this.#buffers.get(key) ?? this.#open(key, stream, path);
      this.#last = buffer;
    }
    if (encode !== undefined) {
      // The bytes follow the header of their stream object's fields: another object's go in a batch of their own.
      if (buffer.stream !== stream || buffer.records.length > 0) buffer = this.#reopen(buffer, stream);
      const bytes = (buffer.bytes ??= beginStreamBatch(stream, path, this.#spare()));
      encode(record, bytes); // throws for a bad record, with nothing of it in the batch
      this.lastKey = buffer.key;
      return bytes.count;
    }
    if (buffer.bytes !== undefined) {
      if (buffer.bytes.count > 0) buffer = this.#reopen(buffer, stream);
      else buffer.bytes = undefined;
    }
    buffer.records.push(values!);
    this.lastKey = buffer.key;
    return buffer.records.length;
  }

  /**
   * Removes the batch of `key` and returns it: its bytes, or its values for a local logger; undefined
   * if it holds no records. `seq` goes into a `msgpack-log-v1` payload (an acknowledgment request).
   */
  take(key: string, seq: number | undefined): Sealed | undefined {
    const buffer = this.#buffers.get(key);
    const bytes = buffer?.bytes;
    if (!buffer || (buffer.records.length === 0 && (bytes === undefined || bytes.count === 0))) return undefined;
    this.#buffers.delete(key);
    if (this.#last === buffer) this.#last = undefined;
    if (bytes !== undefined && bytes.count > 0) {
      this.#spareSize = Math.max(this.#spareSize, bytes.buf.length);
      return { records: bytes.count, payload: endStreamBatch(bytes), spare: bytes.buf };
    }
    const { id, writer, filter, fields } = buffer.stream;
    const batch: LogBatch = {
      stream: id,
      writer,
      filter,
      path: buffer.path,
      fields: [...fields],
      records: buffer.records,
    };
    if (this.#local) return { records: batch.records.length, batch };
    if (seq !== undefined) batch.seq = seq;
    const spare = this.#spares.pop() ?? new Uint8Array(this.#spareSize);
    const payload = this.#encode(batch, spare);
    const used = payload.buffer === spare.buffer;
    if (!used && payload.length <= spare.length)
      this.#spares.push(spare); // an encoder that takes none
    else if (!used) this.#spareSize = payload.length + (payload.length >> 2); // too small: larger ones from now on
    return { records: batch.records.length, payload, spare: used ? spare : undefined };
  }

  /** The buffer of an acknowledged batch, for the bytes of another. */
  reuse(spare: Uint8Array): void {
    if (this.#spares.length < this.#maxSpares) this.#spares.push(spare);
  }

  /** The writer is idle: no memory kept for batches that may never come. */
  idle(): void {
    this.#spares.length = 0;
  }

  #open(key: string, stream: LogStream, path: string): Open {
    const { id, writer, filter } = stream;
    const buffer: Open = { key, stream, id, writer, filter, path, records: [] };
    this.#buffers.set(key, buffer);
    return buffer;
  }

  /** Seals `buffer` and opens its key again for `stream`. */
  #reopen(buffer: Open, stream: LogStream): Open {
    this.#seal(buffer.key);
    const fresh = this.#open(buffer.key, stream, buffer.path);
    this.#last = fresh;
    return fresh;
  }

  /** A buffer for a batch's bytes: an acknowledged batch's, or a new one as large as the largest batch so far. */
  #spare(): Buffer {
    const spare = this.#spares.pop();
    return spare === undefined
      ? Buffer.allocUnsafe(this.#spareSize)
      : Buffer.from(spare.buffer, spare.byteOffset, spare.byteLength);
  }
}
