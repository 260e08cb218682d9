/**
 * @module The socket monitors of a node's I/O Worker: they count the disconnects of every network
 * socket, report the broker handshakes that fail, and connect the XPUB or XSUB again where libzmq
 * will not. Not part of the public API.
 *
 * libzmq reconnects a connecting socket by itself after a connection error or a heartbeat timeout,
 * but not after a protocol error (`session_base_t::engine_error` in 4.3.5): a frame beyond
 * `maxMessageSize` from the broker would leave the node's XSUB (or XPUB) without a connection for
 * good. A disconnect that libzmq follows with its own reconnect shows `CONNECT_RETRIED` on the monitor
 * at once; when that does not come, the worker connects the socket again itself, at most once a
 * second. After a failed handshake it does not: those are `start()`'s to report (`HANDSHAKE_FAILED`).
 */

import { bump, type Counter, type SharedState } from "./_channel.ts";
import { DONTWAIT, MonitorEvent, type Socket } from "./_zmq.ts";
import { DISCONNECT_EVENTS, parseMonitorMessage } from "./_zmq-limits.ts";

/** The handshake failures `start()` reports (CURVE on one side only, a wrong key). */
export const HANDSHAKE_FAILED: number =
  MonitorEvent.HANDSHAKE_FAILED_NO_DETAIL | MonitorEvent.HANDSHAKE_FAILED_PROTOCOL | MonitorEvent.HANDSHAKE_FAILED_AUTH;
/** What libzmq shows when it reconnects by itself. */
const RECONNECTING: number = MonitorEvent.CONNECT_RETRIED | MonitorEvent.CONNECTED;
/** How long a disconnect waits for libzmq's own reconnect before the worker connects again. */
const OWN_RECONNECT_MS = 250;
/** At most one reconnect of a socket by the worker this often. */
const RECONNECT_EVERY_MS = 1000;

/** One monitored socket. */
export interface Monitor {
  /** The PAIR that reads the monitor. */
  monitor: Socket;
  /** The socket watched. */
  socket: Socket;
  /** What it connects to (or binds), for messages and reconnects. */
  endpoint: string;
  /** Its disconnect counter. */
  disconnects: Counter;
  /** Its counter of connections made, where one is kept (XPUB, XSUB). */
  connects: Counter | undefined;
  /** Whether the worker connects it again after a disconnect libzmq does not follow up (XPUB, XSUB). */
  reconnect: boolean;
}

/** The events a monitor of a socket must watch. */
export function monitorEvents(handshakes: boolean, reconnect: boolean): number {
  return (handshakes ? HANDSHAKE_FAILED : 0) | DISCONNECT_EVENTS | (reconnect ? RECONNECTING : 0);
}

/** The monitors of the worker's sockets and what they decide. */
export class SocketMonitors {
  readonly #list: readonly Monitor[];
  readonly #state: SharedState;
  readonly #handshakeFailed: (message: string) => void;
  readonly #report: (key: string, message: string) => void;
  /** Sockets disconnected without a reconnect of libzmq's so far: monitor → since when. */
  readonly #pending = new Map<Monitor, number>();
  readonly #lastReconnect = new Map<Monitor, number>();
  readonly #gaveUp = new Set<Monitor>();

  constructor(
    list: readonly Monitor[],
    state: SharedState,
    handshakeFailed: (message: string) => void,
    report: (key: string, message: string) => void,
  ) {
    this.#list = list;
    this.#state = state;
    this.#handshakeFailed = handshakeFailed;
    this.#report = report;
  }

  /** The monitor PAIRs, to poll. */
  get sockets(): Socket[] {
    return this.#list.map((m) => m.monitor);
  }

  /** Reads what `pair` (one of {@linkcode sockets}) holds, up to `limit` events. */
  read(pair: Socket, limit: number): void {
    const m = this.#list.find((e) => e.monitor === pair);
    if (!m) return;
    for (let n = 0; n < limit; n++) {
      const event = parseMonitorMessage(pair.recv(DONTWAIT));
      if (!event) return;
      if (event.event & DISCONNECT_EVENTS) {
        bump(this.#state, m.disconnects);
        if (m.reconnect && !this.#gaveUp.has(m)) this.#pending.set(m, performance.now());
      }
      if (event.event & RECONNECTING) this.#pending.delete(m);
      if (event.event & MonitorEvent.CONNECTED && m.connects !== undefined) bump(this.#state, m.connects);
      if (event.event & HANDSHAKE_FAILED) {
        this.#gaveUp.add(m); // a failed handshake is start()'s to report, and libzmq's to retry
        this.#pending.delete(m);
        this.#handshakeFailed(
          `ZeroMQ: Handshake for socket ${m.endpoint} failed: event=0x${event.event.toString(16)} value=${event.value}`,
        );
      }
    }
  }

  /** Whether a socket waits to be connected again ({@linkcode tick} has work). */
  get waiting(): boolean {
    return this.#pending.size > 0;
  }

  /**
   * Connects again what libzmq left disconnected; returns how soon to look again (ms), or -1: no need.
   * A socket `inUse` says another thread has now is left for a later look.
   */
  tick(inUse: (socket: Socket) => boolean = () => false): number {
    if (this.#pending.size === 0) return -1;
    const now = performance.now();
    let next = Infinity;
    for (const [m, since] of this.#pending) {
      const due = Math.max(since + OWN_RECONNECT_MS, (this.#lastReconnect.get(m) ?? -Infinity) + RECONNECT_EVERY_MS);
      if (due > now || inUse(m.socket)) {
        next = Math.min(next, Math.max(1, due - now));
        continue;
      }
      this.#pending.delete(m);
      this.#lastReconnect.set(m, now);
      m.socket.events(); // let the socket take in the end of its old connection first
      try {
        m.socket.disconnect(m.endpoint);
      } catch {
        // already forgotten by libzmq
      }
      m.socket.connect(m.endpoint);
      this.#report(
        `reconnect-${m.endpoint}`,
        `${m.socket.type}: connected to ${m.endpoint} again after libzmq dropped the connection (a protocol error, such as a frame beyond maxMessageSize)`,
      );
    }
    return next === Infinity ? -1 : Math.ceil(next);
  }

  /** Closes the monitor PAIRs. */
  close(): void {
    for (const m of this.#list) m.monitor.close();
  }
}
