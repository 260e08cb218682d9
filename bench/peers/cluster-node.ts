// The node script of the log and scale benchmarks, run by the launcher (one process per node).
// BENCH_MODE=logs: workers write conn-like records as fast as the logger takes them (BLOCK) for
// BENCH_MS ms; the logger reports what it has written. BENCH_MODE=scale: once the manager has seen
// every node and every node every other, workers publish to it for BENCH_MS ms and it reports the
// rate it received (all nodes run with onloop_queue_hwm 0, so nothing is dropped).
// Reports are JSON lines on stdout.
import { EVENTS, ROLE_TOPICS, runNode } from "../../mod.ts";
import { benchRecord, CONN } from "../log-ceiling.ts";
import { monotonicUs } from "../proc.ts";

const MODE = process.env.BENCH_MODE;
const MS = Number(process.env.BENCH_MS ?? 3000);
const say = (type: string, data: Record<string, unknown> = {}) => console.log(JSON.stringify({ type, ...data }));
const node = await runNode((node) => {
  const peers = Object.keys(node.layout!.nodes).length - 1;
  if (MODE === "logs" && node.type === "logger") {
    // Report received records every 50 ms with the time, so the driver can take a rate over the busy part.
    setInterval(() => say("progress", { records: node.stats().logRecordsReceived, us: monotonicUs() }), 50);
  }
  if (MODE === "logs" && node.type === "worker") {
    node.on(EVENTS.nodeUp, async (name: string) => {
      if (node.layout!.nodes[name]?.type !== "logger") return;
      const end = performance.now() + MS;
      let n = 0;
      let waitedMs = 0; // held back by BLOCK: the logger (or the acknowledgments) behind
      while (performance.now() < end) {
        for (let i = 0; i < 1000; i++, n++) {
          const record = benchRecord(n);
          if (!node.log(CONN, record)) {
            const t = performance.now();
            await node.logWriter!.drain();
            waitedMs += performance.now() - t;
          }
        }
        await new Promise((resolve) => setImmediate(resolve));
      }
      const flushed = await node.flushLogs(30_000);
      say("written", { records: n, flushed, waitedMs, ...node.stats() });
    });
  }
  if (MODE === "scale" && node.type === "manager") {
    let received = 0;
    let firstUs = 0;
    let lastUs = 0;
    let done = 0;
    let sent = 0;
    node.on("bench_ping", () => {
      lastUs = monotonicUs();
      if (received++ === 0) firstUs = lastUs;
    });
    node.on("bench_done", (count: number) => {
      sent += count;
      if (++done === peers) setTimeout(() => say("scale", { received, sent, firstUs, lastUs }), 200);
    });
    // Start only once every node has seen every other (each worker says so), so traffic never
    // competes with the discovery being measured.
    const meshed = new Set<string>();
    const maybeStart = () =>
      meshed.size === peers && node.discovery!.up.size === peers && node.publish(ROLE_TOPICS.worker, "bench_start", []);
    node.on("bench_meshed", (name: string) => (meshed.add(name), maybeStart()));
    node.on(EVENTS.nodeUp, maybeStart);
  }
  if (MODE === "scale" && node.type === "worker") {
    const tell = () =>
      node.discovery!.up.size === peers && node.publish(ROLE_TOPICS.manager, "bench_meshed", [node.name]);
    node.on(EVENTS.nodeUp, tell);
    node.on("bench_start", async () => {
      const end = performance.now() + MS;
      let n = 0;
      while (performance.now() < end) {
        for (let i = 0; i < 200; i++, n++)
          if (!node.publish(ROLE_TOPICS.manager, "bench_ping", [n, node.name, 1.5])) await node.drain();
        await new Promise((resolve) => setImmediate(resolve));
      }
      await node.drain();
      node.publish(ROLE_TOPICS.manager, "bench_done", [n]);
    });
  }
});
say("started", { name: node.name });
