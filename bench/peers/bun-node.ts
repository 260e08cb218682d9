// A benchmark peer on this library: `bun bench/peers/bun-node.ts '<json spec>'`, role broker, pub or
// sub, JSON lines on stdout (see ../proc.ts). Commands on stdin: `stop` ends the run.
import { Broker } from "../../lib/proxy.ts";
import { ClusterNode } from "../../lib/pubsub.ts";
import { lagProbe, monotonicUs, percentile } from "../proc.ts";

interface Spec {
  role: "broker" | "pub" | "sub";
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
}

const spec = JSON.parse(process.argv[2] ?? "{}") as Spec;
const say = (type: string, data: Record<string, unknown> = {}) => console.log(JSON.stringify({ type, ...data }));
let peakRss = 0;
const rssTimer = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage.rss())), 50);
const stopRequested = Promise.withResolvers<void>();
process.on("SIGTERM", () => stopRequested.resolve());
(async () => {
  for await (const chunk of Bun.stdin.stream())
    if (new TextDecoder().decode(chunk).includes("stop")) stopRequested.resolve();
  stopRequested.resolve(); // stdin closed: the controller is gone
})();

async function broker(): Promise<void> {
  const b = new Broker({ listenXsubEndpoint: "tcp://127.0.0.1:*", listenXpubEndpoint: "tcp://127.0.0.1:*" });
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
  if (spec.warmup) await Bun.sleep(1000); // let the subscriber finish the warm-up and collect its garbage
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
    xpubDrops: s.xpubDrops,
    xpubBlocks: s.xpubBlocks,
    maxLagMs,
    lagP99Ms,
    peakRssBytes: peakRss,
  });
  await stopRequested.promise;
  // Drops can still happen after the result (the worker empties its queue): report the final count.
  const f = n.stats();
  say("final", { xpubDrops: f.xpubDrops, xpubBlocks: f.xpubBlocks });
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
  const progress = setInterval(() => {
    const s = n.stats();
    say("progress", { received, onloopDrops: s.onloopDrops });
  }, 100);
  await stopRequested.promise;
  clearInterval(progress);
  const s = n.stats();
  const sample = latencies.slice(0, Math.min(received, latencies.length)).sort();
  say("result", {
    received,
    firstUs,
    lastUs,
    onloopDrops: s.onloopDrops,
    msgErrors: s.msgErrors,
    p50Us: percentile(sample, 0.5),
    p99Us: percentile(sample, 0.99),
    peakRssBytes: peakRss,
  });
  await n.stop();
}

try {
  await { broker, pub, sub }[spec.role]();
  clearInterval(rssTimer);
  process.exit(0);
} catch (err) {
  console.error(err instanceof Error ? err.stack : String(err));
  process.exit(1);
}
