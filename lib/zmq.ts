/**
 * @module The libzmq binding. It owns every pointer the library hands out: contexts, sockets,
 * `zmq_msg_t` structs, poll item arrays and option scratch space all live in C memory (`malloc`), never
 * in movable JS memory, and are freed here. Callers see contexts, sockets, messages and frames.
 */

import { type Pointer, ptr, read, toArrayBuffer } from "bun:ffi";
import { constants } from "node:os";
import { ClusterError } from "./errors.ts";
import {
  ContextOption,
  ETERM,
  INT64_OPTIONS,
  libzmq,
  SNDMORE,
  SocketOption,
  SocketType,
  type SocketTypeName,
  ZmqError,
} from "./libzmq.ts";

export {
  ContextOption,
  DONTWAIT,
  ETERM,
  POLLERR,
  POLLIN,
  POLLOUT,
  SNDMORE,
  SocketOption,
  SocketType,
  type SocketTypeName,
  ZmqError,
} from "./libzmq.ts";

const EAGAIN = constants.errno.EAGAIN;
const EINTR = constants.errno.EINTR;

const lib = () => libzmq().symbols;
const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** A frame to send: bytes, or a string sent as UTF-8. */
export type Frame = Uint8Array | string;

function bytesOf(frame: Frame): Uint8Array {
  return typeof frame === "string" ? encoder.encode(frame) : frame;
}

function alloc(size: number): Pointer {
  const p = libzmq().libc.malloc(size);
  if (!p) throw new ClusterError("OUT_OF_MEMORY", `malloc(${size}) failed`);
  return p;
}

// Per-thread scratch for getsockopt: value and the size_t length, both in C memory.
let scratch: { value: Pointer; len: Pointer; lenView: BigUint64Array; intView: Int32Array; i64: BigInt64Array } | undefined;
function optScratch(): NonNullable<typeof scratch> {
  if (scratch) return scratch;
  const value = alloc(256);
  const len = alloc(8);
  scratch = {
    value,
    len,
    lenView: new BigUint64Array(toArrayBuffer(len, 0, 8)),
    intView: new Int32Array(toArrayBuffer(value, 0, 4)),
    i64: new BigInt64Array(toArrayBuffer(value, 0, 8)),
  };
  return scratch;
}

/** An opaque reference to a context, passed to a Worker so it can create sockets in it. */
export type ContextHandle = number & { readonly __contextHandle: unique symbol };

/** Options of {@linkcode Context}. */
export interface ContextOptions {
  /** libzmq I/O threads (`ZMQ_IO_THREADS`). @default {1} */
  ioThreads?: number;
  /** Allow IPv6 endpoints (`ZMQ_IPV6`). @default {false} */
  ipv6?: boolean;
}

/**
 * A libzmq context. It tracks the sockets created through it on this thread, and {@linkcode close}
 * closes them before terminating the context, so a forgotten socket cannot hang the exit.
 *
 * @example Creating sockets
 * ```ts
 * import { Context } from "./zmq.ts";
 *
 * const ctx = new Context({ ioThreads: 1 });
 * const pull = ctx.socket("PULL");
 * pull.bind("tcp://127.0.0.1:*");
 * console.log(pull.lastEndpoint);
 * ctx.close();
 * ```
 */
export class Context {
  readonly #ptr: Pointer;
  readonly #owner: boolean;
  readonly #sockets = new Set<Socket>();
  #closed = false;

  /** @param options I/O threads and IPv6. */
  constructor(options: ContextOptions = {}) {
    if (attaching !== undefined) {
      this.#ptr = attaching as unknown as Pointer;
      this.#owner = false;
      return;
    }
    const ptr = lib().zmq_ctx_new();
    if (!ptr) throw new ZmqError(lib().zmq_errno(), "Cannot create a ZeroMQ context");
    this.#ptr = ptr;
    this.#owner = true;
    // Without BLOCKY=0, zmq_ctx_term waits for linger of sockets that kept the libzmq default (forever).
    this.#set(ContextOption.BLOCKY, 0);
    if (options.ioThreads !== undefined) this.#set(ContextOption.IO_THREADS, options.ioThreads);
    if (options.ipv6 !== undefined) this.#set(ContextOption.IPV6, options.ipv6 ? 1 : 0);
  }

  /**
   * Uses a context created on another thread (its {@linkcode handle} was posted to this Worker).
   * Sockets made through it belong to this thread; `close()` closes them and leaves the context to its
   * owner.
   */
  static attach(handle: ContextHandle): Context {
    attaching = handle;
    try {
      return new Context();
    } finally {
      attaching = undefined;
    }
  }

  /** The handle to post to a Worker. */
  get handle(): ContextHandle {
    return this.#ptr as unknown as ContextHandle;
  }

  /** How many sockets of this thread are open. */
  get socketCount(): number {
    return this.#sockets.size;
  }

  /** Whether {@linkcode close} was called. */
  get closed(): boolean {
    return this.#closed;
  }

  #set(option: number, value: number): void {
    if (lib().zmq_ctx_set(this.#ptr, option, value) !== 0) {
      throw new ZmqError(lib().zmq_errno(), `Cannot set context option ${option} to ${value}`);
    }
  }

  /** Creates a socket of the given type, owned by the calling thread. */
  socket(type: SocketTypeName): Socket {
    if (this.#closed) throw new ClusterError("CONTEXT_CLOSED", "Cannot create a socket: the context is closed");
    const handle = lib().zmq_socket(this.#ptr, SocketType[type]);
    if (!handle) throw new ZmqError(lib().zmq_errno(), `Cannot create a ${type} socket`);
    const socket = new Socket(handle, type, () => this.#sockets.delete(socket));
    this.#sockets.add(socket);
    return socket;
  }

  /** Makes every blocking call in this context, on any thread, fail with `ETERM`. Owner only. */
  shutdown(): void {
    if (this.#owner && !this.#closed) lib().zmq_ctx_shutdown(this.#ptr);
  }

  /**
   * Closes this thread's sockets and gives up ownership without terminating: the thread that will be
   * the last user calls {@linkcode Context.terminate} instead. `zmq_ctx_term` waits for lingering
   * messages, so a Worker can take that wait off the main thread.
   */
  handOver(): ContextHandle {
    const handle = this.handle;
    this.#closeSockets();
    this.#closed = true;
    return handle;
  }

  /** Terminates a context handed over with {@linkcode handOver}, waiting for its lingering messages. */
  static terminate(handle: ContextHandle): void {
    while (lib().zmq_ctx_term(handle as unknown as Pointer) !== 0) {
      const errno = lib().zmq_errno();
      if (errno !== EINTR) throw new ZmqError(errno, "Cannot terminate the ZeroMQ context");
    }
  }

  #closeSockets(): void {
    for (const socket of [...this.#sockets]) {
      // A socket its owner forgot must not make zmq_ctx_term wait for its pending messages. After a
      // context shutdown setsockopt fails with ETERM, and the socket is closed all the same.
      try {
        socket.setOption(SocketOption.LINGER, 0);
      } catch {
        // closing is what matters
      }
      socket.close();
    }
  }

  /**
   * Closes this thread's sockets and, if this thread created the context, terminates it. The caller
   * must have made other threads close their sockets first: `zmq_ctx_term` waits for them.
   */
  close(): void {
    if (this.#closed) return;
    this.#closeSockets();
    this.#closed = true;
    if (this.#owner) Context.terminate(this.handle);
  }
}

let attaching: ContextHandle | undefined;
let pointerOf: (socket: Socket) => Pointer;

/**
 * A libzmq socket. Use it from the thread that created it only.
 *
 * @example A PAIR round trip
 * ```ts
 * import { Context } from "./zmq.ts";
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
export class Socket {
  /** The socket type. */
  readonly type: SocketTypeName;
  #ptr: Pointer | undefined;
  readonly #onClose: () => void;

  /** @internal created by {@linkcode Context.socket} */
  constructor(ptr: Pointer, type: SocketTypeName, onClose: () => void) {
    this.#ptr = ptr;
    this.type = type;
    this.#onClose = onClose;
  }

  #handle(): Pointer {
    if (this.#ptr === undefined) throw new ClusterError("SOCKET_CLOSED", `The ${this.type} socket is closed`);
    return this.#ptr;
  }

  static {
    // Message, Poller and proxySteerable in this module need the raw handle; nothing outside does.
    pointerOf = (socket) => socket.#handle();
  }

  /** Whether {@linkcode close} was called. */
  get closed(): boolean {
    return this.#ptr === undefined;
  }

  #check(rc: number, action: string): void {
    if (rc !== 0) throw new ZmqError(lib().zmq_errno(), action);
  }

  /** Sets an option: numbers and booleans as integers, strings and bytes as binary values. */
  setOption(option: number, value: number | boolean | string | Uint8Array): void {
    const h = this.#handle();
    const action = `Cannot set option ${option} on the ${this.type} socket`;
    if (typeof value === "number" || typeof value === "boolean") {
      const n = Number(value);
      const buf = INT64_OPTIONS.has(option) ? new BigInt64Array([BigInt(n)]) : new Int32Array([n]);
      this.#check(lib().zmq_setsockopt(h, option, buf, buf.byteLength), action);
    } else {
      const bytes = bytesOf(value);
      this.#check(lib().zmq_setsockopt(h, option, bytes.length ? bytes : null, bytes.length), action);
    }
  }

  /** Reads an integer option. */
  getInt(option: number): number {
    const s = optScratch();
    const wide = INT64_OPTIONS.has(option);
    s.lenView[0] = wide ? 8n : 4n;
    this.#check(lib().zmq_getsockopt(this.#handle(), option, s.value, s.len), `Cannot read option ${option}`);
    return wide ? Number(s.i64[0]) : (s.intView[0] ?? 0);
  }

  /** Reads a binary option (up to 255 bytes). */
  getBytes(option: number): Uint8Array {
    const s = optScratch();
    s.lenView[0] = 256n;
    this.#check(lib().zmq_getsockopt(this.#handle(), option, s.value, s.len), `Cannot read option ${option}`);
    return new Uint8Array(toArrayBuffer(s.value, 0, Number(s.lenView[0]))).slice();
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
    this.#check(lib().zmq_bind(this.#handle(), cstr(endpoint)), `Cannot bind ${this.type} socket to '${endpoint}'`);
  }

  /** Connects to an endpoint; libzmq reconnects by itself when the peer goes away. */
  connect(endpoint: string): void {
    this.#check(lib().zmq_connect(this.#handle(), cstr(endpoint)), `Cannot connect ${this.type} socket to '${endpoint}'`);
  }

  /** Stops listening on an endpoint given to {@linkcode bind} (the resolved one for wildcards). */
  unbind(endpoint: string): void {
    this.#check(lib().zmq_unbind(this.#handle(), cstr(endpoint)), `Cannot unbind ${this.type} socket from '${endpoint}'`);
  }

  /** Drops a connection made with {@linkcode connect}. */
  disconnect(endpoint: string): void {
    this.#check(lib().zmq_disconnect(this.#handle(), cstr(endpoint)), `Cannot disconnect ${this.type} socket from '${endpoint}'`);
  }

  /** Starts a PAIR monitor on `endpoint` (an `inproc://` address) for the given `ZMQ_EVENT_*` bits. */
  monitor(endpoint: string, events: number): void {
    this.#check(lib().zmq_socket_monitor(this.#handle(), cstr(endpoint), events), `Cannot monitor the ${this.type} socket`);
  }

  /**
   * Sends a multipart message. Returns `false` when `DONTWAIT` is given and the socket cannot take the
   * message now (`EAGAIN`), or when a send timeout expires; nothing was sent then.
   */
  send(frames: readonly Frame[], flags = 0): boolean {
    const h = this.#handle();
    const last = frames.length - 1;
    for (let i = 0; i <= last; i++) {
      const bytes = bytesOf(frames[i] ?? "");
      const rc = lib().zmq_send(h, bytes.length ? bytes : null, bytes.length, flags | (i < last ? SNDMORE : 0));
      if (rc >= 0) continue;
      const errno = lib().zmq_errno();
      if (errno === EAGAIN && i === 0) return false;
      throw new ZmqError(errno, `Cannot send on the ${this.type} socket`);
    }
    return true;
  }

  /**
   * Sends one frame with exactly `flags` (add `SNDMORE` for a frame that is not the last). Returns
   * `false` on `EAGAIN` (with `DONTWAIT`, or when a send timeout expires) or `EINTR`.
   */
  sendFrame(frame: Frame, flags = 0): boolean {
    const bytes = bytesOf(frame);
    if (lib().zmq_send(this.#handle(), bytes.length ? bytes : null, bytes.length, flags) >= 0) return true;
    const errno = lib().zmq_errno();
    if (errno === EAGAIN || errno === EINTR) return false;
    throw new ZmqError(errno, `Cannot send on the ${this.type} socket`);
  }

  /**
   * Receives one whole multipart message as copied frames, or `null` when `DONTWAIT` is given (or a
   * receive timeout expires) and nothing is waiting.
   */
  recv(flags = 0): Uint8Array[] | null {
    const msg = scratchMessage();
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
    if (this.#ptr === undefined) return;
    lib().zmq_close(this.#ptr);
    this.#ptr = undefined;
    this.#onClose();
  }
}

function cstr(text: string): Uint8Array {
  return encoder.encode(`${text}\0`);
}

let scratchMsg: Message | undefined;
function scratchMessage(): Message {
  scratchMsg ??= new Message();
  return scratchMsg;
}

// Set by Message's static block: a message's content address, for NativeBuffer below.
let addressOf: (msg: Message) => number;

/**
 * One `zmq_msg_t`, kept in C memory for its whole life. Receiving into it and sending from it moves
 * frames between sockets without copying them through JS.
 *
 * @example Forwarding a frame without copying it
 * ```ts
 * import { Context, Message } from "./zmq.ts";
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
export class Message {
  #ptr: Pointer | undefined;
  /** The content's address and size, looked up once per content (0 / -1: not yet). */
  #data = 0;
  #size = -1;

  /** Allocates and initialises an empty message. */
  constructor() {
    const p = alloc(64);
    lib().zmq_msg_init(p);
    this.#ptr = p;
  }

  #p(): Pointer {
    if (this.#ptr === undefined) throw new ClusterError("MESSAGE_CLOSED", "The message is closed");
    return this.#ptr;
  }

  #address(): number {
    return this.#data || (this.#data = lib().zmq_msg_data(this.#p()) ?? 0);
  }

  #contentSize(): number {
    return this.#size >= 0 ? this.#size : (this.#size = Number(lib().zmq_msg_size(this.#p())));
  }

  /** Forgets the cached address and size: the content changed. */
  #changed(): void {
    this.#data = 0;
    this.#size = -1;
  }

  static {
    // NativeBuffer in this module copies straight from the content; nothing outside sees addresses.
    addressOf = (msg) => msg.#address();
  }

  /**
   * Receives the next frame from `socket`, replacing the content. Returns `false` on `EAGAIN` (with
   * `DONTWAIT` or after a receive timeout) or `EINTR`.
   */
  receive(socket: Socket, flags = 0): boolean {
    return this.receiveSize(socket, flags) >= 0;
  }

  /** Like {@linkcode receive}, but returns the frame's size, or -1 where `receive` returns `false`. */
  receiveSize(socket: Socket, flags = 0): number {
    this.#changed();
    const size = lib().zmq_msg_recv(this.#p(), pointerOf(socket), flags);
    if (size >= 0) return (this.#size = size);
    const errno = lib().zmq_errno();
    if (errno === EAGAIN || errno === EINTR) return -1;
    throw new ZmqError(errno, `Cannot receive on the ${socket.type} socket`);
  }

  /**
   * Sends the content on `socket`; on success the message is empty afterwards. Returns `false` on
   * `EAGAIN` or `EINTR`, and the content is kept for a retry.
   */
  sendTo(socket: Socket, flags = 0): boolean {
    this.#changed();
    if (lib().zmq_msg_send(this.#p(), pointerOf(socket), flags) >= 0) return true;
    const errno = lib().zmq_errno();
    if (errno === EAGAIN || errno === EINTR) return false;
    throw new ZmqError(errno, `Cannot send on the ${socket.type} socket`);
  }

  /** Replaces the content with a copy of `frame`. */
  set(frame: Frame): void {
    const p = this.#p();
    this.#changed();
    const bytes = bytesOf(frame);
    lib().zmq_msg_close(p);
    if (lib().zmq_msg_init_size(p, bytes.length) !== 0) throw new ZmqError(lib().zmq_errno(), "Cannot size a message");
    if (bytes.length) libzmq().libc.memcpy(lib().zmq_msg_data(p), bytes, bytes.length);
  }

  /** Size of the content in bytes. */
  get size(): number {
    return this.#contentSize();
  }

  /** Whether more frames of the same message follow (after a receive). */
  get more(): boolean {
    return lib().zmq_msg_more(this.#p()) === 1;
  }

  /** The byte at `index` of the content, without copying it. */
  byteAt(index: number): number {
    const data = this.#address();
    return data ? read.u8(data as Pointer, index) : 0;
  }

  /** A copy of the content. */
  bytes(): Uint8Array {
    const size = this.#contentSize();
    const out = new Uint8Array(size);
    if (size) libzmq().libc.memcpy(out, this.#address() as Pointer, size);
    return out;
  }

  /** Copies the content (whose `size` the caller may pass if known) into `target` at `offset`. */
  copyTo(target: Uint8Array, offset: number, size: number = this.size): void {
    if (size > this.#contentSize()) throw new RangeError(`The message holds ${this.#contentSize()} bytes, not ${size}`);
    if (offset + size > target.length) throw new RangeError(`Frame of ${size} bytes does not fit at offset ${offset}`);
    // ptr() of the target's current address, used within this call only.
    if (size) libzmq().libc.memcpy(ptr(target, offset), this.#address() as Pointer, size);
  }

  /**
   * A view of the content in libzmq's memory, without copying. It is valid only until the message
   * changes (the next receive, send, set or close): read it and let go of it before then.
   */
  view(): Uint8Array {
    const size = this.#contentSize();
    const data = this.#address();
    return size && data ? new Uint8Array(toArrayBuffer(data as Pointer, 0, size)) : new Uint8Array(0);
  }

  /**
   * Sends bytes `[offset, offset + length)` of the content as one frame on `socket` (libzmq copies
   * them); the message itself is unchanged. Returns `false` on `EAGAIN` or `EINTR`.
   *
   * @throws {RangeError} a range outside the content.
   */
  sendRange(socket: Socket, offset: number, length: number, flags = 0): boolean {
    if (offset < 0 || length < 0 || offset + length > this.#contentSize()) {
      throw new RangeError(`Range ${offset}+${length} is outside the message of ${this.#contentSize()} bytes`);
    }
    const data = length ? this.#address() : 0;
    // The address is libzmq's, stable while the message is unchanged, and used within this call only.
    if (lib().zmq_send(pointerOf(socket), data === 0 ? null : ((data + offset) as Pointer), length, flags) >= 0) return true;
    const errno = lib().zmq_errno();
    if (errno === EAGAIN || errno === EINTR) return false;
    throw new ZmqError(errno, `Cannot send on the ${socket.type} socket`);
  }

  /** Whether the content equals `bytes`. */
  equals(bytes: Uint8Array): boolean {
    const size = this.#contentSize();
    if (size !== bytes.length) return false;
    const data = this.#address() as Pointer;
    for (let i = 0; i < size; i++) if (read.u8(data, i) !== bytes[i]) return false;
    return true;
  }

  /** Releases the content and the C memory. Idempotent. */
  close(): void {
    if (this.#ptr === undefined) return;
    lib().zmq_msg_close(this.#ptr);
    libzmq().libc.free(this.#ptr);
    this.#ptr = undefined;
    this.#changed();
  }
}

/**
 * A growable byte buffer in C memory. Its address never moves while it lives (a JS buffer's may), so
 * frames are copied into it with one `memcpy` and no address lookup.
 *
 * @example Collecting frames
 * ```ts
 * import { Context, Message, NativeBuffer } from "./zmq.ts";
 *
 * const ctx = new Context();
 * const [a, b] = [ctx.socket("PAIR"), ctx.socket("PAIR")];
 * a.bind("inproc://native-buffer");
 * b.connect("inproc://native-buffer");
 * a.send(["hello"]);
 * const msg = new Message();
 * const buf = new NativeBuffer(64);
 * const size = msg.receiveSize(b);
 * buf.copyFrom(msg, 0, size);
 * console.log(new TextDecoder().decode(buf.bytes.subarray(0, size))); // "hello"
 * [msg, buf].forEach((x) => x.close());
 * ctx.close();
 * ```
 */
export class NativeBuffer {
  #ptr: Pointer | undefined;
  /** A view of the whole buffer; replaced when it grows. */
  bytes: Uint8Array;

  /** @param size Initial size in bytes. */
  constructor(size: number) {
    this.#ptr = alloc(Math.max(1, size));
    this.bytes = new Uint8Array(toArrayBuffer(this.#ptr, 0, Math.max(1, size)));
  }

  /** Makes room for `size` bytes, keeping the first `keep`. */
  ensure(size: number, keep: number): void {
    if (size <= this.bytes.length) return;
    const grown = Math.max(size, this.bytes.length * 2);
    const p = alloc(grown);
    if (keep > 0) libzmq().libc.memcpy(p, this.#ptr!, keep);
    libzmq().libc.free(this.#ptr!);
    this.#ptr = p;
    this.bytes = new Uint8Array(toArrayBuffer(p, 0, grown));
  }

  /** Copies `size` bytes of `msg`'s content to `offset`; the caller made room. */
  copyFrom(msg: Message, offset: number, size: number): void {
    if (this.#ptr === undefined) throw new ClusterError("BUFFER_CLOSED", "The buffer is closed");
    if (offset + size > this.bytes.length) throw new RangeError(`Frame of ${size} bytes does not fit at offset ${offset}`);
    if (size > msg.size) throw new RangeError(`The message holds ${msg.size} bytes, not ${size}`);
    if (size) libzmq().libc.memcpy((this.#ptr + offset) as Pointer, addressOf(msg) as Pointer, size);
  }

  /** Frees the C memory; the view must not be used afterwards. Idempotent. */
  close(): void {
    if (this.#ptr === undefined) return;
    libzmq().libc.free(this.#ptr);
    this.#ptr = undefined;
    this.bytes = new Uint8Array(0);
  }
}

const POLLITEM_SIZE = process.platform === "win32" ? 24 : 16;
const POLLITEM_EVENTS = process.platform === "win32" ? 16 : 12;
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/**
 * A reusable `zmq_poll` item array in C memory.
 *
 * @example Waiting for input
 * ```ts
 * import { Context, Poller, POLLIN } from "./zmq.ts";
 *
 * const ctx = new Context();
 * const pull = ctx.socket("PULL");
 * pull.bind("inproc://poll-example");
 * const poller = new Poller([{ socket: pull, events: POLLIN }]);
 * console.log(poller.wait(10)); // 0: nothing arrived within 10 ms
 * poller.close();
 * ctx.close();
 * ```
 */
export class Poller {
  #ptr: Pointer | undefined;
  readonly #view: DataView;
  readonly #count: number;

  /** @param entries The sockets and the `POLLIN`/`POLLOUT` bits to wait for. */
  constructor(entries: readonly { socket: Socket; events: number }[]) {
    this.#count = entries.length;
    const size = Math.max(1, entries.length) * POLLITEM_SIZE;
    this.#ptr = alloc(size);
    this.#view = new DataView(toArrayBuffer(this.#ptr, 0, size));
    for (let i = 0; i < size; i++) this.#view.setUint8(i, 0);
    entries.forEach(({ socket, events }, i) => {
      this.#view.setBigUint64(i * POLLITEM_SIZE, BigInt(pointerOf(socket)), LITTLE_ENDIAN);
      this.setEvents(i, events);
    });
  }

  /** Changes the events waited for on item `index`. */
  setEvents(index: number, events: number): void {
    this.#view.setInt16(index * POLLITEM_SIZE + POLLITEM_EVENTS, events, LITTLE_ENDIAN);
  }

  /** Waits up to `timeoutMs` (-1: forever) and returns how many items are ready (0 on timeout or EINTR). */
  wait(timeoutMs: number): number {
    if (this.#ptr === undefined) throw new ClusterError("POLLER_CLOSED", "The poller is closed");
    const rc = lib().zmq_poll(this.#ptr, this.#count, timeoutMs);
    if (rc >= 0) return rc;
    const errno = lib().zmq_errno();
    if (errno === EINTR) return 0;
    throw new ZmqError(errno, "zmq_poll failed");
  }

  /** The events that item `index` reported in the last {@linkcode wait}. */
  revents(index: number): number {
    return this.#view.getInt16(index * POLLITEM_SIZE + POLLITEM_EVENTS + 2, LITTLE_ENDIAN);
  }

  /** Frees the C memory. Idempotent. */
  close(): void {
    if (this.#ptr === undefined) return;
    libzmq().libc.free(this.#ptr);
    this.#ptr = undefined;
  }
}

/**
 * Runs `zmq_proxy_steerable` until its control socket receives `TERMINATE` (returns `"terminated"`)
 * or the context is shut down (returns `"context-terminated"`). Blocks the calling thread.
 */
export function proxySteerable(
  frontend: Socket,
  backend: Socket,
  capture: Socket | null,
  control: Socket | null,
): "terminated" | "context-terminated" {
  for (;;) {
    const rc = lib().zmq_proxy_steerable(pointerOf(frontend), pointerOf(backend), capture ? pointerOf(capture) : null, control ? pointerOf(control) : null);
    if (rc === 0) return "terminated";
    const errno = lib().zmq_errno();
    if (errno === ETERM) return "context-terminated";
    if (errno !== EINTR) throw new ZmqError(errno, "zmq_proxy_steerable failed");
  }
}
