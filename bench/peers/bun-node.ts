// A benchmark peer on this library: `bun bench/peers/bun-node.ts '<json spec>'`, role broker, pub, sub,
// ping, pong or idle, JSON lines on stdout (see ../proc.ts). Commands on stdin: `go` starts the
// publisher's measured run (it says `armed` first, so the caller can read every process's CPU time
// right before), `stop` ends the run.
import type { ZeroMQOptions } from "../../lib/config.ts";
import { Broker } from "../../lib/proxy.ts";
import { ClusterNode } from "../../lib/pubsub.ts";
import { lagProbe, monotonicUs, percentile } from "../proc.ts";

interface Spec {
  role: "broker" | "pub" | "sub" | "ping" | "pong" | "idle";
  xsub?: string;
  xpub?: string;
  /** pub: BLOCK or DROP. */
  policy?: "BLOCK" | "DROP";
  /** pub: events to send (stops at whichever of count and durationMs comes first). */
  count?: number;
  durationMs?: number;
  /** pub: offered load in events/s; 0 = as fast as it goes. */
  rate?: number;
  /** sub: busy time per event in µs (a slow subscriber). */
  slowUs?: number;
  /** sub: stop by itself once this many arrived. */
  expect?: number;
  /** sub: onloop_queue_hwm (0: never drop, push back instead). */
  onloopHwm?: number;
  /** pub: events sent as fast as possible before the measured run (not counted), so both sides run warm code. */
  warmup?: number;
  /** pub and sub: the event format. */
  format?: string;
  /** pub, after the warm-up: how long to let the subscriber catch up before the measured run, ms. @default {1000} */
  settleMs?: number;
  /** Options for the ClusterNode (pub, sub, ping, pong, idle) or the Broker, over the bench's own. */
  options?: Partial<ZeroMQOptions>;
}

const spec = JSON.parse(process.argv[2] ?? "{}") as Spec;
const say = (type: string, data: Record<string, unknown> = {}) => console.log(JSON.stringify({ type, ...data }));
let peakRss = 0;
const rssTimer = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage.rss())), 50);
const stopRequested = Promise.withResolvers<void>();
const goRequested = Promise.withResolvers<void>();
/** `mark`: the measured run starts now (counters read before it are left out of the result). */
const markRequested = Promise.withResolvers<void>();
process.on("SIGTERM", () => stopRequested.resolve());
(async () => {
  for await (const chunk of Bun.stdin.stream()) {
    const text = new TextDecoder().decode(chunk);
    if (text.includes("go")) goRequested.resolve();
    if (text.includes("mark")) markRequested.resolve();
    if (text.includes("stop")) stopRequested.resolve();
  }
  goRequested.resolve();
  markRequested.resolve();
  stopRequested.resolve(); // stdin closed: the controller is gone
})();

async function broker(): Promise<void> {
  const b = new Broker({
    listenXsubEndpoint: "tcp://127.0.0.1:*",
    listenXpubEndpoint: "tcp://127.0.0.1:*",
    ...spec.options,
  });
  const ep = await b.start();
  say("ready", { xsub: ep.xsub, xpub: ep.xpub });
  await stopRequested.promise;
  await b.stop();
}

function node(name: string, policy: "BLOCK" | "DROP" = "BLOCK"): ClusterNode {
  const onloop = spec.onloopHwm === undefined ? {} : { onloopQueueHwm: spec.onloopHwm };
  return new ClusterNode({
    name,
    connectXpubEndpoint: spec.xsub!,
    connectXsubEndpoint: spec.xpub!,
    overflowPolicy: policy,
    eventSerializer: spec.format ?? "msgpack-v1",
    ...onloop,
    ...spec.options,
    reporter: (l, m) => console.error(`${l}: ${m}`),
  });
}

async function pub(): Promise<void> {
  const policy = spec.policy ?? "BLOCK";
  const n = node("bench-pub", policy);
  await n.start();
  say("ready");
  const deadline = performance.now() + 20_000;
  while (!n.hasSubscription("bench.") && performance.now() < deadline) await Bun.sleep(1);
  if (!n.hasSubscription("bench.")) throw new Error("no subscriber within 20 s");
  for (let i = 0; i < (spec.warmup ?? 0); i++) {
    if (!n.publish("bench.warm", "warm", [i, "bench", monotonicUs()])) await n.drain();
    if (i % 1000 === 999) await new Promise((resolve) => setImmediate(resolve));
  }
  if (spec.warmup) await Bun.sleep(spec.settleMs ?? 1000); // let the subscriber finish the warm-up and collect its garbage
  // Under DROP the warm-up may drop (it runs the drop path's code too): only the measured run counts.
  const base = n.stats();
  say("armed");
  await goRequested.promise;
  const lag = lagProbe(); // while publishing
  const count = spec.count ?? Number.MAX_SAFE_INTEGER;
  const rate = spec.rate ?? 0;
  const startUs = monotonicUs();
  const start = performance.now();
  const end = start + (spec.durationMs ?? 3_600_000);
  let sent = 0;
  let waits = 0;
  while (sent < count && performance.now() < end) {
    const due = rate > 0 ? Math.min(count, Math.floor(((performance.now() - start) / 1000) * rate) + 1) : count;
    const chunkEnd = Math.min(due, sent + 1000);
    while (sent < chunkEnd) {
      const accepted = n.publish("bench.ping", "ping", [sent, "bench", monotonicUs()]);
      sent++;
      if (!accepted && policy === "BLOCK") {
        // BLOCK: the event is queued locally; wait for room as Zeek's publisher would.
        waits++;
        await n.drain();
      }
    }
    // Yield every chunk so timers (and the lag probe) run; when paced and ahead, sleep instead.
    if (rate > 0 && sent >= due) await Bun.sleep(1);
    else await new Promise((resolve) => setImmediate(resolve));
  }
  const endUs = monotonicUs();
  await n.drain();
  const { maxLagMs, lagP99Ms } = lag.stop();
  const s = n.stats();
  say("result", {
    sent,
    startUs,
    endUs,
    drainWaits: waits,
    xpubDrops: s.xpubDrops - base.xpubDrops,
    xpubBlocks: s.xpubBlocks - base.xpubBlocks,
    maxLagMs,
    lagP99Ms,
    peakRssBytes: peakRss,
  });
  await stopRequested.promise;
  // Drops can still happen after the result (the worker empties its queue): report the final count.
  const f = n.stats();
  say("final", { xpubDrops: f.xpubDrops - base.xpubDrops, xpubBlocks: f.xpubBlocks - base.xpubBlocks });
  await n.stop();
}

async function sub(): Promise<void> {
  const n = node("bench-sub");
  const latencies = new Float64Array(1 << 20);
  let received = 0;
  let firstUs = 0;
  let lastUs = 0;
  const slowUs = spec.slowUs ?? 0;
  n.on("warm", () => undefined);
  n.on("ping", (_seq: number, _s: string, tUs: number) => {
    const now = monotonicUs();
    if (received === 0) firstUs = now;
    lastUs = now;
    latencies[received & (latencies.length - 1)] = now - tUs;
    received++;
    if (slowUs > 0) {
      const until = performance.now() + slowUs / 1000;
      while (performance.now() < until);
    }
    if (received === spec.expect) stopRequested.resolve();
  });
  n.subscribe("bench.");
  await n.start();
  say("ready");
  let warmDrops = 0; // onloop drops of the warm-up, read when the controller marks the measured run
  void markRequested.promise.then(() => (warmDrops = n.stats().onloopDrops));
  const progress = setInterval(() => {
    const s = n.stats();
    say("progress", { received, onloopDrops: s.onloopDrops - warmDrops });
  }, 100);
  await stopRequested.promise;
  clearInterval(progress);
  const s = n.stats();
  const sample = latencies.slice(0, Math.min(received, latencies.length)).sort();
  say("result", {
    received,
    firstUs,
    lastUs,
    onloopDrops: s.onloopDrops - warmDrops,
    msgErrors: s.msgErrors,
    p50Us: percentile(sample, 0.5),
    p99Us: percentile(sample, 0.99),
    peakRssBytes: peakRss,
  });
  await n.stop();
}

/** Answers every ping with a pong carrying the same arguments (so the pinger's timestamp comes back). */
async function pong(): Promise<void> {
  const n = node("bench-pong");
  n.on("ping", (seq: number, s: string, tUs: number) => void n.publish("bench.pong", "pong", [seq, s, tUs]));
  n.subscribe("bench.ping");
  await n.start();
  say("ready");
  await stopRequested.promise;
  await n.stop();
}

/** Round trips ping → broker → pong → broker → here, one at a time, paced at `rate`; p50/p99 in µs. */
async function ping(): Promise<void> {
  const n = node("bench-ping");
  let answered: ((tUs: number) => void) | undefined;
  n.on("pong", (_seq: number, _s: string, tUs: number) => answered?.(tUs));
  n.subscribe("bench.pong");
  await n.start();
  say("ready");
  const deadline = performance.now() + 20_000;
  while (!n.hasSubscription("bench.ping") && performance.now() < deadline) await Bun.sleep(1);
  const trip = (seq: number, timeoutMs: number) =>
    new Promise<number>((resolve) => {
      const timer = setTimeout(() => resolve(-1), timeoutMs);
      answered = (tUs) => {
        clearTimeout(timer);
        answered = undefined;
        resolve(monotonicUs() - tUs);
      };
      n.publish("bench.ping", "ping", [seq, "bench", monotonicUs()]);
    });
  // Until the first pong comes back (our subscription may still be on its way to the pong), then warm-up.
  while ((await trip(0, 10)) < 0) if (performance.now() > deadline) throw new Error("no pong within 20 s");
  for (let i = 0; i < (spec.warmup ?? 0); i++) await trip(i, 1000);
  const count = spec.count ?? 1000;
  const rate = spec.rate || 1000;
  const rtts = new Float64Array(count);
  let done = 0;
  let lost = 0;
  const start = performance.now();
  for (let seq = 0; seq < count; seq++) {
    const wait = start + (seq * 1000) / rate - performance.now();
    if (wait > 0) await Bun.sleep(wait);
    const rtt = await trip(seq, 1000);
    if (rtt < 0) lost++;
    else rtts[done++] = rtt;
  }
  const sorted = rtts.subarray(0, done).sort();
  say("result", {
    count: done,
    lost,
    p50Us: percentile(sorted, 0.5),
    p99Us: percentile(sorted, 0.99),
    peakRssBytes: peakRss,
  });
  await stopRequested.promise;
  await n.stop();
}

/** A node that only starts and waits: its RSS is what an idle node costs. */
async function idle(): Promise<void> {
  const n = node("bench-idle");
  await n.start();
  say("ready");
  await stopRequested.promise;
  await n.stop();
}

try {
  await { broker, pub, sub, ping, pong, idle }[spec.role]();
  clearInterval(rssTimer);
  process.exit(0);
} catch (err) {
  console.error(err instanceof Error ? err.stack : String(err));
  process.exit(1);
}
