/**
 * @module The contract between a node's main thread and its I/O Worker: what main posts to start it,
 * what the worker posts back, and the shared memory both see (small slots, the transport counters,
 * and the turns both take on the XPUB and the XSUB). The byte layouts they exchange on the inproc
 * PAIRs and in batches are in `_frames.ts`. Not public.
 */

import type { ContextHandle, SocketHandle } from "./_zmq.ts";
import type { ZeroMQConfig } from "./config.ts";

/**
 * Batches each end of the data PAIR holds (libzmq adds both ends' HWMs for inproc, and takes the
 * binding end's as it was at bind time): 4 batches of at most 32 KiB, a few thousand small events,
 * enough for the worker to keep the XPUB busy while main encodes the next batch, few enough that BLOCK
 * pushes back at once instead of queueing a second of events (docs/performance.md).
 */
export const DATA_PAIR_HWM = 2;
/** Log batches waiting on main (`Slot.LogDepth`) at which a logger stops reading its PULL: the logger's backpressure. */
export const LOG_BACKPRESSURE_AT = 100;
/** Log batches the log PAIR's main end holds: libzmq's default, what it always had (logs have `logSndhwm`). */
export const LOG_PAIR_HWM = 1000;

/**
 * Int32 slots of the shared state. `OnloopDepth`: events handed to the main thread and not yet
 * processed (the onloop queue). `WantDrain`: set by main when its data PAIR was full; the worker posts
 * `drain` once it has read from it. `LogDepth` and `LogWantDrain`: the same for log batches.
 * `XpubFull`: 1 while the worker holds an event the XPUB did not take under DROP; main then drops new
 * events before encoding them, which makes a drop cost a load instead of an encode.
 * `XpubLock`: whose turn it is on the XPUB, which both threads use (see {@linkcode tryLockXpub}).
 * `BatchesDone`: publish batches the worker has finished (sent, or dropped), mod 2^32; main compares
 * it with the batches it handed over to know that nothing it published waits in the worker.
 * `XsubOwner`: see {@linkcode XsubOwner}.
 */
export const Slot = {
  OnloopDepth: 0,
  WantDrain: 1,
  LogDepth: 2,
  LogWantDrain: 3,
  XpubFull: 4,
  XpubLock: 5,
  BatchesDone: 6,
  XsubOwner: 7,
} as const;

/**
 * Who reads the XSUB (`Slot.XsubOwner`): the worker; main, lent it by the worker; or the worker, with
 * main waiting to be lent it (`Atomics.waitAsync`) because it has nothing else to do.
 */
export const XsubOwner = { Worker: 0, Main: 1, MainWaiting: 2 } as const;
const INT_SLOTS = 8; // even: the 64-bit counters after the slots must be 8-byte aligned

/** 64-bit counters of the shared state, written by the worker. */
export const Counter = {
  XpubDrops: 0,
  XpubBlocks: 1,
  OnloopDrops: 2,
  MsgErrors: 3,
  LogBlocks: 4,
  /** Connections of each network socket that ended (socket monitor `ZMQ_EVENT_DISCONNECTED`). */
  XpubDisconnects: 5,
  XsubDisconnects: 6,
  PushDisconnects: 7,
  PullDisconnects: 8,
  /** Connections of the XPUB and XSUB that were made (`ZMQ_EVENT_CONNECTED`): more than ended means connected now. */
  XpubConnects: 9,
  XsubConnects: 10,
} as const;
/** A counter index. */
export type Counter = (typeof Counter)[keyof typeof Counter];
const COUNTERS = 12;

/** The state both threads see: small integer slots and 64-bit counters. */
export interface SharedState {
  /** Int32 slots, indexed by {@linkcode Slot}. */
  ints: Int32Array;
  /** Counters, indexed by {@linkcode Counter}. */
  counters: BigInt64Array;
}

/** Allocates the shared state; the buffer is posted to the worker. */
export function createSharedState(
  buffer: SharedArrayBuffer = new SharedArrayBuffer(INT_SLOTS * 4 + COUNTERS * 8),
): SharedState {
  return { ints: new Int32Array(buffer, 0, INT_SLOTS), counters: new BigInt64Array(buffer, INT_SLOTS * 4, COUNTERS) };
}

// The XPUB lock, a futex-style mutex: 0 free, 1 held, 2 held with the worker waiting. Main only ever
// tries (it never waits on the worker); the worker waits. libzmq allows a socket to move between
// threads given a full memory barrier, which the Atomics operations are.

/**
 * The gap (ms) that sets an event on its own apart from a stream: an event published this long after
 * the one before, or arriving after the worker's poll slept this long, takes main's own turn on the
 * sockets (one hop fewer); in a stream the worker's batches cost less per event.
 */
export const QUIET_MS = 0.05;

/** Main: takes the XPUB if it is free; `false` if the worker has it. */
export function tryLockXpub(state: SharedState): boolean {
  return Atomics.compareExchange(state.ints, Slot.XpubLock, 0, 1) === 0;
}

/** Worker: takes the XPUB, waiting for main to finish with it (main holds it for one send at most). */
export function lockXpub(state: SharedState): void {
  const ints = state.ints;
  let c = Atomics.compareExchange(ints, Slot.XpubLock, 0, 1);
  while (c !== 0) {
    if (c === 2 || Atomics.compareExchange(ints, Slot.XpubLock, 1, 2) !== 0) Atomics.wait(ints, Slot.XpubLock, 2, 5);
    c = Atomics.compareExchange(ints, Slot.XpubLock, 0, 2);
  }
}

/** Either side: gives the XPUB back, waking the worker if it waits. */
export function unlockXpub(state: SharedState): void {
  if (Atomics.exchange(state.ints, Slot.XpubLock, 0) === 2) Atomics.notify(state.ints, Slot.XpubLock, 1);
}

/** Adds to a counter (worker side). */
export function bump(state: SharedState, counter: Counter, by = 1): void {
  Atomics.add(state.counters, counter, BigInt(by));
}

/** Reads a counter as a number. */
export function readCounter(state: SharedState, counter: Counter): number {
  return Number(Atomics.load(state.counters, counter));
}

/** What main posts to start the worker. */
export interface IoWorkerStart {
  context: ContextHandle;
  shared: SharedArrayBuffer;
  /** inproc endpoints of the data, log and control PAIRs, bound by main. */
  dataEndpoint: string;
  logEndpoint: string;
  controlEndpoint: string;
  nodeId: string;
  /** The name of the event format, sent as every publish's third frame. */
  format: string;
  xpubEndpoint: string;
  xsubEndpoint: string;
  /** Logger endpoints the PUSH socket connects to (none: no PUSH socket). */
  logConnect: readonly string[];
  /** Where the PULL socket binds (empty: no PULL socket). */
  logListen: string;
  logOverflowPolicy: "BLOCK" | "DROP";
  socketOptions: {
    logSndhwm: number;
    logRcvhwm: number;
    logSndbuf: number;
    logRcvbuf: number;
    logImmediate: boolean;
    lingerMs: number;
    xpubSndhwm: number;
    xpubSndbuf: number;
    xsubRcvhwm: number;
    xsubRcvbuf: number;
    xpubNodrop: boolean;
    /** `ZMQ_MAXMSGSIZE` of the XPUB, XSUB and PULL; -1: none. */
    maxMessageSize: number;
    /** ZMTP heartbeats (ms): PINGs of the XSUB and PULL, the TTL they carry; `heartbeatIvl` 0: none. */
    heartbeatIvl: number;
    heartbeatTtl: number;
  };
  /** CURVE client keys, or undefined for plain connections. */
  curve: { serverKey: string; publicKey: string; secretKey: string } | undefined;
  /** CURVE server secret key for the PULL socket, or empty. */
  curveServerKey: string;
  overflowPolicy: "BLOCK" | "DROP";
  onloopQueueHwm: number;
  /** The longest topic of an event or a subscription, and node id of a log message, taken in bytes. */
  maxTopicLength: number;
  /** Where to stop reading the XSUB when `onloopQueueHwm` is 0 (never drop), so memory stays bounded. */
  onloopBackpressureAt: number;
  pollMaxMessages: number;
  debug: boolean;
}

/** Transport counters (Zeek's metric names in the comments). */
export interface IoCounters {
  /** `zeek_cluster_zeromq_xpub_drops_total` */
  xpubDrops: number;
  /** `zeek_cluster_zeromq_xpub_blocks_total` */
  xpubBlocks: number;
  /** `zeek_cluster_zeromq_onloop_drops_total` */
  onloopDrops: number;
  /** Malformed messages seen by the worker (part of `zeek_cluster_zeromq_msg_errors_total`). */
  msgErrors: number;
  /** Events handed to the main thread and not processed yet. */
  onloopQueueDepth: number;
  /** Publishes waiting in the local queue for the worker. */
  pendingPublishes: number;
  /** Times a log batch had to wait for a logger (BLOCK). */
  logBlocks: number;
  /**
   * `zeek_cluster_zeromq_disconnects_total{socket=…}`: connections of the XPUB, XSUB, PUSH and PULL
   * that ended (a broker or logger restart, a peer gone or cut off by heartbeats, a frame beyond
   * `maxMessageSize`). Messages in flight on such a connection may be lost.
   */
  xpubDisconnects: number;
  xsubDisconnects: number;
  pushDisconnects: number;
  pullDisconnects: number;
  /** Connections of the XPUB and XSUB to the broker that were made; with the disconnects, whether it is connected now (`/readyz`). */
  xpubConnects: number;
  xsubConnects: number;
}

/** What a queue did with a message. */
export type SendResult = "sent" | "queued" | "dropped";

/** What the worker posts to main. `terminated`: its sockets are closed and the context is terminated. */
export type IoWorkerEvent =
  | { type: "ready"; logListen: string; xpub: SocketHandle; xsub: SocketHandle }
  | { type: "batch"; buffer: ArrayBuffer; events: number; logs: number }
  | { type: "drain" }
  | { type: "log-drain" }
  | { type: "log-dropped"; batches: [seq: number, records: number][] }
  | { type: "pull-closed" }
  | { type: "report"; key: string; message: string }
  | { type: "handshake-failed"; message: string }
  | { type: "terminated" }
  | { type: "failed"; message: string };

/** The start message for a worker: `c`'s endpoints and socket options, and what main decided. */
export function workerStart(
  c: ZeroMQConfig,
  main: Pick<
    IoWorkerStart,
    | "context"
    | "shared"
    | "nodeId"
    | "format"
    | "curve"
    | "logOverflowPolicy"
    | "curveServerKey"
    | "onloopBackpressureAt"
  > & {
    /** The inproc endpoint prefix of the three PAIRs main bound. */
    base: string;
  },
): IoWorkerStart {
  const { base, ...rest } = main;
  return {
    ...rest,
    dataEndpoint: `${base}-data`,
    logEndpoint: `${base}-logs`,
    controlEndpoint: `${base}-control`,
    // Likewise with xpubEngine "bun": main sends on its own connection, the worker's XPUB stays unconnected.
    xpubEndpoint: c.xpubEngine === "bun" ? "" : c.connectXpubEndpoint,
    // With xsubEngine "bun" main connects to the broker's XPUB itself: the worker's XSUB stays unconnected.
    xsubEndpoint: c.xsubEngine === "bun" ? "" : c.connectXsubEndpoint,
    logConnect: c.pushEngine === "bun" ? [] : c.connectLogEndpoints, // main pushes itself with pushEngine "bun"
    logListen: c.pullEngine === "bun" ? "" : c.listenLogEndpoint, // a logger's main listens itself with pullEngine "bun"
    socketOptions: {
      lingerMs: c.lingerMs,
      xpubSndhwm: c.xpubSndhwm,
      xpubSndbuf: c.xpubSndbuf,
      xsubRcvhwm: c.xsubRcvhwm,
      xsubRcvbuf: c.xsubRcvbuf,
      xpubNodrop: c.connectXpubNodrop,
      logSndhwm: c.logSndhwm,
      logRcvhwm: c.logRcvhwm,
      logSndbuf: c.logSndbuf,
      logRcvbuf: c.logRcvbuf,
      logImmediate: c.logImmediate,
      maxMessageSize: c.maxMessageSize,
      heartbeatIvl: c.heartbeatIvl,
      heartbeatTtl: c.heartbeatTtl,
    },
    overflowPolicy: c.overflowPolicy,
    onloopQueueHwm: c.onloopQueueHwm,
    maxTopicLength: c.maxTopicLength,
    pollMaxMessages: c.pollMaxMessages,
    debug: (c.debugFlags & 1) !== 0,
  };
}

/** The counters of a node's transport: the shared ones, and those main keeps (`localDrops`, `pending`). */
export function readIoCounters(s: SharedState, localDrops: number, pending: number): IoCounters {
  return {
    xpubDrops: readCounter(s, Counter.XpubDrops) + localDrops,
    xpubBlocks: readCounter(s, Counter.XpubBlocks),
    onloopDrops: readCounter(s, Counter.OnloopDrops),
    msgErrors: readCounter(s, Counter.MsgErrors),
    onloopQueueDepth: Atomics.load(s.ints, Slot.OnloopDepth),
    pendingPublishes: pending,
    logBlocks: readCounter(s, Counter.LogBlocks),
    xpubDisconnects: readCounter(s, Counter.XpubDisconnects),
    xsubDisconnects: readCounter(s, Counter.XsubDisconnects),
    pushDisconnects: readCounter(s, Counter.PushDisconnects),
    pullDisconnects: readCounter(s, Counter.PullDisconnects),
    xpubConnects: readCounter(s, Counter.XpubConnects),
    xsubConnects: readCounter(s, Counter.XsubConnects),
  };
}
