// Zeek's overload scenarios (testing/btest/cluster/zeromq/overload-*), each node its own process, plus
// the BLOCK and DROP guarantees this library adds. Every wait is bounded; processes are killed by pid.

import { describe, expect, test } from "bun:test";
import type { NodeOptions } from "../lib/pubsub.ts";
import { ROLE_TOPICS } from "../lib/topics.ts";
import { layoutOf } from "./cluster-helpers.ts";
import { ANY_PORT, type Child, startNodeProcess, statsOf, waitFor } from "./helpers.ts";

type Stats = Awaited<ReturnType<typeof statsOf>>;
const LAYOUT = layoutOf({ proxy: "proxy", "worker-1": "worker", "worker-2": "worker" });
const SENDERS = ["proxy", "worker-1", "worker-2"] as const;

/** Starts the manager (which runs the broker) and the three senders of Zeek's no-logger layout. */
async function cluster(options: Partial<NodeOptions>, count: Record<string, string[]> = {}) {
  const manager = await startNodeProcess({
    name: "manager",
    layout: LAYOUT,
    options: { ...options, listenXsubEndpoint: ANY_PORT, listenXpubEndpoint: ANY_PORT },
    count: count.manager ?? ["ping"],
  });
  const [, xsub, xpub] = manager.lines.find((l) => l.startsWith("broker "))!.split(" ");
  const senders: Record<string, Child> = {};
  for (const name of SENDERS) {
    senders[name] = await startNodeProcess({
      name,
      layout: LAYOUT,
      options: { ...options, connectXpubEndpoint: xsub, connectXsubEndpoint: xpub },
      count: count[name] ?? [],
      print: ["Cluster::node_up"],
    });
  }
  // Zeek's senders start publishing once the manager is up; here once every node saw every other.
  for (const child of Object.values(senders)) {
    await waitFor(
      () => child.lines.filter((l) => l.startsWith("event Cluster::node_up")).length === 3,
      "node_up of the 3 others",
      15_000,
    );
  }
  return { manager, senders };
}

async function flood(
  senders: Record<string, Child>,
  topics: string[],
  perTick: number,
  ticks: number,
): Promise<Record<string, number>> {
  for (const child of Object.values(senders)) child.send({ cmd: "flood", topics, perTick, ticks, tickMs: 1 });
  const sent: Record<string, number> = {};
  for (const [name, child] of Object.entries(senders))
    sent[name] = Number((await child.waitForLine(/^flooded (\d+)/, 60_000))[1]);
  return sent;
}

/** Stats once `child` has received everything `sent` says each sender published (no-drop runs). */
async function receivedAll(child: Child, sent: Record<string, number>, from: string[]): Promise<Stats> {
  let stats: Stats | undefined;
  await waitFor(
    async () => {
      stats = await statsOf(child);
      return from.every((name) => stats!.counts[name]?.received === sent[name]);
    },
    `every event from ${from.join(", ")} (last counts: ${JSON.stringify(stats?.counts)})`,
    45_000,
  );
  return stats!;
}

/** Stats once the counts stop changing (everything in flight has arrived or been dropped). */
async function settled(child: Child): Promise<Stats> {
  let previous = "";
  let stats: Stats | undefined;
  await waitFor(
    async () => {
      stats = await statsOf(child);
      const key = JSON.stringify(stats.counts) + stats.onloopDrops;
      const same = key === previous;
      previous = key;
      if (!same) await Bun.sleep(300);
      return same;
    },
    "counts to settle",
    30_000,
  );
  return stats!;
}

describe("overload (Zeek's scenarios, one process per node)", () => {
  test("overload-drop: senders drop at the XPUB, the manager at the onloop queue; no lockup", async () => {
    const { manager, senders } = await cluster({
      overflowPolicy: "DROP",
      xpubSndhwm: 100,
      xsubRcvhwm: 50,
      onloopQueueHwm: 50,
    });
    await flood(senders, [ROLE_TOPICS.manager], 500, 400);
    const m = await settled(manager);
    for (const name of SENDERS) {
      expect(m.counts[name]?.gaps ?? 0).toBeGreaterThan(0);
      const s = await statsOf(senders[name]!);
      expect(s.xpubDrops).toBeGreaterThan(0);
      expect(s.onloopDrops).toBe(0);
    }
    expect(m.onloopDrops).toBeGreaterThan(0);
  }, 60_000);

  test("overload-no-drop: with both HWMs 0 nothing is dropped and nothing is missing", async () => {
    const { manager, senders } = await cluster({
      overflowPolicy: "DROP",
      xpubSndhwm: 0,
      xsubRcvhwm: 50,
      onloopQueueHwm: 0,
    });
    const sent = await flood(senders, [ROLE_TOPICS.manager], 100, 500);
    const m = await receivedAll(manager, sent, [...SENDERS]);
    for (const name of SENDERS) {
      expect(sent[name]).toBeGreaterThan(10_000);
      expect(m.counts[name]).toEqual({ received: sent[name]!, last: sent[name]! - 1, gaps: 0 });
      expect((await statsOf(senders[name]!)).xpubDrops).toBe(0);
    }
    expect(m.onloopDrops).toBe(0);
  }, 60_000);

  test("overload-worker-proxy-topic-drop: mutual flooding drops on every peer, the manager sees nothing; no lockup", async () => {
    const count = { proxy: ["ping"], "worker-1": ["ping"], "worker-2": ["ping"], manager: ["ping"] };
    const { manager, senders } = await cluster(
      { overflowPolicy: "DROP", xpubSndhwm: 100, xsubRcvhwm: 50, onloopQueueHwm: 50 },
      count,
    );
    await flood(senders, [ROLE_TOPICS.worker, ROLE_TOPICS.proxy], 500, 400);
    // Workers get the worker-topic copies, the proxy the proxy-topic copies: every sender hears the others.
    for (const name of SENDERS) {
      const s = await settled(senders[name]!);
      expect(s.xpubDrops).toBeGreaterThan(0);
      expect(s.onloopDrops).toBeGreaterThan(0);
      for (const peer of SENDERS.filter((n) => n !== name)) expect(s.counts[peer]?.gaps ?? 0).toBeGreaterThan(0);
    }
    const m = await statsOf(manager);
    expect(m.counts).toEqual({});
    expect([m.xpubDrops, m.onloopDrops]).toEqual([0, 0]);
  }, 60_000);

  test("overload-worker-proxy-topic-no-drop: mutual flooding with HWMs 0 loses nothing", async () => {
    const count = { proxy: ["ping"], "worker-1": ["ping"], "worker-2": ["ping"] };
    const { senders } = await cluster(
      { overflowPolicy: "DROP", xpubSndhwm: 0, xsubRcvhwm: 50, onloopQueueHwm: 0 },
      count,
    );
    const sent = await flood(senders, [ROLE_TOPICS.worker, ROLE_TOPICS.proxy], 50, 400);
    for (const name of SENDERS) {
      const s = await receivedAll(
        senders[name]!,
        sent,
        SENDERS.filter((n) => n !== name),
      );
      expect([s.xpubDrops, s.onloopDrops]).toEqual([0, 0]);
      for (const peer of SENDERS.filter((n) => n !== name)) {
        expect(s.counts[peer]).toEqual({ received: sent[peer]!, last: sent[peer]! - 1, gaps: 0 });
        expect(sent[peer]).toBeGreaterThan(5000);
      }
    }
  }, 60_000);
});
