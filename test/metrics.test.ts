import { describe, expect, test } from "bun:test";
import { Context, SocketOption } from "../lib/_zmq.ts";
import { CONTENT_TYPE, Registry } from "../lib/metrics.ts";
import { metricsApp } from "../lib/metrics-server.ts";
import type { ClusterNode } from "../lib/pubsub.ts";
import { EVENTS } from "../lib/topics.ts";
import { expectEntry, layoutOf, makeNode, record, startManager, via } from "./cluster-helpers.ts";
import { ANY_PORT, bytes, spawnChild, waitFor } from "./helpers.ts";

/** Parses exposition text the way a scraper does: every line a comment, blank, or `name{labels} value`. */
function parse(text: string): { name: string; labels: Record<string, string>; value: number }[] {
  expect(text.endsWith("\n")).toBe(true);
  const samples = [];
  const typed = new Set<string>();
  for (const line of text.split("\n")) {
    if (line === "") continue;
    const meta = /^# (HELP|TYPE) ([a-zA-Z_:][a-zA-Z0-9_:]*) (.*)$/.exec(line);
    if (meta) {
      if (meta[1] === "TYPE") {
        expect(["counter", "gauge", "histogram"]).toContain(meta[3]!);
        expect(typed.has(meta[2]!)).toBe(false);
        typed.add(meta[2]!);
      }
      continue;
    }
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m) throw new Error(`Unparsable line: ${line}`);
    const labels: Record<string, string> = {};
    for (const [, k, v] of (m[2] ?? "").matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) {
      labels[k!] = v!.replace(/\\n/g, "\n").replace(/\\"/g, '"').replace(/\\\\/g, "\\");
    }
    samples.push({ name: m[1]!, labels, value: m[3] === "+Inf" ? Infinity : Number(m[3]) });
  }
  return samples;
}

const sampleValue = (text: string, name: string, labels: Record<string, string> = {}) =>
  parse(text).find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))?.value;

describe("Registry", () => {
  test("renders HELP, TYPE, escaped labels, counters, gauges and cumulative histograms", () => {
    const r = new Registry();
    const c = r.counter("x_requests_total", "Requests\nwith a \\ in the help");
    c.inc({ path: 'a"b\\c\nd' }, 2);
    c.inc({ path: 'a"b\\c\nd' });
    r.gauge("x_depth", "Depth").set({}, -1.5);
    const h = r.histogram("x_sizes", "Sizes", [10, 100]);
    for (const v of [5, 50, 500]) h.observe({ kind: "k" }, v);
    r.collect("x_read_total", "counter", "Read at scrape", () => [
      [{ a: "1" }, 7],
      [{ a: "2" }, 8],
    ]);
    const text = r.render({ node: "w-1" });
    expect(text).toContain(
      "# HELP x_requests_total Requests\\nwith a \\\\ in the help\n# TYPE x_requests_total counter\n",
    );
    expect(text).toContain('x_requests_total{node="w-1",path="a\\"b\\\\c\\nd"} 3\n');
    expect(parse(text).find((s) => s.name === "x_requests_total")?.labels.path).toBe('a"b\\c\nd');
    expect(text).toContain('x_depth{node="w-1"} -1.5\n');
    expect(text).toContain(
      'x_sizes_bucket{node="w-1",kind="k",le="10"} 1\nx_sizes_bucket{node="w-1",kind="k",le="100"} 2\nx_sizes_bucket{node="w-1",kind="k",le="+Inf"} 3\nx_sizes_sum{node="w-1",kind="k"} 555\nx_sizes_count{node="w-1",kind="k"} 3\n',
    );
    expect(sampleValue(text, "x_read_total", { a: "2" })).toBe(8);
  });

  test("bad names and decreasing counters are RangeErrors", () => {
    const r = new Registry();
    expect(() => r.counter("x_requests", "no _total")).toThrow(/counters end in _total/);
    expect(() => r.gauge("9lives", "bad")).toThrow(/Invalid metric name '9lives'/);
    const c = r.counter("x_total", "ok");
    expect(() => c.inc({}, -1)).toThrow(RangeError);
    expect(() => c.inc({ "bad-label": "x" })).toThrow(/Invalid label name 'bad-label'/);
    expect(() => r.counter("x_total", "again")).toThrow(/already registered/);
  });
});

describe("the metrics app", () => {
  test("serves /metrics as text 0.0.4, /services.json only where asked, 404 otherwise", async () => {
    const app = metricsApp({ metrics: () => "# HELP up Up\n# TYPE up gauge\nup 1\n" });
    const res = await app.request("/metrics");
    expect([res.status, res.headers.get("content-type"), await res.text()]).toEqual([
      200,
      CONTENT_TYPE,
      "# HELP up Up\n# TYPE up gauge\nup 1\n",
    ]);
    expect((await app.request("/services.json")).status).toBe(404);
    expect((await app.request("/nope")).status).toBe(404);
    const manager = metricsApp({ metrics: () => "", services: () => [{ targets: ["127.0.0.1:9991"], labels: {} }] });
    expect(await (await manager.request("/services.json")).json()).toEqual([
      { targets: ["127.0.0.1:9991"], labels: {} },
    ]);
  });
});

describe("node metrics", () => {
  const scrape = async (node: ClusterNode) => {
    const res = await fetch(new URL("/metrics", node.metrics.url));
    expect(res.headers.get("content-type")).toBe(CONTENT_TYPE);
    return res.text();
  };

  test("Zeek's names with a node label, served over HTTP; counters move with events, drops and malformed frames", async () => {
    const layout = layoutOf({ "worker-1": "worker" });
    const manager = await startManager(layout, { metrics: { port: 0, coreMetrics: ["INFO", "VERBOSE"] } });
    const worker = makeNode({
      name: "worker-1",
      layout,
      ...via(manager),
      overflowPolicy: "DROP",
      metrics: { port: 0, coreMetrics: ["INFO", "VERBOSE"] },
    });
    const got = record(manager, "ping");
    await worker.start();
    let text = await scrape(manager);
    for (const name of [
      "zeek_cluster_zeromq_xpub_drops_total",
      "zeek_cluster_zeromq_xpub_blocks_total",
      "zeek_cluster_zeromq_onloop_drops_total",
      "zeek_cluster_zeromq_msg_errors_total",
      "zeek_cluster_core_outgoing_events_total",
      "zeek_cluster_core_incoming_events_total",
      "zeek_cluster_zeromq_onloop_queue_depth",
      "zeek_cluster_zeromq_log_dropped_records_total",
      "process_resident_memory_bytes",
      "process_cpu_seconds_total",
      "process_event_loop_lag_seconds",
    ]) {
      expect(sampleValue(text, name, { node: "manager" })).toBeNumber();
    }
    const proxyCounters = ["frontend", "backend"].flatMap((side) =>
      ["messages_received", "bytes_received", "messages_sent", "bytes_sent"].map(
        (m) => `zeek_cluster_zeromq_proxy_${side}_${m}_total`,
      ),
    );
    // The broker thread answers STATISTICS between forwards; give it a moment rather than one try.
    await waitFor(
      async () => {
        text = await scrape(manager);
        return proxyCounters.every((name) => (sampleValue(text, name, { node: "manager" }) ?? 0) > 0);
      },
      `all proxy counters above 0 (at first: ${proxyCounters.map((n) => sampleValue(text, n, { node: "manager" })).join(", ")})`,
    );
    const before = sampleValue(await scrape(worker), "zeek_cluster_core_outgoing_events_total", { node: "worker-1" })!;
    expect(
      sampleValue(await scrape(worker), "zeek_cluster_core_verbose_outgoing_events_total", { handler: "ping" }),
    ).toBeUndefined();
    worker.publish("zeek.cluster.manager", "ping", [1]);
    await expectEntry(got, "ping [1]");
    const after = await scrape(worker);
    // Handshake events may be counted meanwhile too; the ping itself is counted exactly once.
    expect(sampleValue(after, "zeek_cluster_core_outgoing_events_total", { node: "worker-1" })).toBeGreaterThanOrEqual(
      before + 1,
    );
    expect(
      sampleValue(after, "zeek_cluster_core_verbose_outgoing_events_total", {
        topic: "zeek.cluster.manager",
        handler: "ping",
      }),
    ).toBe(1);
    text = await scrape(manager);
    expect(
      sampleValue(text, "zeek_cluster_core_verbose_incoming_events_total", {
        topic: "zeek.cluster.manager",
        handler: "ping",
      }),
    ).toBe(1);
    expect(
      sampleValue(text, "zeek_cluster_core_verbose_incoming_events_total", {
        topic: "zeek.cluster.nodeid.__normalized__",
        handler: EVENTS.hello,
      }),
    ).toBe(1);

    // A malformed frame from a raw peer moves msg_errors.
    const ctx = new Context();
    const raw = ctx.socket("XPUB");
    raw.setOption(SocketOption.XPUB_VERBOSE, 1);
    raw.connect(manager.broker!.endpoints!.xsub);
    await waitFor(
      () => raw.recv(1)?.some((f) => new TextDecoder().decode(f).includes("zeek.cluster.manager")),
      "the manager's subscription",
    );
    raw.send([bytes("zeek.cluster.manager"), bytes("raw")]);
    await waitFor(
      async () => sampleValue(await scrape(manager), "zeek_cluster_zeromq_msg_errors_total") === 1,
      "msg_errors to move",
    );
    ctx.close();
  });

  test("an XPUB drop moves xpub_drops on the publisher", async () => {
    const manager = await startManager(layoutOf({}));
    const node = makeNode({ name: "dropper", ...via(manager), overflowPolicy: "DROP", xpubSndhwm: 1 });
    await node.start();
    const app = metricsApp({ metrics: () => node.metrics.render() });
    expect(
      sampleValue(await (await app.request("/metrics")).text(), "zeek_cluster_zeromq_xpub_drops_total", {
        node: "dropper",
      }),
    ).toBe(0);
    manager.subscribe("flood");
    await waitFor(() => node.hasSubscription("flood"), "the subscription");
    for (let i = 0; i < 20_000; i++) node.publish("flood", "x", [i]);
    await waitFor(
      async () =>
        (sampleValue(await (await app.request("/metrics")).text(), "zeek_cluster_zeromq_xpub_drops_total") ?? 0) > 0,
      "xpub drops",
    );
  });

  test("the manager's /services.json lists every node's endpoint and drops a node after node_down", async () => {
    const layout = layoutOf({ "worker-1": "worker", "worker-2": "worker" });
    const manager = await startManager(layout, { metrics: { port: 0 } });
    const workers = ["worker-1", "worker-2"].map((name) =>
      makeNode({ name, layout, ...via(manager), metrics: { port: 0 } }),
    );
    await Promise.all(workers.map((w) => w.start()));
    const services = async () =>
      (await (await fetch(new URL("/services.json", manager.metrics.url))).json()) as { targets: string[] }[];
    const all = [manager, ...workers].map((n) => n.metrics.target!).sort();
    await waitFor(async () => (await services())[0]!.targets.length === 3, "three targets");
    expect([...(await services())[0]!.targets].sort()).toEqual(all);
    expect((await fetch(new URL("/services.json", workers[0]!.metrics.url))).status).toBe(404);
    await workers[1]!.stop();
    await waitFor(async () => (await services())[0]!.targets.length === 2, "worker-2 to be dropped");
    expect((await services())[0]!.targets).not.toContain(all.find((t) => t === workers[1]!.metrics.target));
  });

  const promtool = Bun.which("promtool");
  test.skipIf(!promtool)("the output of a running node passes promtool check metrics", async () => {
    const layout = layoutOf({ "worker-1": "worker" });
    const manager = await startManager(layout, { metrics: { port: 0, coreMetrics: ["INFO", "VERBOSE", "DEBUG"] } });
    const worker = makeNode({ name: "worker-1", layout, ...via(manager) });
    await worker.start();
    worker.publish("zeek.cluster.manager", "ping", [1]);
    await Bun.sleep(100);
    const text = await scrape(manager);
    const check = spawnChild([promtool!, "check", "metrics"]);
    check.proc.stdin.write(text);
    check.proc.stdin.end();
    const code = await check.exited();
    expect(check.lines.filter(Boolean)).toEqual([]);
    expect(code).toBe(0);
  });

  test("a metrics port in use is a clear error", async () => {
    const first = await startManager(layoutOf({}), { metrics: { port: 0 } });
    const port = Number(new URL(first.metrics.url!).port);
    const second = makeNode({
      name: "second",
      runProxyThread: true,
      listenXsubEndpoint: ANY_PORT,
      listenXpubEndpoint: ANY_PORT,
      metrics: { port },
    });
    const err = await second.start().catch((e: unknown) => e);
    expect((err as { code?: string }).code).toBe("METRICS_BIND_FAILED");
    expect((err as Error).message).toContain(`127.0.0.1:${port}`);
  });
});
