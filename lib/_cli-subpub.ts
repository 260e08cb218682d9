/**
 * @module Private: the `sub` and `pub` commands, as `nats sub` / `nats pub` are for NATS. `sub` connects
 * a SUB socket to a broker's XPUB and prints every event that passes under a topic prefix, decoded in
 * the format it came in (frame 2 names it; a payload under an unknown name is tried in each known
 * format); `pub` connects an XPUB socket to the broker's XSUB, waits (bounded) until someone subscribed
 * to a prefix of the topic, sends one event and exits. Both talk to any broker: this library's, Zeek's
 * or one of `zmq_proxy`; endpoints come from `--connect`, else a cluster file, else Zeek's defaults.
 * Network input is hostile: frames are bounded by `maxMessageSize`, and what cannot be decoded is
 * counted and reported on exit, never printed as an event.
 */

import { hostname } from "node:os";
import { Option } from "commander";
import { type Cli, exits, positive } from "./_cli-program.ts";
import { stopSignals } from "./_cli-signals.ts";
import { probeEndpoint } from "./_not-ready.ts";
import { Context, DONTWAIT, POLLIN, Poller, type Socket, SocketOption } from "./_zmq.ts";
import { loadClusterFile } from "./cluster-file.ts";
import { isEndpoint, resolveConfig } from "./config.ts";
import { defineEvent, encodeEvent } from "./events.ts";
import { nodeConfig } from "./layout.ts";
import { type ClusterEvent, type EventFormat, getFormat } from "./serializer.ts";
import type { TypeSpec } from "./zeek-types.ts";

/** Where a command finds the broker: an explicit endpoint, a cluster file, or Zeek's defaults. */
export interface BrokerTarget {
  /** `--connect`: the one endpoint to use. */
  connect?: string | undefined;
  /** A cluster file whose layout says where the broker listens. */
  file?: string | undefined;
}

/** The broker's XPUB (where subscribers connect) and XSUB (where publishers connect). */
export interface BrokerEndpoints {
  xpub: string;
  xsub: string;
}

/**
 * Where the broker listens: the cluster file's manager (as its nodes would connect, environment
 * overrides included), else Zeek's `connect_xsub_endpoint`/`connect_xpub_endpoint` defaults (5555 and
 * 5556 on 127.0.0.1), each overridden by the environment as for a node.
 */
export async function brokerEndpoints(target: BrokerTarget): Promise<BrokerEndpoints> {
  if (target.connect !== undefined && !isEndpoint(target.connect))
    throw new RangeError(
      `Invalid --connect: expected tcp://host:port, ipc://path or inproc://name, got '${target.connect}'`,
    );
  let config = resolveConfig({});
  if (target.file !== undefined) {
    const file = await loadClusterFile(target.file);
    const manager = Object.keys(file.layout.nodes).find((n) => file.layout.nodes[n]!.type === "manager");
    if (!manager) throw new RangeError(`Invalid cluster file '${target.file}': it has no manager, so no broker`);
    config = nodeConfig(file.layout, manager, file.options);
  }
  return { xpub: target.connect ?? config.connectXsubEndpoint, xsub: target.connect ?? config.connectXpubEndpoint };
}

/** Options of {@linkcode sub}. */
export interface SubOptions extends BrokerTarget {
  /** The topic prefix to subscribe to ("" for everything). */
  prefix: string;
  /** One JSON object per event instead of a line of text. */
  json?: boolean;
  /** Exit after this many events. */
  count?: number | undefined;
  /** Exit after this many seconds. */
  duration?: number | undefined;
  /** Stops the command when aborted (the CLI aborts on SIGINT and SIGTERM). */
  signal?: AbortSignal;
  /** Where lines go. @default {stdout} */
  print?: (line: string) => void;
  /** Where notes go. @default {stderr} */
  note?: (line: string) => void;
}

/** One decoded event as `sub --json` prints it. */
export interface SeenEvent {
  topic: string;
  sender: string;
  format: string;
  event: string;
  args: unknown[];
  metadata?: unknown[];
}

const decoder = new TextDecoder("utf-8", { fatal: false });
const BIG = "\u0000big:";

/** Makes a decoded value printable as JSON: bigints as JSON numbers, sets and vectors as arrays, tables as [key, value] pairs, times as ISO strings, bytes as text. */
function plain(value: unknown): unknown {
  if (typeof value === "bigint") return `${BIG}${value}`;
  if (value instanceof Date) return value.toISOString();
  if (value instanceof Uint8Array) return decoder.decode(value);
  if (value instanceof Set) return [...value].map(plain);
  if (value instanceof Map) return [...value].map(([k, v]) => [plain(k), plain(v)]);
  if (Array.isArray(value)) return value.map(plain);
  if (typeof value === "object" && value !== null)
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, plain(v)]));
  if (typeof value === "number" && !Number.isFinite(value)) return String(value);
  return value;
}

/** JSON text of a decoded value; 64-bit integers keep every digit. */
export function toJson(value: unknown): string {
  return JSON.stringify(plain(value)).replace(/"\\u0000big:(-?\d+)"/g, "$1");
}

const FORMATS = ["broker-bin-v1", "broker-json-v1", "msgpack-v1"];

/** Decodes one 4-frame message; the format named in frame 2 first, else each known one in turn. */
function decodeMessage(frames: Uint8Array[]): SeenEvent {
  if (frames.length !== 4) throw new TypeError(`expected 4 frames, got ${frames.length}`);
  const [topic, sender, formatName, payload] = frames.map((f, i) => (i < 3 ? decoder.decode(f) : f)) as [
    string,
    string,
    string,
    Uint8Array,
  ];
  const named = getFormat(formatName);
  const tries: EventFormat[] = named ? [named] : FORMATS.map((n) => getFormat(n)!);
  let last: unknown;
  for (const format of tries) {
    let event: ClusterEvent;
    try {
      event = format.decode(payload);
    } catch (err: unknown) {
      last = err;
      continue;
    }
    const seen: SeenEvent = {
      topic,
      sender,
      format: named ? formatName : `${format.name} (sent as '${formatName}')`,
      event: event.name,
      args: event.args,
    };
    if (event.metadata?.length) seen.metadata = event.metadata;
    return seen;
  }
  throw new TypeError(
    `undecodable ${named ? formatName : `payload (unknown format '${formatName.slice(0, 40)}')`}: ${(last as Error).message}`,
  );
}

/** Receives what is waiting, then waits up to `ms` for more without keeping signals and timers out longer. */
async function* messages(socket: Socket, signal: AbortSignal): AsyncGenerator<Uint8Array[]> {
  const poller = new Poller([{ socket, events: POLLIN }]);
  try {
    while (!signal.aborted) {
      let got = 0;
      for (let frames = socket.recv(DONTWAIT); frames; frames = got < 1000 ? socket.recv(DONTWAIT) : null) {
        got++;
        yield frames;
        if (signal.aborted) return;
      }
      if (got === 0) poller.wait(20);
      await new Promise((resolve) => setImmediate(resolve)); // signals, timers and stdout get their turn
    }
  } finally {
    poller.close();
  }
}

function limits(socket: Socket): void {
  const c = resolveConfig({});
  socket.setOption(SocketOption.MAXMSGSIZE, c.maxMessageSize);
  socket.setOption(SocketOption.IPV6, true);
  socket.setOption(SocketOption.HEARTBEAT_IVL, c.heartbeatIvl);
  socket.setOption(SocketOption.HEARTBEAT_TIMEOUT, c.heartbeatTimeout);
  socket.setOption(SocketOption.HEARTBEAT_TTL, c.heartbeatTtl);
}

/**
 * `sub <prefix>`: prints each event under `prefix` that passes the broker, until aborted, `count`
 * events or `duration` seconds. Returns the exit code: 0.
 */
export async function sub(options: SubOptions): Promise<number> {
  const print = options.print ?? ((line: string) => process.stdout.write(`${line}\n`));
  const note = options.note ?? ((line: string) => console.error(line));
  if (options.count !== undefined && !(Number.isInteger(options.count) && options.count > 0))
    throw new RangeError(`Invalid --count: expected a positive integer, got '${options.count}'`);
  if (options.duration !== undefined && !(options.duration > 0))
    throw new RangeError(`Invalid --duration: expected seconds, got '${options.duration}'`);
  const { xpub } = await brokerEndpoints(options);
  const stop = new AbortController();
  options.signal?.addEventListener("abort", () => stop.abort());
  const timer = options.duration ? setTimeout(() => stop.abort(), options.duration * 1000) : undefined;
  const ctx = new Context();
  const socket = ctx.socket("SUB");
  const bad = new Map<string, number>();
  let seen = 0;
  try {
    limits(socket);
    socket.setOption(SocketOption.LINGER, 0);
    socket.setOption(SocketOption.SUBSCRIBE, options.prefix);
    socket.connect(xpub);
    note(`sub: subscribed to '${options.prefix}' at ${xpub}`);
    for await (const frames of messages(socket, stop.signal)) {
      let event: SeenEvent;
      try {
        event = decodeMessage(frames);
      } catch (err: unknown) {
        const kind = (err as Error).message;
        if (!bad.has(kind)) note(`sub: skipped a malformed message: ${kind}`);
        bad.set(kind, (bad.get(kind) ?? 0) + 1);
        continue;
      }
      print(options.json ? toJson(event) : `${event.topic} ${event.event} ${toJson(event.args)}`);
      if (++seen === options.count) break;
    }
  } finally {
    clearTimeout(timer);
    ctx.close();
  }
  const skipped = [...bad.values()].reduce((a, b) => a + b, 0);
  note(`sub: ${seen} events${skipped ? `, ${skipped} malformed messages skipped` : ""}`);
  return 0;
}

/** Options of {@linkcode pub}. */
export interface PubOptions extends BrokerTarget {
  topic: string;
  event: string;
  /** The arguments, as a JSON array. */
  args: string;
  /** `broker-bin-v1` (Zeek's default), `broker-json-v1` or `msgpack-v1`. @default {"broker-bin-v1"} */
  format?: string | undefined;
  /** Zeek types of the arguments, a JSON array (`["count", "addr"]`), for Zeek's handlers to accept them. */
  types?: string | undefined;
  /** How long to wait for a subscriber, in ms. @default {5000} */
  wait?: number | undefined;
  /** Where notes go. @default {stderr} */
  note?: (line: string) => void;
}

function parseJsonArray(what: string, text: string): unknown[] {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err: unknown) {
    throw new TypeError(`Invalid ${what}: expected a JSON array, got '${text}' (${(err as Error).message})`);
  }
  if (!Array.isArray(value)) throw new TypeError(`Invalid ${what}: expected a JSON array, got '${text}'`);
  return value;
}

/**
 * `pub <topic> <event> <args>`: sends one event once a subscription covering `topic` has reached the
 * broker (XSUB passes every subscription on to publishers). Returns 0 once sent, 1 when nobody
 * subscribed within `wait` ms (nothing sent: the broker would have had no one to send it to).
 */
export async function pub(options: PubOptions): Promise<number> {
  const note = options.note ?? ((line: string) => console.error(line));
  const formatName = options.format ?? "broker-bin-v1";
  const format = getFormat(formatName);
  if (!format) throw new RangeError(`Invalid --format: expected one of ${FORMATS.join(", ")}, got '${formatName}'`);
  const wait = Math.ceil(options.wait ?? 5000);
  if (!(wait > 0)) throw new RangeError(`Invalid --wait: expected ms, got '${options.wait}'`);
  const args = parseJsonArray("arguments", options.args);
  let type: ReturnType<typeof defineEvent> | undefined;
  if (options.types !== undefined) {
    const types = parseJsonArray("--types", options.types);
    if (types.length !== args.length)
      throw new RangeError(`Invalid --types: ${types.length} types for ${args.length} arguments`);
    type = defineEvent(options.event, Object.fromEntries(types.map((t, i) => [`arg${i + 1}`, t as TypeSpec])));
  }
  const { bytes, length } = encodeEvent(format, options.event, args, type); // a TypeError names the argument
  const payload = bytes.slice(0, length);
  const { xsub } = await brokerEndpoints(options);
  const ctx = new Context();
  const socket = ctx.socket("XPUB");
  const stop = new AbortController();
  const timer = setTimeout(() => stop.abort(), wait);
  let covered = false;
  try {
    limits(socket);
    socket.setOption(SocketOption.LINGER, wait);
    socket.connect(xsub);
    for await (const [notice] of messages(socket, stop.signal)) {
      const topic = notice && notice[0] === 1 ? decoder.decode(notice.subarray(1)) : undefined;
      if (topic !== undefined && options.topic.startsWith(topic)) {
        covered = true;
        break;
      }
    }
    if (!covered) {
      // Over TCP only: an ipc path that exists says little about a broker.
      const up = xsub.startsWith("tcp://") ? (await probeEndpoint(xsub, 1000)).listening : undefined;
      const where =
        up === undefined ? "" : up ? " (the broker is there)" : " (nothing listens there: is the broker running?)";
      note(
        `pub: nobody subscribed to '${options.topic}' or a prefix of it at ${xsub} within ${wait} ms${where}; nothing sent`,
      );
      return 1;
    }
    const sender = `pub_${hostname()}_${process.pid}`;
    socket.send([options.topic, sender, format.name, payload]);
    note(`pub: sent ${options.event} to '${options.topic}' at ${xsub} (${format.name})`);
    return 0;
  } finally {
    clearTimeout(timer);
    ctx.close(); // waits up to LINGER for the event to leave
  }
}

const FILE_HELP = "a cluster file: the broker is where its manager listens (default: Zeek's 127.0.0.1:5555/5556)";
const CONNECT_HELP = "the broker's endpoint: its XPUB for sub (Zeek's 5555), its XSUB for pub (5556)";

/** Adds `sub` and `pub` to the program. */
export function register({ program }: Cli): void {
  program
    .command("sub")
    .description("print the events that pass through a broker under a topic prefix, in any format")
    .argument("<topic-prefix>", 'the topic prefix ("" for every event)')
    .argument("[cluster-file]", FILE_HELP)
    .option("--json", "one JSON object per event (topic, sender, format, event, args, metadata)")
    .option("--connect <endpoint>", CONNECT_HELP)
    .addOption(new Option("--count <n>", "exit after n events").argParser(positive("events")))
    .addOption(new Option("--duration <s>", "exit after this many seconds").argParser(positive("seconds")))
    .action(
      exits("sub", async (prefix: string, file: string | undefined, o: Omit<SubOptions, "prefix" | "file">) => {
        const signals = stopSignals("sub");
        const abort = new AbortController();
        signals.stop.promise.then(() => abort.abort());
        try {
          return await sub({ ...o, prefix, file, signal: abort.signal });
        } finally {
          signals.dispose();
        }
      }),
    );
  program
    .command("pub")
    .description("send one event through a broker, once someone subscribed to its topic")
    .argument("<topic>", "the topic, e.g. zeek.cluster.manager")
    .argument("<event>", "the event name, e.g. Intel::seen")
    .argument("<args>", "the arguments as a JSON array, e.g. '[1, \"x\"]'")
    .argument("[cluster-file]", FILE_HELP)
    .option("--connect <endpoint>", CONNECT_HELP)
    .addOption(new Option("--format <name>", "the event format").choices(FORMATS).default("broker-bin-v1"))
    .option("--types <json>", 'Zeek types of the arguments, e.g. \'["count", "addr"]\' (Zeek checks them)')
    .addOption(new Option("--wait <ms>", "how long to wait for a subscriber").argParser(positive("ms")).default(5000))
    .action(
      exits("pub", (topic: string, event: string, args: string, file: string | undefined, o: PubOptions) =>
        pub({ ...o, topic, event, args, file }),
      ),
    );
}
