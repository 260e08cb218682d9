/**
 * @module A libzmq socket, built on the native calls of `_zmq.ts`, which re-exports it. Use a socket
 * from the thread that created it only.
 */

import {
  lastError,
  retryOrThrow,
  socketBorrow,
  socketClose,
  socketEndpoint,
  socketForget,
  socketGetOption,
  socketHandle,
  socketMonitor,
  socketOpen,
  socketSend,
  socketSendPrefix,
  socketSetOption,
  ZmqError,
  zmqErrno,
} from "./_zmq.ts";
import {
  bytesOf,
  type ContextHandle,
  EAGAIN,
  type Frame,
  INT64_OPTIONS,
  LITTLE_ENDIAN,
  SNDMORE,
  type SocketHandle,
  SocketOption,
  type SocketTypeName,
} from "./_zmq-constants.ts";
import { Message } from "./_zmq-message.ts";
import { NativeObject } from "./_zmq-object.ts";

const decoder = new TextDecoder();
/** Room for a binary option's value (`getsockopt`). */
const OPTION_ROOM = 256;

/**
 * A libzmq socket. Use it from the thread that created it only.
 *
 * @example A PAIR round trip
 * ```ts
 * import { Context } from "./_zmq.ts";
 *
 * const ctx = new Context();
 * const a = ctx.socket("PAIR");
 * a.bind("inproc://example");
 * const b = ctx.socket("PAIR");
 * b.connect("inproc://example");
 * a.send(["topic", "payload"]);
 * console.log(b.recv()?.map((f) => new TextDecoder().decode(f))); // ["topic", "payload"]
 * ctx.close();
 * ```
 */
export class Socket extends NativeObject {
  /** The socket type. */
  readonly type: SocketTypeName;
  readonly #onClose: () => void;
  // getsockopt's value and its size_t length: this socket's own JS memory, made on first use and
  // passed to each call, never held by address (a small typed array's memory can move between calls).
  #option: { value: Uint8Array; length: BigUint64Array; view: DataView } | undefined;
  /** What {@linkcode recv} receives into: made on first use, closed with the socket. */
  #message: Message | undefined;

  /** Whether another thread created it (see {@linkcode borrow}): closing only forgets it here. */
  readonly #borrowed: boolean;

  /** @internal created by `Context.socket` (or {@linkcode borrow}, with `borrowed`) */
  constructor(context: ContextHandle, type: SocketTypeName, onClose: () => void, borrowed?: SocketHandle) {
    super("SOCKET_CLOSED", `${type} socket`);
    this.type = type;
    this.#onClose = onClose;
    this.#borrowed = borrowed !== undefined;
    if (borrowed !== undefined) socketBorrow(this, borrowed);
    else socketOpen(this, context, type);
  }

  /**
   * Uses a socket another thread created (its {@linkcode handle} was posted here). libzmq sockets are
   * not thread-safe: the two threads must take turns under a lock (a full memory barrier between
   * them), and only the creator closes it; `close()` here only forgets it.
   */
  static borrow(handle: SocketHandle, type: SocketTypeName): Socket {
    return new Socket(0 as ContextHandle, type, () => {}, handle);
  }

  /** The handle to post to a thread that {@linkcode borrow}s this socket. */
  get handle(): SocketHandle {
    return socketHandle(this);
  }

  #check(rc: number, action: string): void {
    if (rc !== 0) throw lastError(action);
  }

  /** Sets an option: numbers and booleans as integers, strings and bytes as binary values. */
  setOption(option: number, value: number | boolean | string | Uint8Array): void {
    const bytes =
      typeof value === "number" || typeof value === "boolean"
        ? INT64_OPTIONS.has(option)
          ? new BigInt64Array([BigInt(Number(value))])
          : new Int32Array([Number(value)])
        : bytesOf(value);
    this.#check(socketSetOption(this, option, bytes), `Cannot set option ${option} on the ${this.type} socket`);
  }

  /** Calls getsockopt with room for `room` bytes; returns a view of the value and its length. */
  #get(option: number, room: number): [DataView, number] {
    if (!this.#option) {
      const value = new Uint8Array(OPTION_ROOM);
      this.#option = { value, length: new BigUint64Array(1), view: new DataView(value.buffer) };
    }
    const { value, length, view } = this.#option;
    length[0] = BigInt(room);
    this.#check(socketGetOption(this, option, value, length), `Cannot read option ${option}`);
    return [view, Number(length[0])];
  }

  /** Reads an integer option. */
  getInt(option: number): number {
    const wide = INT64_OPTIONS.has(option);
    const [view] = this.#get(option, wide ? 8 : 4);
    return wide ? Number(view.getBigInt64(0, LITTLE_ENDIAN)) : view.getInt32(0, LITTLE_ENDIAN);
  }

  /** Reads a binary option (up to 255 bytes). */
  getBytes(option: number): Uint8Array {
    const [view, length] = this.#get(option, OPTION_ROOM);
    return new Uint8Array(view.buffer, 0, length).slice();
  }

  /** Reads a string option, without its terminating NUL. */
  getString(option: number): string {
    const bytes = this.getBytes(option);
    const end = bytes.indexOf(0);
    return decoder.decode(end === -1 ? bytes : bytes.subarray(0, end));
  }

  /**
   * The endpoint of the last bind or connect, with a wildcard port resolved (`ZMQ_LAST_ENDPOINT`).
   * An IPv4-mapped address (`tcp://[::ffff:127.0.0.1]:5555`, what libzmq reports with IPv6 on) is given
   * in its IPv4 form, so that peers without IPv6 can use it too.
   */
  get lastEndpoint(): string {
    return this.getString(SocketOption.LAST_ENDPOINT).replace(/^tcp:\/\/\[::ffff:([0-9.]+)\]/i, "tcp://$1");
  }

  /** Binds to an endpoint such as `tcp://127.0.0.1:*`, `ipc:///tmp/x` or `inproc://name`. */
  bind(endpoint: string): void {
    this.#check(socketEndpoint(this, "bind", endpoint), `Cannot bind ${this.type} socket to '${endpoint}'`);
  }

  /** Connects to an endpoint; libzmq reconnects by itself when the peer goes away. */
  connect(endpoint: string): void {
    this.#check(socketEndpoint(this, "connect", endpoint), `Cannot connect ${this.type} socket to '${endpoint}'`);
  }

  /** Stops listening on an endpoint given to {@linkcode bind} (the resolved one for wildcards). */
  unbind(endpoint: string): void {
    this.#check(socketEndpoint(this, "unbind", endpoint), `Cannot unbind ${this.type} socket from '${endpoint}'`);
  }

  /** Drops a connection made with {@linkcode connect}. */
  disconnect(endpoint: string): void {
    this.#check(
      socketEndpoint(this, "disconnect", endpoint),
      `Cannot disconnect ${this.type} socket from '${endpoint}'`,
    );
  }

  /** Starts a PAIR monitor on `endpoint` (an `inproc://` address) for the given `ZMQ_EVENT_*` bits. */
  monitor(endpoint: string, events: number): void {
    this.#check(socketMonitor(this, endpoint, events), `Cannot monitor the ${this.type} socket`);
  }

  /**
   * Sends a multipart message. Returns `false` when `DONTWAIT` is given and the socket cannot take the
   * message now (`EAGAIN`), or when a send timeout expires; nothing was sent then.
   */
  send(frames: readonly Frame[], flags = 0): boolean {
    const last = frames.length - 1;
    for (let i = 0; i <= last; i++) {
      if (socketSend(this, bytesOf(frames[i] ?? ""), flags | (i < last ? SNDMORE : 0)) >= 0) continue;
      const errno = zmqErrno();
      if (errno === EAGAIN && i === 0) return false;
      throw new ZmqError(errno, `Cannot send on the ${this.type} socket`);
    }
    return true;
  }

  /**
   * Sends one frame with exactly `flags` (add `SNDMORE` for a frame that is not the last). Returns
   * `false` on `EAGAIN` (with `DONTWAIT`, or when a send timeout expires); a call a signal interrupted
   * (`EINTR`) is made again.
   */
  sendFrame(frame: Frame, flags = 0): boolean {
    return socketSend(this, bytesOf(frame), flags) >= 0 || retryOrThrow(`Cannot send on the ${this.type} socket`);
  }

  /**
   * Sends `bytes[0, length)` as one frame with exactly `flags`, without making a subarray. Returns
   * `false` on `EAGAIN`, like {@linkcode sendFrame}.
   */
  sendPrefix(bytes: Uint8Array, length: number, flags = 0): boolean {
    return socketSendPrefix(this, bytes, length, flags) >= 0 || retryOrThrow(`Cannot send on the ${this.type} socket`);
  }

  /**
   * Receives one whole multipart message as copied frames, or `null` when `DONTWAIT` is given (or a
   * receive timeout expires) and nothing is waiting.
   */
  recv(flags = 0): Uint8Array[] | null {
    this.assertOpen(); // before making the message that close() would never close
    const msg = (this.#message ??= new Message());
    const frames: Uint8Array[] = [];
    do {
      if (!msg.receive(this, frames.length === 0 ? flags : 0)) return null;
      frames.push(msg.bytes());
    } while (msg.more);
    return frames;
  }

  /** The `ZMQ_EVENTS` bits; reading them also lets libzmq process pending commands of the socket. */
  events(): number {
    return this.getInt(SocketOption.EVENTS);
  }

  /** Closes the socket. Idempotent. */
  close(): void {
    if (this.#borrowed) return void socketForget(this);
    if (!socketClose(this)) return;
    this.#message?.close();
    this.#message = undefined;
    this.#onClose();
  }
}
