/**
 * @module Main's own connections to the broker and the loggers, and a logger's own PULL socket, where
 * the options ask for them (`xsubEngine`, `xpubEngine`, `pushEngine`, `pullEngine` "bun"): made,
 * started and closed for `_io-thread.ts`, which then leaves the worker's socket of that side
 * unconnected. Not part of the public API.
 */

import { getSystemErrorMessage } from "node:util";
import type { SharedState } from "./_channel.ts";
import { ZmtpPull } from "./_zmtp-pull.ts";
import { ZmtpPush } from "./_zmtp-push.ts";
import { ZmtpXpub } from "./_zmtp-xpub.ts";
import { ZmtpXsub } from "./_zmtp-xsub.ts";
import type { ZeroMQConfig } from "./config.ts";
import { ClusterError } from "./errors.ts";

/** Where what main's connections receive goes. */
export interface EngineSinks {
  /** A batch of event or log records from the XSUB connection or the PULL (counted as waiting on main). */
  received(buffer: ArrayBuffer): void;
  /** A subscription (`true`) or unsubscription from the XPUB connection. */
  notice(subscribe: boolean, topic: Uint8Array): void;
  /** Log batches, as [seq, records], that were dropped before reaching a logger (the PUSH connections). */
  logDropped(batches: [number, number][]): void;
  /** Reports a problem once per key. */
  report(key: string, message: string): void;
  handshakeFailed(message: string): void;
}

/** Main's connections, each present if its option says "bun". */
export interface Engines {
  xsub?: ZmtpXsub;
  xpub?: ZmtpXpub;
  push?: ZmtpPush;
  pull?: ZmtpPull | undefined;
}

/**
 * A logger's own PULL socket, listening, if `c` asks for it (made before the I/O Worker starts, so that
 * a bind that fails leaves nothing to stop). A bind that fails is a `ClusterError` as libzmq's is.
 */
export function listenPull(c: ZeroMQConfig, state: SharedState, sinks: EngineSinks): ZmtpPull | undefined {
  if (c.pullEngine !== "bun" || c.listenLogEndpoint === "") return undefined;
  try {
    return new ZmtpPull(c, state, sinks);
  } catch (err) {
    const { code, errno } = err as { code?: string; errno?: number };
    const text = errno ? getSystemErrorMessage(-Math.abs(errno)) : String(err);
    const why = `${text.charAt(0).toUpperCase()}${text.slice(1)}${code ? ` (${code})` : ""}`;
    throw new ClusterError("IO_THREAD_FAILED", `Cannot bind PULL socket to '${c.listenLogEndpoint}': ${why}`);
  }
}

/** Makes and starts the connections `c` asks main to run itself. */
export function startEngines(
  c: ZeroMQConfig,
  state: SharedState,
  id: Uint8Array,
  format: Uint8Array,
  sinks: EngineSinks,
): Engines {
  const engines: Engines = {};
  if (c.xsubEngine === "bun") engines.xsub = new ZmtpXsub(c, state, id, sinks);
  if (c.xpubEngine === "bun") engines.xpub = new ZmtpXpub(c, state, id, format, sinks);
  if (c.pushEngine === "bun" && c.connectLogEndpoints.length > 0) engines.push = new ZmtpPush(c, state, id, sinks);
  engines.xsub?.start();
  engines.xpub?.start();
  engines.push?.start();
  return engines;
}

/** Closes main's connections and its PULL: what the XPUB and PUSH connections hold gets `graceMs` to go out. */
export async function closeEngines(
  engines: Engines,
  graceMs: number,
  report: (message: string) => void,
): Promise<void> {
  engines.xsub?.close();
  engines.pull?.close();
  const unsent = await engines.xpub?.closeWithin(graceMs);
  if (unsent) report(`dropped ${unsent} queued publishes at shutdown`);
  await engines.push?.closeWithin(graceMs);
}
