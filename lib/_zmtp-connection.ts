/**
 * @module One ZMTP 3.0 connection run by main on Bun's own socket (the `"bun"` engines of a node's
 * XSUB, XPUB and PUSH, which connect, and of a logger's PULL, which accepts): connecting and
 * reconnecting, the greeting and `READY` of the NULL mechanism, frame headers checked against
 * `maxFrameSize` before anything is kept, `PING`/`PONG`, `ERROR`, and writes that the kernel takes
 * later. What the frames mean is the subclass's (`_zmtp-xsub.ts`, `_zmtp-xpub.ts`, `_zmtp-push.ts`,
 * `_zmtp-pull.ts`). Not part of the public API.
 */

import { bump, type Counter, type SharedState } from "./_channel.ts";
import {
  Command,
  FrameFlag,
  FrameHeader,
  Greeting,
  greeting,
  greetingProblem,
  Outbox,
  ping,
  pong,
  readCommand,
  readErrorReason,
  ready,
  readyProblem,
  type ZmtpAddress,
  zmtpAddress,
} from "./_zmtp.ts";

/** libzmq's `ZMQ_RECONNECT_IVL` default: how soon a lost connection is made again. */
const RECONNECT_MS = 100;
/** After a protocol error, at most one reconnect this often (as the worker's monitors do). */
const RECONNECT_AFTER_ERROR_MS = 1000;
/** libzmq's `ZMQ_HANDSHAKE_IVL` default. */
const HANDSHAKE_MS = 30_000;

/** What a connection is and where its counts and problems go. */
export interface ZmtpConnectionSpec {
  endpoint: string;
  /** Ours, as `READY` says it (`XSUB`, `XPUB`), and the peer's types we talk to. */
  socketType: string;
  peerTypes: ReadonlySet<string>;
  /** A larger frame ends the connection; -1: no limit. */
  maxFrameSize: number;
  /** `PING`s this often (0: none), carrying `heartbeatTtl`. */
  heartbeatIvl: number;
  heartbeatTtl: number;
  state: SharedState;
  /** Connections made (none kept for the PUSH and the PULL). */
  connects: Counter | undefined;
  disconnects: Counter;
  /** Reports a problem once per key. */
  report(key: string, message: string): void;
  handshakeFailed(message: string): void;
}

type Connection = Bun.Socket<unknown>;

/** The transport half of one of main's own ZMTP connections. */
export abstract class ZmtpConnection {
  protected readonly spec: ZmtpConnectionSpec;
  readonly #address: ZmtpAddress;
  readonly #ping: Uint8Array;
  #socket: Connection | undefined;
  #closed = false;
  /** Accepted by a listening socket: never made again once lost. */
  #accepted = false;
  #connecting = false;
  #greeted = false;
  #ready = false;
  #paused = false;
  /** Bytes not yet parsed: the start of a frame (or of the greeting). */
  #pending = new Uint8Array(0);
  #pendingLength = 0;
  /** Bytes the kernel did not take yet, in order. */
  protected readonly outbox: Outbox = new Outbox();
  #heartbeat: ReturnType<typeof setInterval> | undefined;
  #handshakeTimer: ReturnType<typeof setTimeout> | undefined;
  #reconnect: ReturnType<typeof setTimeout> | undefined;
  /** Why the connection is being closed by this side, if it is. */
  #protocolError = "";
  /** Whether that error was reported already (a failed handshake is, as it happens). */
  #protocolReported = false;
  /** The protocol error that ended the last connection, reported once the next one is made. */
  #afterError = "";

  constructor(spec: ZmtpConnectionSpec) {
    const address = zmtpAddress(spec.endpoint);
    if (!address) throw new RangeError(`a "bun" engine cannot connect to ${JSON.stringify(spec.endpoint)}`);
    this.spec = spec;
    this.#address = address;
    this.#ping = ping(spec.heartbeatTtl);
  }

  /** Whether the handshake is done and frames flow. */
  get ready(): boolean {
    return this.#ready;
  }

  /** The handshake is done: send what a new connection needs. */
  protected abstract onReady(): void;
  /**
   * A data frame, `buf[start, end)` (`more`: another frame of the message follows). `buf` is reused
   * after {@linkcode onChunkEnd}: keep a copy of what must outlive it.
   */
  protected abstract onFrame(buf: Uint8Array, start: number, end: number, more: boolean): void;
  /** The end of what one read brought: views of it are about to be reused. */
  protected abstract onChunkEnd(): void;
  /**
   * The connection is gone (anything of a message half read is forgotten), with `unsent` events never
   * written in full and the tags of what they were written with.
   */
  protected abstract onLost(unsent: number, tags: unknown[]): void;
  /** The kernel took everything written. */
  protected onDrained(): void {}
  /** A command other than the handshake's, `PING`, `PONG` and `ERROR` (ZMTP 3.1's `SUBSCRIBE`, `CANCEL`). */
  protected onCommand(_name: string, _data: Uint8Array): void {}

  /** Connects, and keeps connecting until {@linkcode close}. */
  start(): void {
    if (this.#closed || this.#accepted || this.#socket || this.#connecting) return;
    this.#connecting = true;
    const handlers = ZmtpConnection.#handlers<undefined>(() => this);
    const connecting =
      "unix" in this.#address
        ? Bun.connect({ unix: this.#address.unix, socket: handlers })
        : Bun.connect({ hostname: this.#address.hostname, port: this.#address.port, socket: handlers });
    connecting.then(
      (s) => {
        this.#connecting = false;
        if (this.#closed) s.terminate();
      },
      () => {
        this.#connecting = false;
        this.#again(RECONNECT_MS);
      },
    );
  }

  /**
   * The socket handlers of a listening socket: each connection it accepts is run by the connection
   * `make()` returns (kept as the socket's `data`), which is never made again once lost.
   */
  static accepting<T extends ZmtpConnection>(make: () => T): Bun.SocketHandler<T | undefined> {
    return ZmtpConnection.#handlers<T | undefined>((s) => {
      if (s.data) return s.data;
      const made = (s.data = make());
      made.#accepted = true;
      return made;
    });
  }

  static #handlers<D>(of: (s: Bun.Socket<D>) => ZmtpConnection): Bun.SocketHandler<D> {
    return {
      binaryType: "uint8array",
      open: (s) => of(s).#open(s),
      data: (s, chunk: Uint8Array) => of(s).#data(chunk),
      drain: (s) => {
        const c = of(s);
        c.outbox.flush(s);
        if (c.outbox.empty) c.onDrained();
      },
      close: (s) => of(s).#lost(),
      // The peer closing its side (a heartbeat timeout, a restart) ends ours: no half-open connection.
      end: (s) => s.terminate(),
      error: (s) => of(s).#lost(),
    };
  }

  /** Closes the connection for good. */
  close(): void {
    this.#closed = true;
    clearTimeout(this.#reconnect);
    this.#socket?.terminate();
    this.#lost();
  }

  /** Stops reading (the kernel's buffer then pushes back on the peer). */
  protected pause(): void {
    if (this.#paused || !this.#socket) return;
    this.#paused = true;
    this.#socket.pause();
  }

  /** Reads again after {@linkcode pause}. */
  resume(): void {
    if (!this.#paused) return;
    this.#paused = false;
    this.#socket?.resume();
  }

  /** Writes now, or once what waits went out; nothing while not connected. */
  protected write(bytes: Uint8Array, events = 0, tag?: unknown): void {
    if (this.#socket) this.outbox.write(this.#socket, bytes, events, tag);
  }

  // libzmq arms its TTL timer on a PING and disarms it on any other input: so whatever this side
  // writes is followed by a PING, and the broker always has the timer running (libzmq's own XSUB does
  // not do this: a node stopped right after it subscribed is not found, see test/hung-node.test.ts).
  // A PING waits behind nothing: with bytes still queued the peer is not reading anyway.
  protected beat(): void {
    if (this.spec.heartbeatIvl > 0 && this.outbox.empty) this.write(this.#ping);
  }

  #open(s: Connection): void {
    this.#socket = s;
    if (this.spec.connects !== undefined) bump(this.spec.state, this.spec.connects);
    if (this.#afterError) {
      // As the worker's monitors say it of libzmq's sockets (once per endpoint).
      const { socketType, endpoint } = this.spec;
      const message = `${socketType}: connected to ${endpoint} again after a protocol error (${this.#afterError})`;
      this.spec.report(`reconnect-${endpoint}`, message);
      this.#afterError = "";
    }
    this.#handshakeTimer = setTimeout(() => this.#fail("no handshake within 30 s"), HANDSHAKE_MS);
    this.write(greeting());
  }

  /** Ends the connection after a protocol error: connected again a second later, and reported then. */
  #fail(reason: string): false {
    this.#protocolError = reason;
    this.#socket?.terminate();
    return false;
  }

  #handshakeFailed(reason: string): false {
    this.spec.handshakeFailed(`ZeroMQ: Handshake for socket ${this.spec.endpoint} failed: ${reason}`);
    this.#fail(reason);
    this.#protocolReported = true;
    return false;
  }

  #lost(): void {
    if (!this.#socket) return;
    this.#socket = undefined;
    bump(this.spec.state, this.spec.disconnects);
    clearInterval(this.#heartbeat);
    clearTimeout(this.#handshakeTimer);
    this.#greeted = this.#ready = this.#paused = false;
    this.#pendingLength = 0;
    const tags = this.outbox.tags;
    this.onLost(this.outbox.clear(), tags);
    if (this.#accepted && this.#protocolError && !this.#protocolReported) {
      const { socketType, endpoint } = this.spec;
      const message = `${socketType}: closed a connection on ${endpoint} after a protocol error (${this.#protocolError})`;
      this.spec.report(`protocol-${endpoint}-${this.#protocolError.replace(/\d+/g, "N")}`, message); // once per kind
    }
    this.#protocolReported = false;
    this.#again(this.#protocolError ? RECONNECT_AFTER_ERROR_MS : RECONNECT_MS);
    this.#afterError = this.#protocolError;
    this.#protocolError = "";
  }

  #again(ms: number): void {
    if (this.#closed || this.#accepted) return;
    clearTimeout(this.#reconnect);
    this.#reconnect = setTimeout(() => this.start(), ms);
  }

  #data(chunk: Uint8Array): void {
    let buf = chunk;
    if (this.#pendingLength > 0) {
      this.#keep(chunk);
      buf = this.#pending.subarray(0, this.#pendingLength);
    }
    let at = 0;
    if (!this.#greeted) {
      if (buf.length < Greeting.Size) {
        if (buf === chunk) this.#keep(chunk);
        return;
      }
      const failed = greetingProblem(buf.subarray(0, Greeting.Size));
      if (failed) return void this.#handshakeFailed(failed);
      this.#greeted = true;
      this.write(ready({ "Socket-Type": this.spec.socketType }));
      at = Greeting.Size;
    }
    at = this.#parse(buf, at);
    this.onChunkEnd(); // what came before a protocol error was whole and checked
    if (this.#protocolError !== "" || !this.#socket) return;
    const rest = buf.subarray(at);
    this.#pendingLength = 0;
    if (rest.length > 0) this.#keep(rest);
  }

  /** Appends `bytes` to the unparsed bytes (`bytes` may be a view of them: `set` copies overlaps right). */
  #keep(bytes: Uint8Array): void {
    const need = this.#pendingLength + bytes.length;
    if (need > this.#pending.length) {
      const grown = new Uint8Array(Math.max(need, 2 * this.#pending.length, 4096));
      grown.set(this.#pending.subarray(0, this.#pendingLength));
      this.#pending = grown;
    }
    this.#pending.set(bytes, this.#pendingLength);
    this.#pendingLength = need;
  }

  /** Parses whole frames of `buf` from `at`; returns where the first incomplete one starts. */
  #parse(buf: Uint8Array, at: number): number {
    const limit = this.spec.maxFrameSize;
    while (buf.length - at >= FrameHeader.Short) {
      const flags = buf[at]!;
      let size = buf[at + 1]!;
      let head: number = FrameHeader.Short;
      if (flags & FrameFlag.Long) {
        if (buf.length - at < FrameHeader.Long) break;
        // Sizes of 2 GiB or more fit no buffer here (and no sane limit): the high bytes must be 0.
        if (buf[at + 1]! | buf[at + 2]! | buf[at + 3]! | buf[at + 4]! | (buf[at + 5]! & 0x80)) {
          return this.#protocol(buf, "a frame of 2 GiB or more");
        }
        size = ((buf[at + 5]! << 24) | (buf[at + 6]! << 16) | (buf[at + 7]! << 8) | buf[at + 8]!) >>> 0;
        head = FrameHeader.Long;
      }
      if (flags & FrameFlag.Reserved) return this.#protocol(buf, "a frame with reserved flag bits set");
      if (limit >= 0 && size > limit) return this.#protocol(buf, `a frame of ${size} bytes, beyond maxMessageSize`);
      if (buf.length - at < head + size) break;
      const start = at + head;
      at = start + size;
      if (flags & FrameFlag.Command) {
        // libzmq puts a PONG between the frames of a message when a PING comes in meanwhile.
        if (flags & FrameFlag.More) return this.#protocol(buf, "a command with the MORE flag");
        if (!this.#command(buf.subarray(start, at))) return buf.length;
      } else if (!this.#ready) {
        return this.#protocol(buf, "a message before READY");
      } else {
        this.onFrame(buf, start, at, (flags & FrameFlag.More) !== 0);
      }
    }
    return at;
  }

  /** Fails the connection; returns the end of `buf` (nothing more of it is parsed). */
  #protocol(buf: Uint8Array, reason: string): number {
    this.#fail(reason);
    return buf.length;
  }

  /** Handles a command; `false` if the connection ends. */
  #command(body: Uint8Array): boolean {
    const cmd = readCommand(body);
    if (!cmd) return this.#fail("a command cut short");
    if (!this.#ready) {
      const failed = readyProblem(cmd, this.spec.peerTypes);
      if (failed) return this.#handshakeFailed(failed);
      this.#ready = true;
      clearTimeout(this.#handshakeTimer);
      this.onReady();
      if (this.spec.heartbeatIvl > 0) {
        this.beat();
        this.#heartbeat = setInterval(() => this.beat(), this.spec.heartbeatIvl);
        this.#heartbeat.unref();
      }
    } else if (cmd.name === Command.Ping) {
      this.write(pong(cmd.data));
      this.beat();
    } else if (cmd.name === Command.Error) {
      return this.#fail(`the peer sent ERROR: ${readErrorReason(cmd.data)}`);
    } else if (cmd.name !== Command.Pong) {
      this.onCommand(cmd.name, cmd.data);
    }
    return true;
  }
}
