/**
 * @module ZMTP 3.0 (rfc.zeromq.org/spec/23) as far as main's own connections need it (the `"bun"`
 * engines): the greeting with the NULL mechanism, `READY` and its properties, frame headers,
 * `PING`/`PONG`/`ERROR`. Every byte layout of the protocol is here, with names; `_zmtp-connection.ts`
 * runs a connection with it.
 * What the peer sends is checked against the bytes before anything is read from them. Not public.
 */

import { MESSAGE_FRAMES } from "./_frames.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** The 64-byte greeting: signature, version, mechanism, as-server flag, filler. */
export const Greeting = {
  Size: 64,
  /** Byte 0 of the signature. */
  SignatureFirst: 0,
  /** Byte 9 of the signature (its low bit is set). */
  SignatureLast: 9,
  Major: 10,
  Minor: 11,
  Mechanism: 12,
  MechanismSize: 20,
  AsServer: 32,
} as const;

/** The flags byte that starts every frame. */
export const FrameFlag = { More: 0x01, Long: 0x02, Command: 0x04, Reserved: 0xf8 } as const;

/** Frame header sizes: flags and a 1-byte or an 8-byte (big-endian) body size. */
export const FrameHeader = { Short: 2, Long: 9, ShortMax: 255 } as const;

/** Command names this side sends or understands. */
export const Command = {
  Ready: "READY",
  Ping: "PING",
  Pong: "PONG",
  Error: "ERROR",
  Subscribe: "SUBSCRIBE",
  Cancel: "CANCEL",
} as const;

/** A PING's body after its name: a TTL in tenths of a second (u16), then up to 16 bytes of context. */
export const Ping = { TtlSize: 2, MaxContext: 16 } as const;

/**
 * Our greeting: version 3.0, NULL mechanism, client. Subscriptions go as 3.0 messages (`0x01prefix`);
 * libzmq (the broker, Zeek's sockets) also answers this side's `PING`s and sends its own, which 3.1
 * added, to a 3.0 peer. A 3.1 peer's `SUBSCRIBE` and `CANCEL` commands are understood too.
 */
export function greeting(): Uint8Array {
  const g = new Uint8Array(Greeting.Size);
  g[Greeting.SignatureFirst] = 0xff;
  g[Greeting.SignatureLast] = 0x7f;
  g[Greeting.Major] = 3;
  g[Greeting.Minor] = 0;
  g.set(encoder.encode("NULL"), Greeting.Mechanism);
  return g;
}

/** What a peer's greeting says, or why it cannot be spoken to. */
export function readGreeting(g: Uint8Array): { mechanism: string } | { error: string } {
  if (g[Greeting.SignatureFirst] !== 0xff || (g[Greeting.SignatureLast]! & 1) !== 1) {
    return { error: "not a ZMTP peer (bad signature)" };
  }
  if (g[Greeting.Major]! < 3) return { error: `ZMTP ${g[Greeting.Major]}.x is not spoken here (3.0 or later)` };
  const field = g.subarray(Greeting.Mechanism, Greeting.Mechanism + Greeting.MechanismSize);
  const end = field.indexOf(0);
  return { mechanism: decoder.decode(end < 0 ? field : field.subarray(0, end)) };
}

/** Why a peer's greeting ends a NULL handshake, or "" if it does not. */
export function greetingProblem(g: Uint8Array): string {
  const peer = readGreeting(g);
  if ("error" in peer) return peer.error;
  if (peer.mechanism === "NULL") return "";
  return `the peer's security mechanism is ${peer.mechanism}, this node's NULL (CURVE needs the engine "libzmq")`;
}

/** Why the first command of a peer is not the `READY` of one of `types`, or "" if it is. */
export function readyProblem(cmd: { name: string; data: Uint8Array }, types: ReadonlySet<string>): string {
  const type = cmd.name === Command.Ready ? readProperties(cmd.data)?.get("socket-type") : undefined;
  if (type === undefined) return `expected READY, got ${cmd.name}`;
  return types.has(type) ? "" : `the peer is a ${type} socket`;
}

/** The bytes of the header of a frame with a body of `size` bytes. */
export function frameHeaderSize(size: number): number {
  return size <= FrameHeader.ShortMax ? FrameHeader.Short : FrameHeader.Long;
}

/**
 * Writes the header of a frame with a body of `size` bytes (below 4 GiB) at `at` of `out`, the long form
 * when the size needs it; returns where the body starts.
 */
export function putFrameHeader(out: Uint8Array, at: number, flags: number, size: number): number {
  if (size <= FrameHeader.ShortMax) {
    out[at] = flags;
    out[at + 1] = size;
    return at + FrameHeader.Short;
  }
  out[at] = flags | FrameFlag.Long;
  out[at + 1] = out[at + 2] = out[at + 3] = out[at + 4] = 0;
  out[at + 5] = size >>> 24;
  out[at + 6] = (size >>> 16) & 0xff;
  out[at + 7] = (size >>> 8) & 0xff;
  out[at + 8] = size & 0xff;
  return at + FrameHeader.Long;
}

/** A whole frame: header and body. */
export function frame(flags: number, body: Uint8Array): Uint8Array {
  const out = new Uint8Array(frameHeaderSize(body.length) + body.length);
  out.set(body, putFrameHeader(out, 0, flags, body.length));
  return out;
}

/** A command frame: `[name length][name][data]`. */
export function command(name: string, data: Uint8Array = new Uint8Array(0)): Uint8Array {
  const n = encoder.encode(name);
  const body = new Uint8Array(1 + n.length + data.length);
  body[0] = n.length;
  body.set(n, 1);
  body.set(data, 1 + n.length);
  return frame(FrameFlag.Command, body);
}

/** `READY` with the given properties (`[name length][name][u32 value length][value]` each). */
export function ready(properties: Record<string, string>): Uint8Array {
  const parts: Uint8Array[] = [];
  for (const [name, value] of Object.entries(properties)) {
    const n = encoder.encode(name);
    const v = encoder.encode(value);
    const p = new Uint8Array(1 + n.length + 4 + v.length);
    p[0] = n.length;
    p.set(n, 1);
    new DataView(p.buffer).setUint32(1 + n.length, v.length);
    p.set(v, 5 + n.length);
    parts.push(p);
  }
  const data = new Uint8Array(parts.reduce((sum, p) => sum + p.length, 0));
  let at = 0;
  for (const p of parts) {
    data.set(p, at);
    at += p.length;
  }
  return command(Command.Ready, data);
}

/** A `PING` carrying `ttlMs` (rounded down to tenths of a second, as libzmq does) and no context. */
export function ping(ttlMs: number): Uint8Array {
  const ttl = Math.min(0xffff, Math.floor(ttlMs / 100));
  return command(Command.Ping, new Uint8Array([ttl >> 8, ttl & 0xff]));
}

/** A command's name and data, or `undefined` if its body is cut short. */
export function readCommand(body: Uint8Array): { name: string; data: Uint8Array } | undefined {
  if (body.length < 1 || body.length < 1 + body[0]!) return undefined;
  return { name: decoder.decode(body.subarray(1, 1 + body[0]!)), data: body.subarray(1 + body[0]!) };
}

/** The properties of a `READY`'s data, or `undefined` if a length runs past the bytes. */
export function readProperties(data: Uint8Array): Map<string, string> | undefined {
  const out = new Map<string, string>();
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  let at = 0;
  while (at < data.length) {
    const nameLength = data[at]!;
    if (at + 1 + nameLength + 4 > data.length) return undefined;
    const name = decoder.decode(data.subarray(at + 1, at + 1 + nameLength));
    const valueLength = view.getUint32(at + 1 + nameLength);
    const valueAt = at + 1 + nameLength + 4;
    if (valueLength > data.length - valueAt) return undefined;
    out.set(name.toLowerCase(), decoder.decode(data.subarray(valueAt, valueAt + valueLength)));
    at = valueAt + valueLength;
  }
  return out;
}

/** A `PONG` answering a `PING` whose data (after the name) is `data`. */
export function pong(data: Uint8Array): Uint8Array {
  const context = data.subarray(Ping.TtlSize, Ping.TtlSize + Ping.MaxContext);
  return command(Command.Pong, context);
}

/** The reason an `ERROR` command gives (`[length][reason]`), as far as its bytes go. */
export function readErrorReason(data: Uint8Array): string {
  return decoder.decode(data.subarray(1, 1 + Math.min(data[0] ?? 0, data.length - 1)));
}

/** Where a ZMTP connection of our own goes: `tcp://host:port` or `ipc://path` (not abstract). */
export type ZmtpAddress = { hostname: string; port: number } | { unix: string };

/** The address of a `tcp://` or `ipc://` endpoint this side can connect to itself, or `undefined`. */
export function zmtpAddress(endpoint: string): ZmtpAddress | undefined {
  const ipc = /^ipc:\/\/([^@].*)$/.exec(endpoint);
  if (ipc) return { unix: ipc[1]! };
  // No source address (`tcp://src;host:port`) and no wildcard: those stay libzmq's.
  const tcp = /^tcp:\/\/(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/.exec(endpoint);
  if (!tcp) return undefined;
  const port = Number(tcp[2]);
  if (port < 1 || port > 65535) return undefined;
  return { hostname: tcp[1]!.replace(/^\[(.*)\]$/, "$1"), port };
}

/**
 * The address a `tcp://` or `ipc://` endpoint asks this side to listen on itself, or `undefined`: host
 * `*` (every address), an IP address or `localhost`, port `*` (any, 0 here) or a number. Interface
 * names and the rest stay libzmq's.
 */
export function zmtpListenAddress(endpoint: string, ipv6: boolean): ZmtpAddress | undefined {
  const tcp = /^tcp:\/\/(\*|\[[0-9a-fA-F:.]+\]|[0-9.]+|localhost):(\*|\d{1,5})$/.exec(endpoint);
  if (!tcp) return endpoint.startsWith("tcp://") ? undefined : zmtpAddress(endpoint);
  const port = tcp[2] === "*" ? 0 : Number(tcp[2]);
  if (port > 65535 || (tcp[2] !== "*" && port < 1)) return undefined;
  const host = tcp[1]!;
  if (host === "*") return { hostname: ipv6 ? "::" : "0.0.0.0", port };
  if (/^[0-9.]+$/.test(host) && !/^(\d{1,3}\.){3}\d{1,3}$/.test(host)) return undefined;
  return { hostname: host.replace(/^\[(.*)\]$/, "$1"), port };
}

/** What a socket's `write` did not take, written on its `drain`: ZMTP frames must go out whole and in order. */
export class Outbox {
  #queue: Uint8Array[] = [];
  /** Events in each queued chunk (counted until the chunk is written in full), and what the writer tagged it with. */
  #events: number[] = [];
  #tags: unknown[] = [];
  /** Events in the queued chunks. */
  waitingEvents = 0;

  /** Whether nothing waits. */
  get empty(): boolean {
    return this.#queue.length === 0;
  }

  /** Writes `bytes` (holding `events` events, tagged `tag`) now, or after what waits. The caller gives `bytes` up. */
  write(socket: { write(b: Uint8Array): number }, bytes: Uint8Array, events = 0, tag?: unknown): void {
    if (this.#queue.length === 0) {
      const written = socket.write(bytes);
      if (written >= bytes.length) return;
      bytes = bytes.subarray(Math.max(0, written));
    }
    this.#queue.push(bytes);
    this.#events.push(events);
    this.#tags.push(tag);
    this.waitingEvents += events;
  }

  /** Writes what waits, as far as the socket takes it. */
  flush(socket: { write(b: Uint8Array): number }): void {
    while (this.#queue.length > 0) {
      const bytes = this.#queue[0]!;
      const written = socket.write(bytes);
      if (written < bytes.length) return void (this.#queue[0] = bytes.subarray(Math.max(0, written)));
      this.#queue.shift();
      this.#tags.shift();
      this.waitingEvents -= this.#events.shift()!;
    }
  }

  /** The tags of the chunks that wait (not written in full). */
  get tags(): unknown[] {
    return this.#tags.filter((t) => t !== undefined);
  }

  /** Forgets what waits (the connection is gone); returns how many events that was. */
  clear(): number {
    const lost = this.waitingEvents;
    this.#queue = [];
    this.#events = [];
    this.#tags = [];
    this.waitingEvents = 0;
    return lost;
  }
}

/**
 * The first four frames (Zeek's `MESSAGE_FRAMES`) of the message being read, as `from[i][starts[i], ends[i])` into the read
 * buffer they came in (no view per frame: a view is an object, four an event). Before that buffer is
 * reused, {@linkcode keep} makes the frames of a message cut short copies of their own.
 */
export class MessageFrames {
  readonly from: Uint8Array[] = [];
  readonly starts: number[] = [0, 0, 0, 0];
  readonly ends: number[] = [0, 0, 0, 0];
  /** Frames of the message so far (those beyond `MESSAGE_FRAMES` counted, not kept). */
  parts = 0;
  /** How many of the kept frames are copies already. */
  #copied = 0;

  /** Adds frame `buf[start, end)`. */
  add(buf: Uint8Array, start: number, end: number): void {
    const i = this.parts++;
    if (i >= MESSAGE_FRAMES) return;
    this.from[i] = buf;
    this.starts[i] = start;
    this.ends[i] = end;
  }

  /** The read buffer is about to be reused: the kept frames become copies. */
  keep(): void {
    const kept = Math.min(this.parts, MESSAGE_FRAMES);
    for (let i = this.#copied; i < kept; i++) {
      this.from[i] = this.from[i]!.slice(this.starts[i], this.ends[i]);
      [this.starts[i], this.ends[i]] = [0, this.from[i]!.length];
    }
    this.#copied = kept;
  }

  /** Starts the next message (the frames kept so far are the caller's until the next {@linkcode add}). */
  reset(): void {
    this.parts = this.#copied = 0;
  }

  /** `ends[i] - starts[i]`. */
  size(i: number): number {
    return this.ends[i]! - this.starts[i]!;
  }
}
