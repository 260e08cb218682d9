/**
 * @module Main's own connections to the broker and the loggers, where the options ask for them
 * (`xsubEngine`, `xpubEngine`, `pushEngine` "bun"): made and started for `_io-thread.ts`, which then
 * leaves the worker's socket of that side unconnected. Not part of the public API.
 */

import type { SharedState } from "./_channel.ts";
import { ZmtpPush } from "./_zmtp-push.ts";
import { ZmtpXpub } from "./_zmtp-xpub.ts";
import { ZmtpXsub } from "./_zmtp-xsub.ts";
import type { ZeroMQConfig } from "./config.ts";

/** Where what main's connections receive goes. */
export interface EngineSinks {
  /** A batch of event records from the XSUB connection (its events counted as waiting on main). */
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
