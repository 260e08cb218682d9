/**
 * @module The baselines `bun run bench` reports its own chain against, same pattern (broker, then
 * subscriber, then publisher, Zeek's 4-frame `bench.ping` messages, lossless XPUB_NODROP at HWM 1000):
 * zeromq.js on Node, which is what its users run, and a C program on the system libzmq as the ceiling,
 * as fast as it goes or paced (latency), with each process's CPU per event; and C's ping → pong round trip.
 */

import { existsSync, mkdirSync, readFileSync, statSync } from "node:fs";
import { type ChainCpu, type RoundTrip, roundTripOf } from "./chain.ts";
import { cpuWindow, killPeers, num, type Peer, spawnPeer } from "./proc.ts";

const ZMQJS_PEER = new URL("./peers/zmqjs.mjs", import.meta.url).pathname;
const C_SOURCE = new URL("./peers/c/zmqbench.c", import.meta.url).pathname;
const BUILD_DIR = new URL("./.build/", import.meta.url).pathname;
const C_BINARY = `${BUILD_DIR}zmqbench`;
const ZMQ_HEADER = "/usr/include/zmq.h";

/** What one baseline chain measured. */
export interface ChainResult {
  /** Which implementation ran all three processes, e.g. `zeromq.js 6.8.0 (Node v20.11.0)`. */
  impl: string;
  /** Messages the publisher was asked to send. */
  count: number;
  sent: number;
  received: number;
  /** Subscriber's first to last arrival. */
  seconds: number;
  /** received / seconds, measured at the subscriber. */
  eventsPerSec: number;
  /** Messages that did not have exactly 4 frames. */
  badFraming: number;
  /** Publish-to-arrival latency percentiles (µs, CLOCK_MONOTONIC across processes). */
  p50Us?: number;
  p99Us?: number;
  /** The larger of the publisher's and the subscriber's peak RSS (the broker is not sampled). */
  peakRssBytes: number;
  /** CPU of each process over the measured window (from the publisher's start to the last arrival). */
  cpu?: ChainCpu;
  /** Offered load in events/s when paced; 0 or absent: as fast as it goes. */
  rate?: number;
  /** Set when something is off, e.g. messages lost. */
  note?: string;
}

/** How to start each role of one implementation. */
interface Roles {
  impl: string;
  broker: string[];
  pub: (xsub: string, count: number) => string[];
  sub: (xpub: string, count: number) => string[];
}

/** Starts broker, subscriber, publisher (in that order, each ready before the next) and collects results. */
async function runChain(roles: Roles, count: number): Promise<ChainResult> {
  const peers: Peer[] = [];
  const start = (role: string, cmd: string[]): Peer => {
    const peer = spawnPeer(`${roles.impl} ${role}`, cmd);
    peers.push(peer);
    return peer;
  };
  try {
    const broker = start("broker", roles.broker);
    const ep = await broker.next("ready");
    const sub = start("sub", roles.sub(String(ep.xpub), count));
    await sub.next("ready");
    const pub = start("pub", roles.pub(String(ep.xsub), count));
    await pub.next("ready");
    await pub.next("armed", 60_000);
    const window = cpuWindow({ pub: pub.proc.pid, broker: broker.proc.pid, sub: sub.proc.pid });
    pub.send("go");
    // Only catches a hung peer: 30 s plus 1 s per 50k messages is far below what even a loaded machine does.
    const timeoutMs = 30_000 + count / 50;
    const [p, s] = await Promise.all([pub.next("result", timeoutMs), sub.next("result", timeoutMs)]);
    const used = window.stop();
    for (const peer of [pub, sub]) peer.send("stop");
    broker.proc.kill("SIGTERM");
    // Every peer exits by itself now (the publisher once its queue drained); the bounds SIGKILL stragglers.
    const codes = await Promise.all(peers.map((peer) => peer.exited(5_000)));
    const sent = num(p, "sent");
    const received = num(s, "received");
    const seconds = Math.max(1e-6, (num(s, "lastUs") - num(s, "firstUs")) / 1e6);
    const notes: string[] = [];
    if (received !== sent) notes.push(`received ${received} of ${sent} sent`);
    for (const [i, peer] of peers.entries()) if (codes[i] !== 0) notes.push(`${peer.name} exited ${codes[i]}`);
    const result: ChainResult = {
      impl: roles.impl,
      count,
      sent,
      received,
      seconds,
      eventsPerSec: received > 1 ? received / seconds : 0,
      badFraming: num(s, "badFraming"),
      peakRssBytes: Math.max(num(p, "peakRssBytes"), num(s, "peakRssBytes")),
      cpu: {
        pub: { ...used.pub!, usPerEvent: used.pub!.us / Math.max(1, sent) },
        broker: { ...used.broker!, usPerEvent: used.broker!.us / Math.max(1, received) },
        sub: { ...used.sub!, usPerEvent: used.sub!.us / Math.max(1, received) },
      },
    };
    if (typeof s.p50Us === "number") result.p50Us = s.p50Us;
    if (typeof s.p99Us === "number") result.p99Us = s.p99Us;
    if (notes.length) result.note = notes.join("; ");
    return result;
  } finally {
    killPeers();
  }
}

/**
 * zeromq.js on Node: broker (zeromq.js's native Proxy, zmq_proxy_steerable on a libuv thread), a
 * publisher that awaits every send (retrying the EAGAIN NODROP gives it) and a subscriber that
 * decodes every payload with msgpackr. Throws when Node is not on PATH.
 */
export async function zeromqJsChain(count: number, warmup = 0): Promise<ChainResult> {
  const node = Bun.which("node");
  if (!node) throw new Error("zeromq.js baseline: no `node` on PATH (zeromq.js aborts under Bun, so it needs Node)");
  const version = Bun.spawnSync([node, "--version"]).stdout.toString().trim();
  const peer = (spec: Record<string, unknown>): string[] => [node, ZMQJS_PEER, JSON.stringify(spec)];
  return runChain(
    {
      impl: `zeromq.js ${zeromqJsVersion()} (Node ${version})`,
      broker: peer({ role: "broker" }),
      pub: (xsub, n) => peer({ role: "pub", xsub, count: n, topic: "bench.ping", warmup }),
      sub: (xpub, n) => peer({ role: "sub", xpub, count: n, topic: "bench." }),
    },
    count,
  );
}

/** The installed zeromq.js version, for the label. */
function zeromqJsVersion(): string {
  try {
    const pkg = readFileSync(Bun.resolveSync("zeromq/package.json", import.meta.dir), "utf8");
    return String((JSON.parse(pkg) as { version?: unknown }).version ?? "?");
  } catch {
    return "?";
  }
}

/** Compiles the C peer unless an up-to-date binary is cached; returns why not when it cannot. */
function buildC(): { binary: string } | { skipped: string } {
  const gcc = Bun.which("gcc");
  const missing = [!gcc && "gcc", !existsSync(ZMQ_HEADER) && `${ZMQ_HEADER} (libzmq3-dev)`].filter(Boolean);
  if (!gcc || missing.length) {
    return { skipped: `no ${missing.join(" and no ")}; install gcc and libzmq3-dev for the C ceiling` };
  }
  if (existsSync(C_BINARY) && statSync(C_BINARY).mtimeMs >= statSync(C_SOURCE).mtimeMs) return { binary: C_BINARY };
  mkdirSync(BUILD_DIR, { recursive: true });
  const cc = Bun.spawnSync([gcc, "-O2", "-o", C_BINARY, C_SOURCE, "-lzmq"], { stderr: "pipe" });
  if (cc.exitCode !== 0) return { skipped: `gcc failed to build ${C_SOURCE}: ${cc.stderr.toString().trim()}` };
  return { binary: C_BINARY };
}

/** The system libzmq's version, from zmq.h (the library the C peer is linked against). */
function libzmqVersion(): string {
  const header = readFileSync(ZMQ_HEADER, "utf8");
  const part = (name: string) => header.match(new RegExp(`#define ZMQ_VERSION_${name} (\\d+)`))?.[1] ?? "?";
  return `${part("MAJOR")}.${part("MINOR")}.${part("PATCH")}`;
}

/**
 * The ceiling: the same chain in C on the system libzmq (zmq_proxy broker, blocking zmq_send, no
 * payload decode in the subscriber). Returns `{ skipped }` with the reason when gcc or libzmq3-dev is
 * missing, so the report can say so instead of failing.
 */
export async function cChain(count: number, rate = 0): Promise<ChainResult | { skipped: string }> {
  const built = buildC();
  if ("skipped" in built) return built;
  const bin = built.binary;
  const result = await runChain(
    {
      impl: `C libzmq ${libzmqVersion()}`,
      broker: [bin, "broker"],
      pub: (xsub, n) => [bin, "pub", xsub, String(n), String(rate)],
      sub: (xpub, n) => [bin, "sub", xpub, String(n)],
    },
    count,
  );
  return rate > 0 ? { ...result, rate } : result;
}

/**
 * C's round trip: `count` pings at 1,000/s, one at a time, from a C node through the C broker to a C
 * node that answers each with a pong, after `warmup` unpaced ones; `{ skipped }` without gcc or libzmq.
 */
export async function cRoundTrip(count: number, warmup: number): Promise<RoundTrip | { skipped: string }> {
  const built = buildC();
  if ("skipped" in built) return built;
  const bin = built.binary;
  try {
    const broker = spawnPeer("C broker", [bin, "broker"]);
    const ep = await broker.next("ready");
    const [xsub, xpub] = [String(ep.xsub), String(ep.xpub)];
    const pong = spawnPeer("C pong", [bin, "pong", xsub, xpub]);
    await pong.next("ready");
    const ping = spawnPeer("C ping", [bin, "ping", xsub, xpub, String(count), "1000", String(warmup)]);
    const r = await ping.next("result", 60_000 + count * 2 + warmup * 2);
    for (const peer of [pong, broker]) peer.proc.kill("SIGTERM");
    await Promise.all([ping, pong, broker].map((peer) => peer.exited(5_000)));
    return roundTripOf(`C libzmq ${libzmqVersion()}`, "msgpack-v1", r);
  } finally {
    killPeers();
  }
}
