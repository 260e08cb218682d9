// The benchmark harness itself, on tiny runs: what it reports must add up. Speed is not asserted here
// (bench/ measures it); these runs only prove that the numbers the bench prints are counted right.
import { describe, expect, test } from "bun:test";
import { type ChainRun, runChain } from "../bench/chain.ts";
import { baselinesSvg, fmt, sweepSvg, table } from "../bench/report.ts";
import { dropCostRatio, targets } from "../bench/targets.ts";

describe("bench harness", () => {
  test("BLOCK: three processes, every event accounted for, latency and lag measured", async () => {
    const r = await runChain({ policy: "BLOCK", rate: 0, count: 20_000, durationMs: 10_000, control: true });
    expect(r).toMatchObject({ sent: 20_000, received: 20_000, xpubDrops: 0, onloopDrops: 0, accountingOk: true });
    expect(r.receivedPerSec).toBeGreaterThan(0);
    expect(r.p99Us).toBeGreaterThanOrEqual(r.p50Us);
    expect(r.maxLagMs).toBeGreaterThanOrEqual(r.lagP99Ms);
    expect(r.peakRssBytes).toBeGreaterThan(10 * 2 ** 20);
    expect(r.controlLag!.maxMs).toBeGreaterThanOrEqual(r.controlLag!.p99Ms);
    // CPU per process over the measured window, from /proc: every role worked for the 20,000 events.
    for (const role of ["pub", "broker", "sub"] as const) expect(r.cpu[role].us).toBeGreaterThan(0);
    expect(r.cpu.pub.usPerEvent).toBe(r.cpu.pub.us / 20_000);
  }, 60_000);

  test("DROP with a slow subscriber: received plus counted drops equals sent", async () => {
    const r = await runChain({ policy: "DROP", rate: 50_000, count: 20_000, durationMs: 10_000, slowUs: 50 });
    expect(r.sent).toBe(20_000);
    expect(r.xpubDrops + r.onloopDrops).toBeGreaterThan(0);
    expect(r.received + r.xpubDrops + r.onloopDrops).toBe(r.sent);
    expect(r.accountingOk).toBe(true);
  }, 60_000);

  test("the report: aligned tables, well-formed SVGs, and targets that say by how much they were missed", async () => {
    expect(fmt(1_234_567)).toBe("1.23M");
    expect(fmt(12_345)).toBe("12.3k");
    expect(fmt(12.345)).toBe("12.3");
    expect(
      table(
        ["a", "n"],
        [
          ["x", 1],
          ["yy", 1000],
        ],
      ).split("\n"),
    ).toEqual(["a      n", "──  ────", "x      1", "yy  1000"]);
    const cpu = (us: number) => ({ us, usPerEvent: us / 100, threads: { main: us } });
    const run: ChainRun = {
      policy: "BLOCK",
      format: "msgpack-v1",
      rate: 1000,
      count: 1,
      durationMs: 1,
      sent: 100,
      received: 100,
      sentPerSec: 5e5,
      receivedPerSec: 4e5,
      xpubDrops: 0,
      onloopDrops: 0,
      blocks: 0,
      p50Us: 150,
      p99Us: 900,
      maxLagMs: 12,
      lagP99Ms: 2,
      peakRssBytes: 1,
      pubPeakRssBytes: 100e6,
      subPeakRssBytes: 160e6,
      cpu: { pub: cpu(1000), broker: cpu(300), sub: cpu(300) },
      accountingOk: true,
      accounting: "",
    };
    // The publisher's CPU per dropped event: (600 µs - 10 µs × 50 sent) / 50 dropped = 2 µs, 0.2× a sent one.
    const drop: ChainRun = { ...run, policy: "DROP", xpubDrops: 50, received: 50, cpu: { ...run.cpu, pub: cpu(600) } };
    const unlimited = [{ format: "msgpack-v1" as const, median: { ...run, rate: 0 }, runs: [] }];
    const svg = sweepSvg([run, drop], unlimited, "t < & >");
    expect(svg).toStartWith("<svg");
    expect(svg).toContain("t &lt; &amp; &gt;");
    expect(svg.match(/<path /g)?.length).toBe(4); // received and dropped, for BLOCK and for DROP
    expect(svg).toContain("As fast as it goes");
    const c = {
      impl: "C",
      count: 1,
      sent: 1,
      received: 1,
      seconds: 1,
      eventsPerSec: 8e5,
      badFraming: 0,
      peakRssBytes: 1,
    };
    const results = {
      throughput: {
        bun: unlimited,
        c: { ...c, cpu: { pub: cpu(500), broker: cpu(300), sub: cpu(300) } },
        zeromqJs: { ...c, impl: "zeromq.js", eventsPerSec: 8e4 },
      },
      latency: {
        bun: [{ format: "msgpack-v1" as const, median: run, runs: [run] }],
        c: { ...c, p50Us: 100, p99Us: 500 },
      },
      roundTrip: { bun: [], c: { impl: "C", format: "msgpack-v1", count: 1, lost: 0, p50Us: 1, p99Us: 1 } },
      bunEngine: {
        throughput: [],
        latency: [{ format: "msgpack-v1" as const, median: { ...run, p50Us: 120, p99Us: 900 }, runs: [] }],
        roundTrip: [],
      },
      drops: [{ format: "msgpack-v1" as const, block: run, drop }],
      bounded: [],
      idleRss: [{ format: "msgpack-v1" as const, bytes: 59e6 }],
      logs: { json: { recordsPerSec: 1.2e6, ceilingRecordsPerSec: 2e6 }, tsv: { recordsPerSec: 5e5 } },
    };
    expect(baselinesSvg(results, "b")).toContain("zeromq.js");
    const byName = Object.fromEntries(targets(results).map((t) => [t.name, t]));
    expect(byName["latency at 1,000 events/s p50 [msgpack-v1]"]).toMatchObject({
      met: false,
      detail: "15.4 % over",
      c: "100 µs",
    });
    expect(byName["latency at 1,000 events/s p99 [msgpack-v1]"]!.met).toBe(true);
    expect(byName["round trip ping → pong p50 [msgpack-v1]"]).toMatchObject({ met: false, detail: "not measured" });
    // The rows of the documented latency setting are checked against the same C rows.
    expect(byName['latency at 1,000 events/s, engines "bun", p50 [msgpack-v1]']).toMatchObject({
      met: true,
      c: "100 µs",
    });
    expect(byName['latency at 1,000 events/s, engines "bun", p99 [msgpack-v1]']).toMatchObject({ met: true });
    expect(byName['round trip ping → pong, engines "bun", p50 [msgpack-v1]']).toMatchObject({ detail: "not measured" });
    expect(byName['throughput vs C, engines "bun", [msgpack-v1]']).toMatchObject({ detail: "not measured" });
    expect(byName["throughput vs C [msgpack-v1]"]).toMatchObject({ met: false, detail: "33.3 % short" });
    expect(byName["throughput vs zeromq.js [msgpack-v1]"]).toMatchObject({ met: true, zeromqJs: "80.0k/s" });
    expect(byName["CPU per event, publisher [msgpack-v1]"]).toMatchObject({ met: false, detail: "33.3 % over" });
    expect(byName["CPU per event, broker [msgpack-v1]"]!.met).toBe(true);
    expect(byName["publisher CPU per dropped event [msgpack-v1]"]).toMatchObject({ met: true });
    // A sent event costs the cheapest publisher CPU per event among runs without drops (waiting inflates it).
    const waited = { ...run, cpu: { ...run.cpu, pub: cpu(2000) } };
    expect(dropCostRatio([waited, run], drop)).toEqual({ perSentUs: 10, perDropUs: 2 });
    expect(dropCostRatio([run], run)).toBeUndefined(); // nothing dropped: nothing to measure
    expect(byName["DROP delivers ≥ BLOCK at saturation [msgpack-v1]"]).toMatchObject({ met: true });
    expect(byName["RSS of an idle node [msgpack-v1]"]!.met).toBe(true);
    expect(byName["RSS of a node at saturation [msgpack-v1]"]).toMatchObject({ met: false, detail: "6.67 % over" });
    expect(byName["logs, 2 writers → 1 logger [json]"]!.met).toBe(true);
    expect(byName["logs vs one process writing the same lines [json]"]).toMatchObject({
      met: false,
      detail: "14.3 % short",
    });
    expect(byName["logs vs one process writing the same lines [tsv]"]).toMatchObject({ detail: "not measured" });
  });
});
