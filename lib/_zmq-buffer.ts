/**
 * @module A growable byte buffer in C memory (part of the binding, `_zmq.ts`, which allocates, copies
 * and frees its memory). Not part of the public API.
 */

import { bufferCopyFrom, bufferResize } from "./_zmq.ts";
import type { Message } from "./_zmq-message.ts";
import { NativeObject } from "./_zmq-object.ts";

/**
 * A growable byte buffer in C memory. Its address never moves while it lives (a JS buffer's may), so
 * frames are copied into it with one `memcpy` and no address lookup. It is read and written through
 * its methods, and {@linkcode slice} copies bytes out.
 *
 * @example Collecting a frame
 * ```ts
 * import { Message, NativeBuffer } from "./_zmq.ts";
 *
 * const [msg, buf] = [new Message(), new NativeBuffer(64)];
 * msg.set("hello");
 * buf.copyFrom(msg, 0, msg.size);
 * console.log(new TextDecoder().decode(buf.slice(0, msg.size))); // "hello"
 * msg.close();
 * buf.close();
 * ```
 */
export class NativeBuffer extends NativeObject {
  // The buffer's own views of its memory: replaced when it grows, emptied when it is freed.
  #bytes: Uint8Array = new Uint8Array(0);
  #view: DataView = new DataView(this.#bytes.buffer);

  /** @param size Initial size in bytes. */
  constructor(size: number) {
    super("BUFFER_CLOSED", "buffer");
    this.#use(Math.max(1, size), 0);
  }

  #use(size: number, keep: number): void {
    this.#bytes = bufferResize(this, size, keep);
    this.#view = new DataView(this.#bytes.buffer);
  }

  /** The size in bytes. */
  get length(): number {
    return this.#bytes.length;
  }

  /** Makes room for `size` bytes, keeping the first `keep`. */
  ensure(size: number, keep: number): void {
    if (size <= this.#bytes.length) return;
    this.#use(Math.max(size, this.#bytes.length * 2), keep);
  }

  /** Copies `size` bytes of `msg`'s content to `offset`; the caller made room. */
  copyFrom(msg: Message, offset: number, size: number): void {
    this.assertOpen();
    if (offset + size > this.#bytes.length)
      throw new RangeError(`Frame of ${size} bytes does not fit at offset ${offset}`);
    if (size > msg.size) throw new RangeError(`The message holds ${msg.size} bytes, not ${size}`);
    bufferCopyFrom(this, offset, msg, size);
  }

  /** The byte at `offset`. */
  getUint8(offset: number): number {
    return this.#view.getUint8(offset);
  }

  /** Writes the byte at `offset`. */
  setUint8(offset: number, value: number): void {
    this.#view.setUint8(offset, value);
  }

  /** The `i16` at `offset`, in the byte order given, as `DataView` reads it. */
  getInt16(offset: number, littleEndian: boolean): number {
    return this.#view.getInt16(offset, littleEndian);
  }

  /** Writes an `i16` at `offset`. */
  setInt16(offset: number, value: number, littleEndian: boolean): void {
    this.#view.setInt16(offset, value, littleEndian);
  }

  /** The `u32` at `offset`. */
  getUint32(offset: number, littleEndian: boolean): number {
    return this.#view.getUint32(offset, littleEndian);
  }

  /** Writes a `u32` at `offset`. */
  setUint32(offset: number, value: number, littleEndian: boolean): void {
    this.#view.setUint32(offset, value, littleEndian);
  }

  /** Writes a `u64` at `offset`. */
  setBigUint64(offset: number, value: bigint, littleEndian: boolean): void {
    this.#view.setBigUint64(offset, value, littleEndian);
  }

  /** Whether the bytes from `offset` equal `bytes`. */
  equals(offset: number, bytes: Uint8Array): boolean {
    if (offset + bytes.length > this.#bytes.length) return false;
    for (let i = 0; i < bytes.length; i++) if (this.#bytes[offset + i] !== bytes[i]) return false;
    return true;
  }

  /** A copy of bytes `[start, end)`, in JS memory. */
  slice(start: number, end: number): Uint8Array<ArrayBuffer> {
    return this.#bytes.slice(start, end);
  }

  /** Frees the C memory. Idempotent. */
  close(): void {
    this.#use(0, 0);
  }
}
