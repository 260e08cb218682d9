/**
 * @module The libzmq binding's tables and small types: socket types, options, flags, errno names, the
 * `zmq_pollitem_t` layout and how frames become bytes. Nothing here calls libzmq; `_zmq.ts` does, and
 * re-exports what callers need. Not part of the public API.
 */

import { constants } from "node:os";

/** libzmq socket types (`ZMQ_PAIR` …). */
export const SocketType = {
  PAIR: 0,
  PUB: 1,
  SUB: 2,
  REQ: 3,
  REP: 4,
  DEALER: 5,
  ROUTER: 6,
  PULL: 7,
  PUSH: 8,
  XPUB: 9,
  XSUB: 10,
  STREAM: 11,
} as const;

/** The name of a libzmq socket type, such as `"XPUB"`. */
export type SocketTypeName = keyof typeof SocketType;

/** libzmq socket options used by the cluster (`ZMQ_LINGER` …). */
export const SocketOption = {
  AFFINITY: 4,
  ROUTING_ID: 5,
  SUBSCRIBE: 6,
  UNSUBSCRIBE: 7,
  SNDBUF: 11,
  RCVBUF: 12,
  RCVMORE: 13,
  FD: 14,
  EVENTS: 15,
  TYPE: 16,
  LINGER: 17,
  RECONNECT_IVL: 18,
  BACKLOG: 19,
  RECONNECT_IVL_MAX: 21,
  MAXMSGSIZE: 22,
  SNDHWM: 23,
  RCVHWM: 24,
  RCVTIMEO: 27,
  SNDTIMEO: 28,
  LAST_ENDPOINT: 32,
  IMMEDIATE: 39,
  XPUB_VERBOSE: 40,
  IPV6: 42,
  MECHANISM: 43,
  CURVE_SERVER: 47,
  CURVE_PUBLICKEY: 48,
  CURVE_SECRETKEY: 49,
  CURVE_SERVERKEY: 50,
  REQ_CORRELATE: 52,
  REQ_RELAXED: 53,
  ZAP_DOMAIN: 55,
  HANDSHAKE_IVL: 66,
  XPUB_NODROP: 69,
  HEARTBEAT_IVL: 75,
  HEARTBEAT_TTL: 76,
  HEARTBEAT_TIMEOUT: 77,
  XPUB_VERBOSER: 78,
  CONNECT_TIMEOUT: 79,
} as const;

/** Options that libzmq reads as a 64-bit integer rather than an `int`. */
export const INT64_OPTIONS: ReadonlySet<number> = new Set([SocketOption.AFFINITY, SocketOption.MAXMSGSIZE]);

/** `zmq_socket_monitor` event bits (`ZMQ_EVENT_*`): the first frame of a monitor message is `u16 event, u32 value`. */
export const MonitorEvent = {
  CONNECTED: 0x0001,
  CONNECT_RETRIED: 0x0004,
  ACCEPTED: 0x0020,
  DISCONNECTED: 0x0200,
  HANDSHAKE_FAILED_NO_DETAIL: 0x0800,
  HANDSHAKE_SUCCEEDED: 0x1000,
  HANDSHAKE_FAILED_PROTOCOL: 0x2000,
  HANDSHAKE_FAILED_AUTH: 0x4000,
} as const;

/** Context options (`zmq_ctx_set`). */
export const ContextOption = { IO_THREADS: 1, MAX_SOCKETS: 2, IPV6: 42, BLOCKY: 70 } as const;

/** Send and receive flags. */
export const DONTWAIT = 1;
/** More frames of this message follow. */
export const SNDMORE = 2;
/** `zmq_poll` event bits. */
export const POLLIN = 1;
/** `zmq_poll`: the socket can accept a message (always true for XPUB with NODROP). */
export const POLLOUT = 2;
/** `zmq_poll`: an error condition. */
export const POLLERR = 4;

/** The platform's `EAGAIN` (11 on Linux, 35 on macOS): nothing to receive, or no room to send, now. */
export const EAGAIN: number = constants.errno.EAGAIN;
/** The platform's `EINTR`: a signal interrupted the call. */
export const EINTR: number = constants.errno.EINTR;
/** Base of libzmq's own errno values. */
export const ZMQ_HAUSNUMERO = 156384712;
/** The context was terminated (`zmq_ctx_shutdown` / `zmq_ctx_term`). */
export const ETERM: number = ZMQ_HAUSNUMERO + 53;

const ZMQ_ERRNO_NAMES = [
  "ENOTSUP",
  "EPROTONOSUPPORT",
  "ENOBUFS",
  "ENETDOWN",
  "EADDRINUSE",
  "EADDRNOTAVAIL",
  "ECONNREFUSED",
  "EINPROGRESS",
  "ENOTSOCK",
  "EMSGSIZE",
  "EAFNOSUPPORT",
  "ENETUNREACH",
  "ECONNABORTED",
  "ECONNRESET",
  "ENOTCONN",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "ENETRESET",
];
const errnoNames = new Map<number, string>();
for (const [name, value] of Object.entries(constants.errno)) if (!errnoNames.has(value)) errnoNames.set(value, name);
for (const [i, name] of ZMQ_ERRNO_NAMES.entries()) errnoNames.set(ZMQ_HAUSNUMERO + 1 + i, name);
errnoNames
  .set(ZMQ_HAUSNUMERO + 51, "EFSM")
  .set(ZMQ_HAUSNUMERO + 52, "ENOCOMPATPROTO")
  .set(ETERM, "ETERM");
errnoNames.set(ZMQ_HAUSNUMERO + 54, "EMTHREAD");

/** The name of an errno value, the platform's or libzmq's own (`"EADDRINUSE"`, `"ETERM"`), else `E<n>`. */
export function errnoName(errno: number): string {
  return errnoNames.get(errno) ?? `E${errno}`;
}

/**
 * `zmq_pollitem_t`: `{void* socket; int fd; short events; short revents}`, 16 bytes on LP64. On Win64
 * the fd is a 64-bit `SOCKET`, which makes it 24.
 */
export const POLLITEM_SIZE: number = process.platform === "win32" ? 24 : 16;
/** Offset of `events` in a poll item; `revents` follows it. */
/** Where `fd` sits in a `zmq_pollitem_t`, after the socket pointer. */
export const POLLITEM_FD = 8;
export const POLLITEM_EVENTS: number = process.platform === "win32" ? 16 : 12;
/** Whether this host stores numbers little-endian: C structs are read in host order. */
export const LITTLE_ENDIAN: boolean = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** An opaque reference to a context, passed to a Worker so it can create sockets in it. */
export type ContextHandle = number & { readonly __contextHandle: unique symbol };

/**
 * An opaque reference to a socket, passed to another thread that borrows it (`Socket.borrow`). The two
 * threads must never use it at the same time: a lock with a full memory barrier between their uses.
 */
export type SocketHandle = number & { readonly __socketHandle: unique symbol };

/** Options of `Context`. */
export interface ContextOptions {
  /** libzmq I/O threads (`ZMQ_IO_THREADS`). @default {1} */
  ioThreads?: number;
  /** Allow IPv6 endpoints (`ZMQ_IPV6`). @default {false} */
  ipv6?: boolean;
}

/** A frame to send: bytes, or a string sent as UTF-8. */
export type Frame = Uint8Array | string;

const encoder = new TextEncoder();

/** The bytes of a frame: itself, or a string's UTF-8. */
export function bytesOf(frame: Frame): Uint8Array {
  return typeof frame === "string" ? encoder.encode(frame) : frame;
}

/** A NUL-terminated UTF-8 copy of `text`, for C string arguments. */
export function cstr(text: string): Uint8Array {
  return encoder.encode(`${text}\0`);
}
