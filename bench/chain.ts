/**
 * @module One run through the broker on this library: a broker, a subscriber and a publisher, each
 * its own Bun process, publishing `ping(count, string, double)` to `bench.ping`. It reports rates,
 * drops, blocks, latency, publisher event-loop lag, peak RSS and the CPU each process spent per event
 * (from /proc, over the measured window only), and checks the accounting. Also a ping → pong round
 * trip and an idle node's RSS.
 */

import type { ZeroMQOptions } from "../lib/config.ts";
import { cpuWindow, killPeers, num, type PeerMessage, rssBytes, spawnPeer } from "./proc.ts";

const PEER = new URL("./peers/bun-node.ts", import.meta.url).pathname;
const BUSY = new URL("./peers/busy.ts", import.meta.url).pathname;

/** What one run does. */
export interface ChainSpec {
  policy: "BLOCK" | "DROP";
  /** Offered load in events/s; 0 = as fast as the publisher goes. */
  rate: number;
  /** Events to send, at most. */
  count: number;
  /** Longest time to send for, in ms. */
  durationMs: number;
  /** Busy time per event in the subscriber, µs (a slow subscriber). @default {0} */
  slowUs?: number;
  /** Events sent at full speed first and not measured, so code is warm (BLOCK only: under DROP the counters would include warm-up drops). @default {0} */
  warmup?: number;
  /** Run a busy process without messaging alongside and measure its event-loop lag too. @default {false} */
  control?: boolean;
  /** The event format of publisher and subscriber. @default {"msgpack-v1"} */
  format?: "msgpack-v1" | "broker-bin-v1";
  /** After the warm-up, how long the publisher lets the subscriber catch up, ms. @default {1000} */
  settleMs?: number;
  /** ClusterNode options for publisher and subscriber over the bench's own (HWMs, socket buffers…). */
  nodeOptions?: Partial<ZeroMQOptions>;
  /** Broker options over the bench's own. */
  brokerOptions?: Partial<ZeroMQOptions>;
  /** A name for the row, e.g. "bounded queues". */
  label?: string;
  /** Called with each process's pid as the measured window opens; what it returns is awaited as it closes (e.g. a profiler). */
  onWindow?: (pids: Record<"pub" | "broker" | "sub", number>) => () => Promise<void>;
}

/** The CPU one process spent over the measured window. */
export interface RoleCpu {
  /** User + system CPU, µs. */
  us: number;
  /** `us` over the events this role handled (publisher: sent; broker: forwarded; subscriber: received). */
  usPerEvent: number;
  /** The same by thread name (threads of one name summed). */
  threads: Record<string, number>;
}

/** CPU of each role over the measured window. */
export type ChainCpu = Record<"pub" | "broker" | "sub", RoleCpu>;

/** What one run measured. */
export interface ChainRun extends ChainSpec {
  sent: number;
  received: number;
  /** Events/s the publisher got out (sent over its sending time). */
  sentPerSec: number;
  /** Events/s arriving at the subscriber, first to last. */
  receivedPerSec: number;
  xpubDrops: number;
  onloopDrops: number;
  /** Times the publisher waited for room (BLOCK), and the worker's XPUB blocks. */
  blocks: number;
  p50Us: number;
  p99Us: number;
  maxLagMs: number;
  /** 99th percentile of the publisher's event-loop lag (a 5 ms probe). */
  lagP99Ms: number;
  peakRssBytes: number;
  pubPeakRssBytes: number;
  subPeakRssBytes: number;
  cpu: ChainCpu;
  /** With `control`: the lag of a busy process that does no messaging, in the same run. */
  controlLag?: { maxMs: number; p99Ms: number };
  /** BLOCK: received = sent; DROP: received + counted drops = sent. */
  accountingOk: boolean;
  accounting: string;
}

// BLOCK runs are the lossless set-up Zeek recommends (no onloop HWM: the subscriber pushes back
// instead of dropping); DROP runs keep Zeek's default HWMs on both sides.
const LOSSLESS = { BLOCK: { onloopHwm: 0 }, DROP: {} } as const;

/** Runs one broker → sub → pub chain and returns what it measured; every process is gone afterwards. */
export async function runChain(spec: ChainSpec): Promise<ChainRun> {
  const bun = (name: string, s: Record<string, unknown>) =>
    spawnPeer(name, [process.execPath, "--no-orphans", PEER, JSON.stringify(s)]);
  try {
    const broker = bun("broker", { role: "broker", options: spec.brokerOptions ?? {} });
    const ep = await broker.next("ready");
    const format = spec.format ?? "msgpack-v1";
    const sub = bun("sub", {
      role: "sub",
      xsub: ep.xsub,
      xpub: ep.xpub,
      slowUs: spec.slowUs ?? 0,
      format,
      ...LOSSLESS[spec.policy],
      options: spec.nodeOptions ?? {},
    });
    // The publisher waits for the subscriber's subscription by itself, so both start at once.
    const pub = bun("pub", {
      role: "pub",
      xsub: ep.xsub,
      xpub: ep.xpub,
      policy: spec.policy,
      rate: spec.rate,
      count: spec.count,
      durationMs: spec.durationMs,
      warmup: spec.warmup ?? 0,
      settleMs: spec.settleMs ?? 1000,
      format,
      options: spec.nodeOptions ?? {},
    });
    await Promise.all([sub.next("ready"), pub.next("ready")]);
    const control = spec.control ? spawnPeer("control", [process.execPath, "--no-orphans", BUSY]) : undefined;
    await pub.next("armed", 60_000 + (spec.warmup ?? 0) / 10);
    const pids = { pub: pub.proc.pid, broker: broker.proc.pid, sub: sub.proc.pid };
    const closing = spec.onWindow?.(pids);
    sub.send("mark"); // the warm-up's drops (under DROP) stay out of the counts
    const window = cpuWindow(pids);
    pub.send("go");
    const p = await pub.next("result", spec.durationMs + 60_000);
    control?.send("stop");
    const c = await control?.next("result");
    const sent = num(p, "sent");
    const drops = () => num(p, "xpubDrops") + num(sub.latest("progress") ?? { type: "" }, "onloopDrops");
    const arrived = () => num(sub.latest("progress") ?? { type: "" }, "received");
    // Wait until everything sent is accounted for, or arrivals stop for half a second.
    let last = -1;
    let quietSince = performance.now();
    const deadline = performance.now() + 30_000 + ((spec.slowUs ?? 0) * sent) / 1000;
    while (arrived() + (spec.policy === "DROP" ? drops() : 0) < sent && performance.now() < deadline) {
      if (arrived() !== last) [last, quietSince] = [arrived(), performance.now()];
      else if (performance.now() - quietSince > 500) break;
      await Bun.sleep(20);
    }
    const cpuUsed = window.stop();
    await closing?.();
    pub.send("stop");
    const final = await pub.next("final");
    sub.send("stop");
    const s = await sub.next("result");
    broker.send("stop");
    await Promise.all([pub.exited(), sub.exited(), broker.exited()]);
    const received = num(s, "received");
    const xpubDrops = num(final, "xpubDrops");
    const onloopDrops = num(s, "onloopDrops");
    const accountingOk = spec.policy === "BLOCK" ? received === sent : received + xpubDrops + onloopDrops === sent;
    const accounting =
      spec.policy === "BLOCK"
        ? `received ${received} ${received === sent ? "=" : "≠"} sent ${sent}`
        : `received ${received} + drops ${xpubDrops + onloopDrops} ${accountingOk ? "=" : "≠"} sent ${sent}`;
    const seconds = (a: number, b: number) => Math.max(1e-6, (b - a) / 1e6);
    const handled = { pub: sent, broker: sent - xpubDrops, sub: received };
    const cpu = Object.fromEntries(
      (["pub", "broker", "sub"] as const).map((role) => [
        role,
        { ...cpuUsed[role]!, usPerEvent: cpuUsed[role]!.us / Math.max(1, handled[role]) },
      ]),
    ) as ChainCpu;
    const { onWindow: _, ...plain } = spec;
    return {
      ...plain,
      format,
      sent,
      received,
      sentPerSec: sent / seconds(num(p, "startUs"), num(p, "endUs")),
      receivedPerSec: received > 1 ? received / seconds(num(s, "firstUs"), num(s, "lastUs")) : 0,
      xpubDrops,
      onloopDrops,
      blocks: num(p, "drainWaits") + num(final, "xpubBlocks"),
      p50Us: num(s, "p50Us"),
      p99Us: num(s, "p99Us"),
      maxLagMs: num(p, "maxLagMs"),
      lagP99Ms: num(p, "lagP99Ms"),
      peakRssBytes: Math.max(num(p, "peakRssBytes"), num(s, "peakRssBytes")),
      pubPeakRssBytes: num(p, "peakRssBytes"),
      subPeakRssBytes: num(s, "peakRssBytes"),
      cpu,
      ...(c ? { controlLag: { maxMs: num(c, "maxLagMs"), p99Ms: num(c, "lagP99Ms") } } : {}),
      accountingOk,
      accounting,
    };
  } finally {
    killPeers();
  }
}

/** A ping → pong round trip measured at the pinger. */
export interface RoundTrip {
  impl: string;
  format: string;
  count: number;
  lost: number;
  p50Us: number;
  p99Us: number;
}

/** A round trip as a pinger (this library's or C's) reports it. */
export function roundTripOf(impl: string, format: string, r: PeerMessage): RoundTrip {
  return { impl, format, count: num(r, "count"), lost: num(r, "lost"), p50Us: num(r, "p50Us"), p99Us: num(r, "p99Us") };
}

/**
 * `count` round trips (ping → broker → pong → broker → ping), one at a time at 1,000/s, between two
 * nodes of this library through a broker of this library, after `warmup` unpaced ones.
 */
export async function roundTrip(
  format: "msgpack-v1" | "broker-bin-v1",
  count: number,
  warmup: number,
  options: Record<string, unknown> = {},
): Promise<RoundTrip> {
  const bun = (name: string, s: Record<string, unknown>) =>
    spawnPeer(name, [process.execPath, "--no-orphans", PEER, JSON.stringify({ format, onloopHwm: 0, ...s })]);
  try {
    const broker = bun("broker", { role: "broker" });
    const ep = await broker.next("ready");
    const pong = bun("pong", { role: "pong", xsub: ep.xsub, xpub: ep.xpub, options });
    await pong.next("ready");
    const ping = bun("ping", { role: "ping", xsub: ep.xsub, xpub: ep.xpub, count, rate: 1000, warmup, options });
    const r = await ping.next("result", 60_000 + count * 2 + warmup * 2);
    for (const peer of [ping, pong, broker]) peer.send("stop");
    await Promise.all([ping.exited(), pong.exited(), broker.exited()]);
    return roundTripOf("bun", format, r);
  } finally {
    killPeers();
  }
}

/** The RSS of an idle node of this library per format (started, connected to a broker, nothing to do), after `settleMs`. */
export async function idleRss<F extends string>(
  formats: readonly F[],
  settleMs: number,
): Promise<{ format: F; bytes: number }[]> {
  const bun = (name: string, s: Record<string, unknown>) =>
    spawnPeer(name, [process.execPath, "--no-orphans", PEER, JSON.stringify(s)]);
  try {
    const broker = bun("broker", { role: "broker" });
    const ep = await broker.next("ready");
    // One node per format at once: they share the broker and the wait.
    const idle = formats.map((format) => bun(`idle ${format}`, { role: "idle", xsub: ep.xsub, xpub: ep.xpub, format }));
    await Promise.all(idle.map((peer) => peer.next("ready")));
    await Bun.sleep(settleMs);
    const out = formats.map((format, i) => ({ format, bytes: rssBytes(idle[i]!.proc.pid) }));
    for (const peer of [...idle, broker]) peer.send("stop");
    await Promise.all([...idle, broker].map((peer) => peer.exited()));
    return out;
  } finally {
    killPeers();
  }
}
