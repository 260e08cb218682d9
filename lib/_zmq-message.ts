/**
 * @module One `zmq_msg_t`, built on the native calls of `_zmq.ts`, which re-exports it. Its content
 * stays in libzmq's memory, which the next receive frees or reuses, so it is never handed out as a
 * view: it is sent on from there, or copied out.
 */

import {
  messageClose,
  messageCopy,
  messageInit,
  messageMore,
  messageReceive,
  messageSend,
  messageSendRange,
  messageSet,
  messageSize,
  retryOrThrow,
} from "./_zmq.ts";
import { bytesOf, type Frame } from "./_zmq-constants.ts";
import { NativeObject } from "./_zmq-object.ts";
import type { Socket } from "./_zmq-socket.ts";

/** Reads of up to this many bytes ({@linkcode Message.equals} of a short marker) go through one buffer. */
const SMALL = 64;

/**
 * One `zmq_msg_t`, kept in C memory for its whole life. Receiving into it and sending from it moves
 * frames between sockets without copying them through JS. The content is read by copying:
 * {@linkcode bytes}, {@linkcode copyTo}, `NativeBuffer.copyFrom`, or the small reads
 * {@linkcode byteAt}, {@linkcode readUint32} and {@linkcode equals}; {@linkcode sendRange} sends part
 * of it on.
 *
 * @example Forwarding a frame without copying it
 * ```ts
 * import { Context, Message } from "./_zmq.ts";
 *
 * const ctx = new Context();
 * const [a, b, c, d] = [ctx.socket("PAIR"), ctx.socket("PAIR"), ctx.socket("PAIR"), ctx.socket("PAIR")];
 * a.bind("inproc://in"); b.connect("inproc://in");
 * c.bind("inproc://out"); d.connect("inproc://out");
 * a.send(["hello"]);
 * const msg = new Message();
 * msg.receive(b);
 * msg.sendTo(c);
 * console.log(d.recv()?.length); // 1
 * msg.close();
 * ctx.close();
 * ```
 */
export class Message extends NativeObject {
  /** The content's size, looked up once per content (-1: not yet). */
  #size = -1;
  /** Where the small reads copy to: JS memory of this message, passed to each copy. */
  readonly #small = new Uint8Array(SMALL);
  readonly #smallView = new DataView(this.#small.buffer);

  /** Allocates and initialises an empty message. */
  constructor() {
    super("MESSAGE_CLOSED", "message");
    messageInit(this);
  }

  /** @throws {RangeError} when `[offset, offset + length)` is not inside the content. */
  #inside(offset: number, length: number): void {
    if (offset < 0 || length < 0 || offset + length > this.size) {
      throw new RangeError(`Range ${offset}+${length} is outside the message of ${this.size} bytes`);
    }
  }

  /**
   * Receives the next frame from `socket`, replacing the content. Returns `false` on `EAGAIN` (with
   * `DONTWAIT` or after a receive timeout); a call a signal interrupted (`EINTR`) is made again.
   */
  receive(socket: Socket, flags = 0): boolean {
    return this.receiveSize(socket, flags) >= 0;
  }

  /** Like {@linkcode receive}, but returns the frame's size, or -1 where `receive` returns `false`. */
  receiveSize(socket: Socket, flags = 0): number {
    this.#size = -1;
    const size = messageReceive(this, socket, flags);
    if (size >= 0) return (this.#size = size);
    return retryOrThrow(`Cannot receive on the ${socket.type} socket`) || -1;
  }

  /**
   * Sends the content on `socket`; on success the message is empty afterwards. Returns `false` on
   * `EAGAIN`, and the content is kept for a retry.
   */
  sendTo(socket: Socket, flags = 0): boolean {
    this.#size = -1;
    return messageSend(this, socket, flags) >= 0 || retryOrThrow(`Cannot send on the ${socket.type} socket`);
  }

  /**
   * Sends bytes `[offset, offset + length)` of the content as one frame on `socket` (libzmq copies
   * them); the message itself is unchanged. Returns `false` on `EAGAIN`.
   *
   * @throws {RangeError} a range outside the content.
   */
  sendRange(socket: Socket, offset: number, length: number, flags = 0): boolean {
    this.#inside(offset, length);
    return (
      messageSendRange(this, socket, offset, length, flags) >= 0 ||
      retryOrThrow(`Cannot send on the ${socket.type} socket`)
    );
  }

  /** Replaces the content with a copy of `frame`. */
  set(frame: Frame): void {
    this.#size = -1;
    messageSet(this, bytesOf(frame));
  }

  /** Size of the content in bytes. */
  get size(): number {
    return this.#size >= 0 ? this.#size : (this.#size = messageSize(this));
  }

  /** Whether more frames of the same message follow (after a receive). */
  get more(): boolean {
    return messageMore(this);
  }

  /**
   * The byte at `index` of the content.
   *
   * @throws {RangeError} when the content is shorter.
   */
  byteAt(index: number): number {
    this.#inside(index, 1);
    messageCopy(this, index, this.#small, 0, 1);
    return this.#small[0]!;
  }

  /**
   * The little-endian `u32` at `offset` of the content.
   *
   * @throws {RangeError} when the content ends before `offset + 4`.
   */
  readUint32(offset: number): number {
    this.#inside(offset, 4);
    messageCopy(this, offset, this.#small, 0, 4);
    return this.#smallView.getUint32(0, true);
  }

  /** Whether the content equals `bytes`. */
  equals(bytes: Uint8Array): boolean {
    const size = this.size;
    if (size !== bytes.length) return false;
    const copy = size <= SMALL ? this.#small : new Uint8Array(size);
    messageCopy(this, 0, copy, 0, size);
    for (let i = 0; i < size; i++) if (copy[i] !== bytes[i]) return false;
    return true;
  }

  /** A copy of the content. */
  bytes(): Uint8Array {
    const out = new Uint8Array(this.size);
    messageCopy(this, 0, out, 0, out.length);
    return out;
  }

  /** Copies the content (whose `size` the caller may pass if known) into `target` at `offset`. */
  copyTo(target: Uint8Array, offset: number, size: number = this.size): void {
    if (size > this.size) throw new RangeError(`The message holds ${this.size} bytes, not ${size}`);
    if (offset + size > target.length) throw new RangeError(`Frame of ${size} bytes does not fit at offset ${offset}`);
    messageCopy(this, 0, target, offset, size);
  }

  /** Releases the content and the C memory. Idempotent. */
  close(): void {
    messageClose(this);
    this.#size = -1;
  }
}
