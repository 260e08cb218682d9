/**
 * @module Limits and liveness of the cluster's network sockets, shared by a node's I/O Worker and the
 * broker: `ZMQ_MAXMSGSIZE`, ZMTP heartbeats set by the direction of a socket's bulk traffic, and the
 * socket monitor messages that count disconnects. Not part of the public API.
 *
 * Why only the side that *receives* the bulk of a connection sends PINGs (libzmq 4.3.5,
 * `stream_engine_base.cpp`, `zmtp_engine.cpp`):
 *
 * - A connection's heartbeat timers are cancelled by any message the engine *decodes*, and re-armed
 *   only by a PING. A receiver that pushes back (its queue is full, so its engine stops reading the
 *   TCP connection) decodes nothing, not even the peer's PINGs and PONGs: a timeout of its own would
 *   cut off a peer that is alive. So receivers set no timeout.
 * - The sender cannot rely on PINGs of its own either: a PING is queued behind the data it cannot write
 *   to a peer that stopped reading, so it never leaves, and its timeout never starts.
 * - What works is the TTL the receiver puts in its PINGs: each one arms the sender's TTL timer, which
 *   drops the connection when no message follows within `heartbeatTtl`, output blocked or not. But the
 *   receiver's PONGs would cancel that timer too (any decoded message does) and not re-arm it: were the
 *   sender to PING, a PONG would follow nearly every PING of the receiver, and a peer that stopped right
 *   after one would never be dropped (seen: the broker then found a stopped node only through its own
 *   timeout, and only while its output to the node was not yet blocked). So senders send no PINGs.
 *
 * Hence: the XSUB and the PULL, and the broker's XSUB, send a PING every `heartbeatIvl` carrying
 * `heartbeatTtl`, with no timeout; the XPUB and the PUSH, and the broker's XPUB, send none and drop a
 * peer whose PINGs stop for `heartbeatTtl`. A process that stops (SIGSTOP, a host without power, a cut
 * link) is dropped within `heartbeatTtl` of its last PING; a process whose JS is stuck still answers
 * (libzmq's I/O thread sends the PINGs). Any libzmq ≥ 4.2 peer honours the TTL, a Zeek broker too.
 * Not found: a process that stops within `heartbeatIvl` of connecting or of (un)subscribing, before its
 * next PING re-arms the timer the subscription message disarmed. `heartbeatTimeout` is used nowhere.
 */

import { MonitorEvent, type Socket, SocketOption } from "./_zmq.ts";
import { LITTLE_ENDIAN } from "./_zmq-constants.ts";

/** The options that bound what a socket accepts and how it checks its peers (see `config.ts`). */
export interface SocketLimits {
  /** `ZMQ_MAXMSGSIZE`; -1: none. */
  maxMessageSize: number;
  /** ms; 0: no heartbeats. */
  heartbeatIvl: number;
  /** ms. */
  heartbeatTtl: number;
}

/**
 * Bytes a subscription may take beyond its topic on the broker's XPUB: the `0x01` of a data frame, or
 * the `\x09SUBSCRIBE` name of a ZMTP 3.1 command (how libzmq ≥ 4.3.3 resends subscriptions after a
 * reconnect), plus CURVE's box (33 bytes). The floor keeps the handshake's commands under the limit
 * (CURVE's INITIATE with metadata is about 300 bytes).
 */
export const SUBSCRIPTION_ALLOWANCE = 64;
const HANDSHAKE_FLOOR = 512;

/** `ZMQ_MAXMSGSIZE` of a socket that receives only subscriptions of up to `maxTopicLength` bytes. */
export function subscriptionLimit(maxTopicLength: number): number {
  return Math.max(HANDSHAKE_FLOOR, maxTopicLength + SUBSCRIPTION_ALLOWANCE);
}

/**
 * Sets `ZMQ_MAXMSGSIZE` and the heartbeats of a socket whose connections carry bulk data in the given
 * direction: with `heartbeatIvl > 0`, a receiver PINGs with `heartbeatTtl` and no timeout; a sender
 * does not PING (and so has no timeout) but honours its peers' TTL.
 */
export function applyLimits(socket: Socket, bulk: "sends" | "receives", limits: SocketLimits): void {
  socket.setOption(SocketOption.MAXMSGSIZE, limits.maxMessageSize);
  const pings = bulk === "receives" && limits.heartbeatIvl > 0;
  socket.setOption(SocketOption.HEARTBEAT_IVL, pings ? limits.heartbeatIvl : 0);
  socket.setOption(SocketOption.HEARTBEAT_TIMEOUT, 0);
  socket.setOption(SocketOption.HEARTBEAT_TTL, pings ? limits.heartbeatTtl : 0);
}

/** The monitor events counted as disconnects. */
export const DISCONNECT_EVENTS: number = MonitorEvent.DISCONNECTED;

/** One `zmq_socket_monitor` message: `[u16 event, u32 value]` in host byte order, then the endpoint. */
export interface MonitorMessage {
  event: number;
  value: number;
  endpoint: string;
}

const decoder = new TextDecoder();

/** Parses a monitor message, or `undefined` if it is not one. */
export function parseMonitorMessage(frames: readonly Uint8Array[] | null): MonitorMessage | undefined {
  if (frames?.length !== 2 || frames[0]!.length < 6) return undefined;
  const view = new DataView(frames[0]!.buffer, frames[0]!.byteOffset, 6);
  return {
    event: view.getUint16(0, LITTLE_ENDIAN),
    value: view.getUint32(2, LITTLE_ENDIAN),
    endpoint: decoder.decode(frames[1]),
  };
}
