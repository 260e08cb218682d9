/**
 * @module A logger's PULL socket spoken by main itself (`pullEngine: "bun"`): main listens on
 * `listenLogEndpoint` with Bun's own socket and runs each writer's ZMTP connection
 * (`_zmtp-connection.ts`, accepted, so never made again). Each log message is checked as
 * `_io-reader.ts` checks the worker's (four frames, a sender within `maxTopicLength`), gathered into
 * records for the inbox at the end of each read and counted as waiting on main (`Slot.LogDepth`).
 * While `LOG_BACKPRESSURE_AT` batches wait, no connection is read: the writers' sockets fill and they
 * wait (BLOCK) or drop and count (DROP), as in front of libzmq's PULL. Not part of the public API.
 */

import { lstatSync, rmSync } from "node:fs";
import { Kind, MessageRecords } from "./_batch.ts";
import { bump, Counter, LOG_BACKPRESSURE_AT, type SharedState, Slot } from "./_channel.ts";
import { LogFrame, MESSAGE_FRAMES } from "./_frames.ts";
import { LogProblem } from "./_io-reader.ts";
import { MessageFrames, type ZmtpAddress, zmtpListenAddress } from "./_zmtp.ts";
import { ZmtpConnection, type ZmtpConnectionSpec } from "./_zmtp-connection.ts";
import type { ZeroMQConfig } from "./config.ts";

/** The options the socket follows. */
export type ZmtpPullConfig = Pick<
  ZeroMQConfig,
  "listenLogEndpoint" | "maxMessageSize" | "maxTopicLength" | "heartbeatIvl" | "heartbeatTtl" | "ipv6"
>;

/** Where the socket's results go. */
export interface ZmtpPullSinks {
  /** Takes a batch of log records (already counted as waiting on main). */
  received(buffer: ArrayBuffer): void;
  /** Reports a problem once per key. */
  report(key: string, message: string): void;
  handshakeFailed(message: string): void;
}

const PUSHERS: ReadonlySet<string> = new Set(["PUSH"]);

/** One writer's connection. */
class PullConnection extends ZmtpConnection {
  readonly #frames = new MessageFrames();

  constructor(
    spec: ZmtpConnectionSpec,
    readonly owner: ZmtpPull,
  ) {
    super(spec);
  }

  /** Stops reading until {@linkcode resume}. */
  pauseReading(): void {
    this.pause();
  }

  protected onReady(): void {}

  protected onFrame(buf: Uint8Array, start: number, end: number, more: boolean): void {
    this.#frames.add(buf, start, end);
    if (!more) this.#message();
  }

  protected onChunkEnd(): void {
    this.owner.handOver(this);
    this.#frames.keep(); // a message cut short keeps its frames as copies: the bytes under them are reused
  }

  protected onLost(): void {
    this.#frames.reset();
    this.owner.forget(this);
  }

  #message(): void {
    const frames = this.#frames;
    const parts = frames.parts;
    frames.reset();
    if (parts !== MESSAGE_FRAMES) return this.owner.malformed("log-parts", LogProblem.parts(parts));
    if (frames.size(LogFrame.Sender) > this.owner.maxTopicLength)
      return this.owner.malformed("log-sender", LogProblem.sender(this.owner.maxTopicLength));
    this.owner.records.addFrames(frames.from, frames.starts, frames.ends, Kind.Log);
  }
}

/** A logger's PULL socket, run by main: listening from construction until {@linkcode close}. */
export class ZmtpPull {
  /** Where it listens, as a writer connects to it (a wildcard port resolved). */
  readonly endpoint: string;
  readonly maxTopicLength: number;
  /** Log messages read and not yet handed to the inbox. */
  readonly records: MessageRecords = new MessageRecords();
  readonly #state: SharedState;
  readonly #sinks: ZmtpPullSinks;
  readonly #spec: ZmtpConnectionSpec;
  readonly #server:
    | Bun.TCPSocketListener<PullConnection | undefined>
    | Bun.UnixSocketListener<PullConnection | undefined>;
  readonly #connections = new Set<PullConnection>();
  /** The ipc path this socket made, removed at close (as libzmq removes it). */
  readonly #path: string | undefined;
  #paused = false;

  /** Listens on `c.listenLogEndpoint`; throws what the kernel says when it cannot (the address in use). */
  constructor(c: ZmtpPullConfig, state: SharedState, sinks: ZmtpPullSinks) {
    const address = zmtpListenAddress(c.listenLogEndpoint, c.ipv6);
    if (!address) throw new RangeError(`a "bun" engine cannot listen on ${JSON.stringify(c.listenLogEndpoint)}`);
    [this.maxTopicLength, this.#state, this.#sinks] = [c.maxTopicLength, state, sinks];
    const socket = ZmtpConnection.accepting(() => this.#accept());
    if ("unix" in address) {
      removeStaleSocket(address.unix);
      this.#server = Bun.listen<PullConnection | undefined>({ unix: address.unix, socket });
      this.#path = address.unix;
      this.endpoint = `ipc://${address.unix}`;
    } else {
      const server = Bun.listen<PullConnection | undefined>({ ...listenHost(address), port: address.port, socket });
      this.#server = server;
      this.endpoint = `tcp://${bracketed(listenHost(address).hostname)}:${server.port}`;
    }
    this.#spec = {
      endpoint: this.endpoint,
      socketType: "PULL",
      peerTypes: PUSHERS,
      maxFrameSize: c.maxMessageSize,
      // The side that receives the bulk sends the PINGs: a writer's libzmq cuts off a logger it stops hearing.
      heartbeatIvl: c.heartbeatIvl,
      heartbeatTtl: c.heartbeatTtl,
      state,
      connects: undefined,
      disconnects: Counter.PullDisconnects,
      report: sinks.report,
      handshakeFailed: sinks.handshakeFailed,
    };
  }

  #accept(): PullConnection {
    const connection = new PullConnection(this.#spec, this);
    this.#connections.add(connection);
    return connection;
  }

  /** @internal A connection is gone. */
  forget(connection: PullConnection): void {
    this.#connections.delete(connection);
  }

  /** @internal Counts and reports a malformed message, which is skipped. */
  malformed(key: string, message: string): void {
    bump(this.#state, Counter.MsgErrors);
    this.#sinks.report(key, message);
  }

  /** @internal The end of a read of `from`: what was gathered goes to the inbox, and reading stops when enough waits. */
  handOver(from: PullConnection): void {
    const logs = this.records.logs;
    if (logs > 0) {
      const depth = Atomics.add(this.#state.ints, Slot.LogDepth, logs) + logs;
      this.#sinks.received(this.records.take());
      if (depth >= LOG_BACKPRESSURE_AT && !this.#paused) {
        this.#paused = true;
        for (const c of this.#connections) c.pauseReading();
      }
    }
    if (this.#paused) from.pauseReading(); // one accepted while the others were paused
  }

  /** Reads again once fewer than `LOG_BACKPRESSURE_AT` batches wait on main (called as the inbox takes some). */
  logsTaken(): void {
    if (!this.#paused || Atomics.load(this.#state.ints, Slot.LogDepth) >= LOG_BACKPRESSURE_AT) return;
    this.#paused = false;
    for (const c of this.#connections) c.resume();
  }

  /**
   * Stops listening and closes every connection: what was read in full has gone to the inbox; a message
   * cut short is forgotten, as libzmq's PULL forgets one (its writer counts it unacknowledged).
   */
  close(): void {
    this.#server.stop(true);
    for (const c of [...this.#connections]) c.close();
    if (this.#path) rmSync(this.#path, { force: true });
  }
}

/**
 * libzmq removes a socket file left by an earlier run before it binds; anything else at the path
 * stays (and the bind fails).
 */
function removeStaleSocket(path: string): void {
  try {
    if (lstatSync(path).isSocket()) rmSync(path);
  } catch {
    // nothing there
  }
}

/** `localhost` is 127.0.0.1, as libzmq resolves it without IPv6: the writers connect to what this says. */
const listenHost = (a: Extract<ZmtpAddress, { port: number }>) => ({
  hostname: a.hostname === "localhost" ? "127.0.0.1" : a.hostname,
});
const bracketed = (host: string) => (host.includes(":") ? `[${host}]` : host);
