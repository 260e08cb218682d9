// The benchmark harness itself, on tiny runs: what it reports must add up. Speed is not asserted here
// (bench/ measures it); these runs only prove that the numbers the bench prints are counted right.
import { describe, expect, test } from "bun:test";
import { runChain } from "../bench/chain.ts";
import { fmt, sweepSvg, table } from "../bench/report.ts";
import { targets } from "../bench/targets.ts";

describe("bench harness", () => {
  test("BLOCK: three processes, every event accounted for, latency and lag measured", async () => {
    const r = await runChain({ policy: "BLOCK", rate: 0, count: 20_000, durationMs: 10_000, control: true });
    expect(r).toMatchObject({ sent: 20_000, received: 20_000, xpubDrops: 0, onloopDrops: 0, accountingOk: true });
    expect(r.receivedPerSec).toBeGreaterThan(0);
    expect(r.p99Us).toBeGreaterThanOrEqual(r.p50Us);
    expect(r.maxLagMs).toBeGreaterThanOrEqual(r.lagP99Ms);
    expect(r.peakRssBytes).toBeGreaterThan(10 * 2 ** 20);
    expect(r.controlLag!.maxMs).toBeGreaterThanOrEqual(r.controlLag!.p99Ms);
  }, 60_000);

  test("DROP with a slow subscriber: received plus counted drops equals sent", async () => {
    const r = await runChain({ policy: "DROP", rate: 50_000, count: 20_000, durationMs: 10_000, slowUs: 50 });
    expect(r.sent).toBe(20_000);
    expect(r.xpubDrops + r.onloopDrops).toBeGreaterThan(0);
    expect(r.received + r.xpubDrops + r.onloopDrops).toBe(r.sent);
    expect(r.accountingOk).toBe(true);
  }, 60_000);

  test("the report: aligned tables, a well-formed SVG, and targets that say by how much they were missed", async () => {
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
    const run = {
      policy: "BLOCK" as const,
      rate: 0,
      count: 1,
      durationMs: 1,
      sent: 100,
      received: 100,
      sentPerSec: 5e5,
      receivedPerSec: 4e5,
      xpubDrops: 0,
      onloopDrops: 0,
      blocks: 0,
      p50Us: 100,
      p99Us: 900,
      maxLagMs: 12,
      lagP99Ms: 2,
      peakRssBytes: 1,
      accountingOk: true,
      accounting: "",
    };
    const svg = sweepSvg([run, { ...run, policy: "DROP", xpubDrops: 40, received: 60 }], "t < & >");
    expect(svg).toStartWith("<svg");
    expect(svg).toContain("t &lt; &amp; &gt;");
    expect(svg.match(/<path /g)?.length).toBe(4);
    const checks = targets({
      sweep: [run],
      lag: { ...run, controlLag: { maxMs: 11, p99Ms: 3 } },
      latency: run,
      baselines: { vsZeromqJs: 5, vsC: 0.5 },
      logs: {
        writers: 2,
        written: 1,
        received: 1,
        seconds: 1,
        recordsPerSec: 600_000,
        bytesOnDisk: 1,
        dropped: 0,
        accountingOk: true,
      },
      scale: [{ nodes: 32, launchMs: 1, readyMs: 1, discoveryMs: 300, eventsPerSec: 1, sent: 1, received: 1 }],
    });
    const byName = Object.fromEntries(checks.map((c) => [c.name, c]));
    expect(byName["Bun → broker → Bun vs zeromq.js on Node"]!.met).toBe(true);
    expect(byName["Bun → broker → Bun vs C libzmq"]).toMatchObject({ met: false, detail: "16.7 % short" });
    expect(byName["latency p99 at 1,000 events/s"]).toMatchObject({ met: false, detail: "80 % over" });
    expect(byName["publisher event-loop lag, BLOCK at saturation"]!.measured).toBe(
      "12 ms max, 2 ms p99; a busy process without messaging: 11 ms max",
    );
  });
});
