/**
 * @module The libzmq binding: the only module that calls libzmq or `malloc` (test/ffi-boundary.test.ts
 * checks it). Contexts, sockets, `zmq_msg_t` structs and poll items live in C memory, freed here; their
 * pointers stay in {@linkcode NativeObject} slots only this module reads. The classes callers use
 * (`Context`, `Socket`, `Message`, `Poller`, one file each) are built on the native calls below. No view
 * of C memory leaves a call: content is copied out (a view costs ~0.5 µs under Bun, more than copying
 * 4 KiB). The one view kept is a NativeBuffer's own, private, for as long as its memory lives.
 */

import { type Pointer, ptr, toArrayBuffer } from "bun:ffi";
import { libzmq, ZmqError } from "./_libzmq.ts";
import { NativeBuffer } from "./_zmq-buffer.ts";
import {
  type ContextHandle,
  ContextOption,
  type ContextOptions,
  cstr,
  EAGAIN,
  EINTR,
  ETERM,
  LITTLE_ENDIAN,
  POLLITEM_EVENTS,
  POLLITEM_FD,
  POLLITEM_SIZE,
  type SocketHandle,
  SocketType,
  type SocketTypeName,
} from "./_zmq-constants.ts";
import type { Message } from "./_zmq-message.ts";
import { NativeObject } from "./_zmq-object.ts";
import type { Socket } from "./_zmq-socket.ts";
import { ClusterError } from "./errors.ts";

export { ZmqError } from "./_libzmq.ts";
// The classes built on this module. They call into it only when used, never while loading, so this
// cycle of imports is safe whichever module loads first.
export { NativeBuffer } from "./_zmq-buffer.ts";
export type { ContextHandle, ContextOptions, Frame, SocketHandle, SocketTypeName } from "./_zmq-constants.ts";
export {
  ContextOption,
  DONTWAIT,
  ETERM,
  MonitorEvent,
  POLLERR,
  POLLIN,
  POLLOUT,
  SNDMORE,
  SocketOption,
  SocketType,
} from "./_zmq-constants.ts";
export { Context } from "./_zmq-context.ts";
export { Message } from "./_zmq-message.ts";
export { Poller } from "./_zmq-poller.ts";
export { Socket } from "./_zmq-socket.ts";

const lib = () => libzmq().symbols;
const decoder = new TextDecoder();

function alloc(size: number): Pointer {
  const p = libzmq().libc.malloc(size);
  if (!p) throw new ClusterError("OUT_OF_MEMORY", `malloc(${size}) failed`);
  return p;
}

/** This module's access to the pointer slots; not exported, so no other module has it. */
class Pointers extends NativeObject {
  static of(object: NativeObject): Pointer {
    return NativeObject.pointer(object);
  }

  static set(object: NativeObject, p: Pointer | undefined): Pointer | undefined {
    return NativeObject.swap(object, p);
  }

  /** A message's content address, looked up once per content (`zmq_msg_data` costs ~30 ns). */
  static data(msg: Message): Pointer {
    return (NativeObject.inner(msg) ||
      NativeObject.keepInner(msg, lib().zmq_msg_data(Pointers.of(msg)) ?? 0)) as Pointer;
  }

  /** Forgets the content address: the content is about to change. */
  static changed(msg: Message): Pointer {
    NativeObject.keepInner(msg, 0);
    return Pointers.of(msg);
  }
}

/** The errno of the libzmq call that just failed. */
export function zmqErrno(): number {
  return lib().zmq_errno();
}

/** The error of the libzmq call that just failed. */
export function lastError(action: string): ZmqError {
  return new ZmqError(lib().zmq_errno(), action);
}

/** After a failed call: `false` when it may be retried (`EAGAIN`, `EINTR`), else throws its `ZmqError`. */
export function retryOrThrow(action: string): false {
  const errno = lib().zmq_errno();
  if (errno === EAGAIN || errno === EINTR) return false;
  throw new ZmqError(errno, action);
}

/** `zmq_ctx_new`, with `ZMQ_BLOCKY` off and the given options. */
export function contextNew(options: ContextOptions): ContextHandle {
  const ctx = lib().zmq_ctx_new();
  if (!ctx) throw lastError("Cannot create a ZeroMQ context");
  const set = (option: number, value: number) => {
    if (lib().zmq_ctx_set(ctx, option, value) !== 0) throw lastError(`Cannot set context option ${option} to ${value}`);
  };
  // Without BLOCKY=0, zmq_ctx_term waits for linger of sockets that kept the libzmq default (forever).
  set(ContextOption.BLOCKY, 0);
  if (options.ioThreads !== undefined) set(ContextOption.IO_THREADS, options.ioThreads);
  if (options.ipv6 !== undefined) set(ContextOption.IPV6, options.ipv6 ? 1 : 0);
  return ctx as unknown as ContextHandle;
}

/** `zmq_ctx_shutdown`: every blocking call in the context, on any thread, fails with `ETERM`. */
export function contextShutdown(ctx: ContextHandle): void {
  lib().zmq_ctx_shutdown(ctx as unknown as Pointer);
}

/** `zmq_ctx_term`, retried on `EINTR`: waits until every socket is closed and has lingered. */
export function contextTerm(ctx: ContextHandle): void {
  while (lib().zmq_ctx_term(ctx as unknown as Pointer) !== 0) {
    const errno = lib().zmq_errno();
    if (errno !== EINTR) throw new ZmqError(errno, "Cannot terminate the ZeroMQ context");
  }
}

/** `zmq_socket` into `socket`'s slot. */
export function socketOpen(socket: Socket, ctx: ContextHandle, type: SocketTypeName): void {
  const p = lib().zmq_socket(ctx as unknown as Pointer, SocketType[type]);
  if (!p) throw lastError(`Cannot create a ${type} socket`);
  Pointers.set(socket, p);
}

/** The socket's address as a handle for another thread (see `Socket.borrow`). */
export function socketHandle(socket: Socket): SocketHandle {
  return Pointers.of(socket) as unknown as SocketHandle;
}

/** Puts a socket another thread created into `socket`'s slot: a borrowed socket, never closed here. */
export function socketBorrow(socket: Socket, handle: SocketHandle): void {
  Pointers.set(socket, handle as unknown as Pointer);
}

/** Forgets a borrowed socket's address without closing it; `false` if it was forgotten already. */
export function socketForget(socket: Socket): boolean {
  return Pointers.set(socket, undefined) !== undefined;
}

/** `zmq_close`; `false` if it was closed already. */
export function socketClose(socket: Socket): boolean {
  const p = Pointers.set(socket, undefined);
  if (p !== undefined) lib().zmq_close(p);
  return p !== undefined;
}

/** `zmq_setsockopt` with the value's bytes. */
export function socketSetOption(
  socket: Socket,
  option: number,
  value: Uint8Array | Int32Array | BigInt64Array,
): number {
  return lib().zmq_setsockopt(Pointers.of(socket), option, value.byteLength ? value : null, value.byteLength);
}

/** `zmq_getsockopt` into `value`; `length` is the `size_t` in/out length. Both are passed, never kept. */
export function socketGetOption(socket: Socket, option: number, value: Uint8Array, length: BigUint64Array): number {
  return lib().zmq_getsockopt(Pointers.of(socket), option, value, length);
}

/** `zmq_bind`, `zmq_connect`, `zmq_unbind` or `zmq_disconnect`. */
export function socketEndpoint(
  socket: Socket,
  call: "bind" | "connect" | "unbind" | "disconnect",
  endpoint: string,
): number {
  const s = lib();
  const fn =
    call === "bind"
      ? s.zmq_bind
      : call === "connect"
        ? s.zmq_connect
        : call === "unbind"
          ? s.zmq_unbind
          : s.zmq_disconnect;
  return fn(Pointers.of(socket), cstr(endpoint));
}

/** `zmq_socket_monitor` to a PAIR at `endpoint`. */
export function socketMonitor(socket: Socket, endpoint: string, events: number): number {
  return lib().zmq_socket_monitor(Pointers.of(socket), cstr(endpoint), events);
}

/** `zmq_send` of one frame (libzmq copies it). */
export function socketSend(socket: Socket, bytes: Uint8Array, flags: number): number {
  return socketSendPrefix(socket, bytes, bytes.length, flags);
}

// A send or receive that a signal interrupted (EINTR: a profiler's, say) did nothing: each call below
// makes it again, as libzmq asks, so that -1 means EAGAIN or an error. Returning it to the caller as
// "not now" would cut a multipart message, whose later frames nobody retries.

/** `zmq_send` of `bytes[0, length)` (libzmq copies it): no subarray to make per frame. */
export function socketSendPrefix(socket: Socket, bytes: Uint8Array, length: number, flags: number): number {
  const p = Pointers.of(socket);
  const data = length ? bytes : null;
  let rc = lib().zmq_send(p, data, length, flags);
  while (rc < 0 && lib().zmq_errno() === EINTR) rc = lib().zmq_send(p, data, length, flags);
  return rc;
}

/** A `zmq_msg_t` in C memory (`zmq_msg_init`), into `msg`'s slot. */
export function messageInit(msg: Message): void {
  const p = alloc(64);
  lib().zmq_msg_init(p);
  Pointers.set(msg, p);
}

/** `zmq_msg_close` and free; `false` if it was closed already. */
export function messageClose(msg: Message): boolean {
  const p = Pointers.set(msg, undefined);
  if (p === undefined) return false;
  lib().zmq_msg_close(p);
  libzmq().libc.free(p);
  return true;
}

/** `zmq_msg_recv`: the frame's size, or -1. */
export function messageReceive(msg: Message, socket: Socket, flags: number): number {
  const m = Pointers.changed(msg);
  const s = Pointers.of(socket);
  let rc = lib().zmq_msg_recv(m, s, flags);
  while (rc < 0 && lib().zmq_errno() === EINTR) rc = lib().zmq_msg_recv(m, s, flags);
  return rc;
}

/** `zmq_msg_send`: on success the message is empty afterwards; on failure it is kept. */
export function messageSend(msg: Message, socket: Socket, flags: number): number {
  const m = Pointers.changed(msg);
  const s = Pointers.of(socket);
  let rc = lib().zmq_msg_send(m, s, flags);
  while (rc < 0 && lib().zmq_errno() === EINTR) rc = lib().zmq_msg_send(m, s, flags);
  return rc;
}

/** `zmq_send` of bytes `[offset, offset + length)` of the content, which the caller checked. */
export function messageSendRange(msg: Message, socket: Socket, offset: number, length: number, flags: number): number {
  // The address is libzmq's, stable while the message is unchanged, and used within this call only.
  const data = length ? ((Pointers.data(msg) + offset) as Pointer) : null;
  const s = Pointers.of(socket);
  let rc = lib().zmq_send(s, data, length, flags);
  while (rc < 0 && lib().zmq_errno() === EINTR) rc = lib().zmq_send(s, data, length, flags);
  return rc;
}

/** Replaces the content with a copy of `bytes`. */
export function messageSet(msg: Message, bytes: Uint8Array): void {
  const p = Pointers.changed(msg);
  lib().zmq_msg_close(p);
  if (lib().zmq_msg_init_size(p, bytes.length) !== 0) throw lastError("Cannot size a message");
  if (bytes.length) libzmq().libc.memcpy(lib().zmq_msg_data(p), bytes, bytes.length);
}

/** `zmq_msg_size`. */
export function messageSize(msg: Message): number {
  return Number(lib().zmq_msg_size(Pointers.of(msg)));
}

/** `zmq_msg_more`. */
export function messageMore(msg: Message): boolean {
  return lib().zmq_msg_more(Pointers.of(msg)) === 1;
}

/** Copies `size` bytes of the content from `from` into `target` at `offset`; the caller checked both. */
export function messageCopy(msg: Message, from: number, target: Uint8Array, offset: number, size: number): void {
  // ptr() of the target's current address, used within this call only.
  if (size) libzmq().libc.memcpy(ptr(target, offset), (Pointers.data(msg) + from) as Pointer, size);
}

/** Memory for a {@linkcode NativeBuffer}: `size` bytes, the first `keep` of its old memory copied, the old freed; a view of it. */
export function bufferResize(buf: NativeBuffer, size: number, keep: number): Uint8Array {
  const p = size > 0 ? alloc(size) : undefined;
  const old = Pointers.set(buf, p);
  if (old !== undefined) {
    if (p !== undefined && keep > 0) libzmq().libc.memcpy(p, old, keep);
    libzmq().libc.free(old);
  }
  // The buffer's own view of its own memory, replaced when it grows and emptied when it is freed.
  return p === undefined ? new Uint8Array(0) : new Uint8Array(toArrayBuffer(p, 0, size));
}

/** Copies `size` bytes of `msg`'s content into `buf` at `offset`; the caller checked both. */
export function bufferCopyFrom(buf: NativeBuffer, offset: number, msg: Message, size: number): void {
  if (size) libzmq().libc.memcpy((Pointers.of(buf) + offset) as Pointer, Pointers.data(msg), size);
}

/** What a poll item waits on: a libzmq socket, or a plain file descriptor. */
export type PollEntry = { socket: Socket; events: number } | { fd: number; events: number };

/** Poll items in a new buffer: one `zmq_pollitem_t` per entry (see `POLLITEM_SIZE`), for {@linkcode poll}. */
export function pollItems(entries: readonly PollEntry[]): NativeBuffer {
  const items = new NativeBuffer(Math.max(1, entries.length) * POLLITEM_SIZE);
  for (let i = 0; i < items.length; i++) items.setUint8(i, 0);
  entries.forEach((entry, i) => {
    // A plain file descriptor (a socket's ZMQ_FD) goes in `fd`, with a null socket pointer.
    if ("fd" in entry) items.setUint32(i * POLLITEM_SIZE + POLLITEM_FD, entry.fd, LITTLE_ENDIAN);
    else items.setBigUint64(i * POLLITEM_SIZE, BigInt(Pointers.of(entry.socket)), LITTLE_ENDIAN);
    const { events } = entry;
    items.setInt16(i * POLLITEM_SIZE + POLLITEM_EVENTS, events, LITTLE_ENDIAN);
  });
  return items;
}

/** `zmq_poll` on the first `count` items made by {@linkcode pollItems}: how many are ready, or -1. */
export function poll(items: NativeBuffer, count: number, timeoutMs: number): number {
  return lib().zmq_poll(Pointers.of(items), count, timeoutMs);
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
  const sockets = [frontend, backend, capture, control].map((s) => (s ? Pointers.of(s) : null));
  for (;;) {
    if (lib().zmq_proxy_steerable(sockets[0]!, sockets[1]!, sockets[2]!, sockets[3]!) === 0) return "terminated";
    const errno = lib().zmq_errno();
    if (errno === ETERM) return "context-terminated";
    if (errno !== EINTR) throw new ZmqError(errno, "zmq_proxy_steerable failed");
  }
}

/** `zmq_curve_keypair`: a new CURVE key pair, both keys in Z85 (40 characters). */
export function zmqCurveKeypair(): { publicKey: string; secretKey: string } {
  const pub = new Uint8Array(41);
  const sec = new Uint8Array(41);
  if (lib().zmq_curve_keypair(pub, sec) !== 0) throw lastError("Cannot generate a CURVE key pair");
  return { publicKey: decoder.decode(pub.subarray(0, 40)), secretKey: decoder.decode(sec.subarray(0, 40)) };
}

/** `zmq_curve_public`: the public key (Z85) of a 40-character Z85 secret key. */
export function zmqCurvePublic(secretKey: string): string {
  const pub = new Uint8Array(41);
  if (lib().zmq_curve_public(pub, cstr(secretKey)) !== 0) throw lastError("Cannot derive the CURVE public key");
  return decoder.decode(pub.subarray(0, 40));
}

/** `zmq_z85_encode` of bytes (a multiple of 4 long), or `null` where libzmq refuses them. */
export function zmqZ85Encode(data: Uint8Array): string | null {
  const out = new Uint8Array((data.length / 4) * 5 + 1);
  if (data.length && !lib().zmq_z85_encode(out, data, data.length)) return null;
  return decoder.decode(out.subarray(0, out.length - 1));
}

/** `zmq_z85_decode` of text (a multiple of 5 long), or `null` where it is not Z85. */
export function zmqZ85Decode(text: string): Uint8Array | null {
  const out = new Uint8Array((text.length / 5) * 4);
  if (text.length && !lib().zmq_z85_decode(out, cstr(text))) return null;
  return out;
}

/** The loaded libzmq: `zmq_version`, the file it came from, and `zmq_has` for each capability named. */
export function zmqBuild(capabilities: readonly string[]): {
  version: string;
  path: string;
  has: Record<string, boolean>;
} {
  const v = new Int32Array(3);
  lib().zmq_version(v.subarray(0, 1), v.subarray(1, 2), v.subarray(2, 3));
  const has: Record<string, boolean> = {};
  for (const cap of capabilities) has[cap] = lib().zmq_has(cstr(cap)) === 1;
  return { version: `${v[0]}.${v[1]}.${v[2]}`, path: libzmq().path, has };
}
