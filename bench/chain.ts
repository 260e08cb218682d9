/**
 * @module One run through the broker on this library: a broker, a subscriber and a publisher, each
 * its own Bun process, publishing `ping(count, string, double)` to `bench.ping`. It reports rates,
 * drops, blocks, latency, publisher event-loop lag and peak RSS, and checks the accounting.
 */

import { killPeers, type PeerMessage, spawnPeer } from "./proc.ts";

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
  /** Events sent at full speed first and not measured, so code is warm. @default {0} */
  warmup?: number;
  /** Run a busy process without messaging alongside and measure its event-loop lag too. @default {false} */
  control?: boolean;
  /** The event format of publisher and subscriber. @default {"msgpack-v1"} */
  format?: "msgpack-v1" | "broker-bin-v1";
}

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
  /** With `control`: the lag of a busy process that does no messaging, in the same run. */
  controlLag?: { maxMs: number; p99Ms: number };
  /** BLOCK: received = sent; DROP: received + counted drops = sent. */
  accountingOk: boolean;
  accounting: string;
}

// BLOCK runs are the lossless set-up Zeek recommends (no onloop HWM: the subscriber pushes back
// instead of dropping); DROP runs keep Zeek's default HWMs on both sides.
const LOSSLESS = { BLOCK: { onloopHwm: 0 }, DROP: {} } as const;

const num = (m: PeerMessage, k: string) => Number(m[k] ?? 0);

/** Runs one broker → sub → pub chain and returns what it measured; every process is gone afterwards. */
export async function runChain(spec: ChainSpec): Promise<ChainRun> {
  const bun = (name: string, s: Record<string, unknown>) =>
    spawnPeer(name, [process.execPath, "--no-orphans", PEER, JSON.stringify(s)]);
  try {
    const broker = bun("broker", { role: "broker" });
    const ep = await broker.next("ready");
    const format = spec.format ?? "msgpack-v1";
    const sub = bun("sub", {
      role: "sub",
      xsub: ep.xsub,
      xpub: ep.xpub,
      slowUs: spec.slowUs ?? 0,
      format,
      ...LOSSLESS[spec.policy],
    });
    await sub.next("ready");
    const pub = bun("pub", {
      role: "pub",
      xsub: ep.xsub,
      xpub: ep.xpub,
      policy: spec.policy,
      rate: spec.rate,
      count: spec.count,
      durationMs: spec.durationMs,
      warmup: spec.warmup ?? 0,
      format,
    });
    await pub.next("ready");
    const control = spec.control ? spawnPeer("control", [process.execPath, "--no-orphans", BUSY]) : undefined;
    const p = await pub.next("result", spec.durationMs + 60_000);
    control?.send("stop");
    const c = await control?.next("result");
    const sent = num(p, "sent");
    const drops = () => num(p, "xpubDrops") + num(sub.latest("progress") ?? { type: "" }, "onloopDrops");
    const arrived = () => num(sub.latest("progress") ?? { type: "" }, "received");
    // Wait until everything sent is accounted for, or arrivals stop for a second.
    let last = -1;
    let quietSince = performance.now();
    const deadline = performance.now() + 30_000 + ((spec.slowUs ?? 0) * sent) / 1000;
    while (arrived() + (spec.policy === "DROP" ? drops() : 0) < sent && performance.now() < deadline) {
      if (arrived() !== last) [last, quietSince] = [arrived(), performance.now()];
      else if (performance.now() - quietSince > 1000) break;
      await Bun.sleep(20);
    }
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
    return {
      ...spec,
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
      ...(c ? { controlLag: { maxMs: num(c, "maxLagMs"), p99Ms: num(c, "lagP99Ms") } } : {}),
      accountingOk,
      accounting,
    };
  } finally {
    killPeers();
  }
}
