/**
 * Helpers for the hostile-input tests: a stand-in broker made of raw sockets (so that a test can put
 * any bytes on a node's XSUB and XPUB, whatever the real broker would filter), a node in a process of
 * its own whose memory and event-loop lag can be read, seeded randomness, and hostile payloads.
 */

import { Context, DONTWAIT, type Socket, SocketOption } from "../lib/_zmq.ts";
import { decodeEvent } from "../lib/events.ts";
import {
  decodeBatch,
  decodeZeekBatch,
  defineStream,
  encodeBatch,
  encodeZeekBatch,
  LOG_FORMAT,
  type LogStream,
  recordValues,
  ZEEK_LOG_FORMAT,
} from "../lib/logformat.ts";
import type { NodeOptions } from "../lib/pubsub.ts";
import { BROKER_BIN_V1, getFormat } from "../lib/serializer.ts";
import { ANY_PORT, bytes, type Child, spawnBun, text, waitFor } from "./helpers.ts";

/** A seeded PRNG (mulberry32): the same seed gives the same hostile input on every run. */
export function rng(seed: number): { next(): number; int(n: number): number; bytes(n: number): Uint8Array } {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (n: number) => Math.floor(next() * n);
  const bytes = (n: number) => Uint8Array.from({ length: n }, () => int(256));
  return { next, int, bytes };
}

/** A valid payload damaged in one of a few ways: bytes changed, cut short, bytes inserted, a slice repeated. */
export function mutate(r: ReturnType<typeof rng>, valid: Uint8Array): Uint8Array {
  const out = valid.slice();
  switch (r.int(5)) {
    case 0:
      for (let i = 1 + r.int(4); i > 0; i--) out[r.int(out.length)] = r.int(256);
      return out;
    case 1:
      return out.subarray(0, r.int(out.length));
    case 2: {
      const at = r.int(out.length);
      return Uint8Array.from([...out.subarray(0, at), ...r.bytes(1 + r.int(8)), ...out.subarray(at)]);
    }
    case 3: {
      const at = r.int(out.length);
      return Uint8Array.from([...out, ...out.subarray(at)]);
    }
    default:
      // A byte that declares a length or a count in one of the formats, where a value starts or not.
      out[r.int(out.length)] = [0xdd, 0xdf, 0xdb, 0xc6, 0x0e, 0x0d, 0xff, 0x7f][r.int(8)]!;
      return out;
  }
}

/**
 * A broker made of two raw sockets that nodes connect to: an XPUB for their XSUBs (it takes their
 * subscriptions and sends them whatever a test likes) and an XSUB for their XPUBs (it hands the
 * subscriptions on, so that a node sees its own echoed and becomes ready, and sends any notice a
 * test likes). Closed after the test by whoever made it.
 */
export class RawBroker {
  readonly #ctx: Context = new Context();
  /** Bound; the nodes' XPUBs connect here. */
  readonly up: Socket;
  /** Bound; the nodes' XSUBs connect here. */
  readonly down: Socket;
  /** Every topic prefix the nodes subscribed to. */
  readonly subscriptions: Set<string> = new Set();
  readonly #pump: Timer;

  constructor() {
    this.up = this.#ctx.socket("XSUB");
    this.up.setOption(SocketOption.LINGER, 0);
    this.up.bind(ANY_PORT);
    this.down = this.#ctx.socket("XPUB");
    this.down.setOption(SocketOption.LINGER, 0);
    // Everything a test sends is kept until the node takes it: nothing is lost on this side.
    this.down.setOption(SocketOption.XPUB_NODROP, 1);
    this.down.setOption(SocketOption.SNDHWM, 0);
    this.down.bind(ANY_PORT);
    this.#pump = setInterval(() => {
      for (let f = this.down.recv(DONTWAIT); f; f = this.down.recv(DONTWAIT)) {
        this.up.send(f, DONTWAIT);
        if (f[0]![0] === 1) this.subscriptions.add(text(f[0]!.subarray(1)));
      }
      while (this.up.recv(DONTWAIT)); // what the nodes publish: not looked at
    }, 2);
  }

  /** The options that make a node use this broker. */
  get endpoints(): Pick<NodeOptions, "connectXpubEndpoint" | "connectXsubEndpoint"> {
    return { connectXpubEndpoint: this.up.lastEndpoint, connectXsubEndpoint: this.down.lastEndpoint };
  }

  /** Resolves once a node subscribed to `prefix`. */
  subscribed(prefix: string): Promise<boolean> {
    return waitFor(() => this.subscriptions.has(prefix), `a subscription to ${prefix}`, 10_000);
  }

  /** Sends a message to the nodes whose subscriptions match its first frame. */
  send(frames: readonly Uint8Array[]): void {
    if (!this.down.send(frames, DONTWAIT)) throw new Error("the raw broker's XPUB refused a message");
  }

  /** Sends one frame to every node's XPUB, as a broker forwards a subscription (`0x01topic`). */
  notice(frame: Uint8Array): void {
    this.up.send([frame], DONTWAIT);
  }

  close(): void {
    clearInterval(this.#pump);
    this.#ctx.close();
  }
}

/** What the target process reports (see fixtures/hostile-target.ts). */
export interface TargetStats {
  msgErrors: number;
  onloopDrops: number;
  incomingEvents: number;
  pings: number;
  gaps: number;
  subscriptions: number;
  logRecords: number;
  reports: Record<string, number>;
  maxLag: number;
  rssBase: number;
  rssPeak: number;
}

/** A node in a process of its own (fixtures/hostile-target.ts); killed by pid after the test. */
export interface Target extends Child {
  id: string;
  /** The log PULL endpoint, on a logger. */
  logEndpoint: string;
  stats(): Promise<TargetStats>;
}

const TARGET = new URL("./fixtures/hostile-target.ts", import.meta.url).pathname;

/** Starts a target node named `name` with `options`, subscribed to `subscribe`. */
export async function startTarget(
  name: string,
  options: Omit<NodeOptions, "name">,
  subscribe: string[] = [],
): Promise<Target> {
  const child = spawnBun([TARGET, JSON.stringify({ name, options, subscribe })]);
  const [, id, logEndpoint] = await child.waitForLine(/^ready (\S+) (\S+)/, 20_000);
  const stats = async (): Promise<TargetStats> => {
    const before = child.lines.length;
    child.send("stats");
    const line = await waitFor(() => child.lines.slice(before).find((l) => l.startsWith("stats ")), "stats", 10_000);
    return JSON.parse(line.slice(6));
  };
  return Object.assign(child, { id: id!, logEndpoint: logEndpoint!, stats });
}

/** Polls the target's stats until `done` holds (bounded), then returns them. */
export async function statsWhen(
  target: Target,
  done: (s: TargetStats) => boolean,
  what: string,
  timeoutMs = 20_000,
): Promise<TargetStats> {
  let last: TargetStats | undefined;
  try {
    return await waitFor(
      async () => {
        last = await target.stats();
        return done(last) ? last : undefined;
      },
      what,
      timeoutMs,
    );
  } catch (err) {
    throw new Error(`${(err as Error).message}; last stats: ${JSON.stringify(last)}`);
  }
}

/** Sends `messages` through `send` in bursts, yielding between them as a busy peer would. */
export async function sendPaced(
  messages: Iterable<readonly Uint8Array[]>,
  send: (frames: readonly Uint8Array[]) => void,
  burst = 500,
  pauseMs = 10,
): Promise<number> {
  let n = 0;
  for (const frames of messages) {
    send(frames);
    if (++n % burst === 0) await Bun.sleep(pauseMs);
  }
  return n;
}

/** MiB, for messages. */
export const mib = (bytes: number): string => `${(bytes / 2 ** 20).toFixed(1)} MiB`;

const hex = (h: string): Uint8Array => Uint8Array.from(Buffer.from(h.replace(/\s/g, ""), "hex"));
const cat = (...parts: (Uint8Array | number[])[]): Uint8Array => Uint8Array.from(parts.flatMap((p) => [...p]));
const repeat = (part: number[], n: number): Uint8Array =>
  Uint8Array.from({ length: part.length * n }, (_, i) => part[i % part.length]!);

/** Broker's binary envelope of `junk()` up to its argument vector, whose count is the last byte. */
const BIN_ARGS = BROKER_BIN_V1.encode({ name: "junk", args: [] }).subarray(0, -1);
const JSON_HEAD = '{"@data-type":"vector","data":[';

/**
 * Payloads that declare far more than they hold, or nest without end, by event format: a decoder that
 * trusts them allocates gigabytes or overflows its stack. The first is issue 12's 8-byte bomb: it is
 * the one the flood tests send, as it costs a decoder without the bounds 800 MB for a moment, not more.
 */
export const EVENT_BOMBS: Record<string, Uint8Array[]> = {
  "msgpack-v1": [
    hex("dd05f5e100010203"), // an array of 100 million elements, in 8 bytes
    cat(hex("92a46a756e6bddffffffff"), repeat([0xc0], 17)), // junk(<2^32 - 1 arguments>), 28 bytes
    // 40 nested arrays of 4M elements in 203 bytes: 1.3 GB without the bounds (no more, should they break).
    cat(repeat([0xdd, 0x00, 0x40, 0x00, 0x00], 40), [0xc0, 0xc0, 0xc0]),
    hex("92a46a756e6b91dfffffffff"), // a map of 2^32 - 1 entries
    hex("92a46a756e6b91dbffffffff41"), // a string of 4 GiB
    hex("92a46a756e6b91c6ffffffff41"), // binary of 4 GiB
    hex("92a46a756e6b91c9ffffffff0141"), // an extension of 4 GiB
    hex("92a46a756e6b91d46500"), // msgpackr's Error extension
    hex("92a46a756e6b91d57201c0"), // msgpackr's record definition
    cat([0x92, 0xa4, 0x6a, 0x75, 0x6e, 0x6b], repeat([0x91], 100_000), [0xc0]), // 100,000 levels deep
  ],
  "broker-bin-v1": [
    cat(BIN_ARGS, [0xff, 0xff, 0xff, 0xff, 0x0f]), // 2^32 - 1 arguments
    cat(BIN_ARGS, [0x01], repeat([0x0e, 0x80, 0x80, 0x80, 0x02], 40), [0]), // 40 nested vectors of 4M
    cat(BIN_ARGS, [0x01, 0x0d, 0xff, 0xff, 0xff, 0xff, 0x0f]), // a table of 2^32 - 1 entries
    cat(BIN_ARGS, [0x01, 0x05, 0xff, 0xff, 0xff, 0xff, 0x0f]), // a string of 4 GiB
    cat(BIN_ARGS, [0x01], repeat([0x0e, 0x01], 100_000), [0]), // 100,000 levels deep
  ],
  "broker-json-v1": [
    bytes(JSON_HEAD.repeat(20_000)), // 20,000 vectors deep
    bytes(`{"x":${"[".repeat(100_000)}`), // a skipped member 100,000 arrays deep
    bytes(`${JSON_HEAD}{"@data-type":"count","data":${"9".repeat(100_000)}}]}`), // a count of 100,000 digits
  ],
};

/** Whether the node will find an event payload malformed: decoded here the way the node decodes it. */
export function eventIsMalformed(format: string, payload: Uint8Array): boolean {
  const f = getFormat(format);
  if (!f) return true;
  try {
    decodeEvent(f, payload, 0, payload.length, () => undefined);
    return false;
  } catch {
    return true;
  }
}

/** The stream of valid log batches: what a writer of this library sends. */
export const TEST_LOG: LogStream = defineStream({
  id: "Test::LOG",
  path: "test",
  fields: { ts: "time", writer: "string", seq: "count", tags: "set[string]" },
});

/** A valid log batch of `n` records in `format`. */
export function logBatch(format: string, n: number, from = 0): Uint8Array {
  const records = Array.from({ length: n }, (_, i) =>
    recordValues(TEST_LOG, { ts: 1700000000 + i, writer: "raw", seq: from + i, tags: ["a", "b"] }),
  );
  const batch = { stream: TEST_LOG.id, path: TEST_LOG.path, fields: [...TEST_LOG.fields], records };
  return format === ZEEK_LOG_FORMAT ? encodeZeekBatch(batch) : encodeBatch(batch);
}

const u32 = (n: number) => [(n >>> 24) & 255, (n >>> 16) & 255, (n >>> 8) & 255, n & 255];
function patch(bytes: Uint8Array, at: number, with_: number[]): Uint8Array {
  const out = bytes.slice();
  out.set(with_, at);
  return out;
}

/** Log batches that declare far more than they hold, or nest without end, by log format. */
export function logBombs(): Record<string, Uint8Array[]> {
  const zeek = logBatch(ZEEK_LOG_FORMAT, 1);
  // Where the counts are: the header's four strings, the field count, the fields, the record count.
  const header = ["Test::LOG", "Log::WRITER_ASCII", "default", "test"].reduce((n, s) => n + 4 + s.length, 0);
  const fieldsEnd = logBatch(ZEEK_LOG_FORMAT, 0).length - 4;
  // The first record's last value is the set: type, subtype, present, then its count (an int64).
  const setCount = zeek.length - (2 * (9 + 4 + 1) + 8);
  const msgpack = EVENT_BOMBS["msgpack-v1"]!;
  return {
    [LOG_FORMAT]: [
      ...msgpack,
      cat([0x94, 0xa9, ...bytes("Test::LOG"), 0xa4, ...bytes("test"), 0x90], [0xdd, 0xff, 0xff, 0xff, 0xff]),
    ],
    [ZEEK_LOG_FORMAT]: [
      patch(zeek, header, u32(0x7fffffff)), // 2^31 fields
      patch(zeek, fieldsEnd, u32(0xffffffff)), // 2^32 - 1 records
      patch(zeek, setCount, [0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]), // a set of 2^63 - 1 elements
    ],
  };
}

/**
 * The records a logger writes for a log payload, or `undefined` when it finds it malformed: decoded
 * here the way the logger decodes it. `seen` are the sequence numbers already written (a batch sent
 * again is not written twice).
 */
export function logRecordsOf(format: string, payload: Uint8Array, seen: Set<number>): number | undefined {
  try {
    if (format === ZEEK_LOG_FORMAT) return decodeZeekBatch(payload).records.length;
    if (format !== LOG_FORMAT) return undefined;
    const batch = decodeBatch(payload);
    if (batch.seq === undefined) return batch.records.length;
    if (seen.has(batch.seq)) return 0;
    seen.add(batch.seq);
    return batch.records.length;
  } catch {
    return undefined;
  }
}
