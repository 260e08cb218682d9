// BLOCK and DROP end to end, each node its own process, through a broker in this process (NODROP on
// its XPUB, as Zeek's default, so the broker itself never loses anything).

import { afterEach, describe, expect, test } from "bun:test";
import { Broker, type BrokerEndpoints } from "../lib/proxy.ts";
import { ANY_PORT, type Child, startNodeProcess, statsOf, waitFor } from "./helpers.ts";

let broker: Broker | undefined;
afterEach(async () => {
  await broker?.stop();
  broker = undefined;
});

async function startBroker(): Promise<BrokerEndpoints> {
  broker = new Broker({ listenXsubEndpoint: ANY_PORT, listenXpubEndpoint: ANY_PORT });
  return broker.start();
}

async function pair(ep: BrokerEndpoints, pub: Record<string, unknown>, sub: Record<string, unknown>, slowMs: number) {
  const connect = { connectXpubEndpoint: ep.xsub, connectXsubEndpoint: ep.xpub };
  const subscriber = await startNodeProcess({ name: "sub", options: { ...connect, ...sub }, count: ["ping"], slowMs });
  subscriber.send({ cmd: "subscribe", topic: "bulk." });
  const publisher = await startNodeProcess({ name: "pub", options: { ...connect, ...pub } });
  return { publisher, subscriber };
}

async function floodAndCount(publisher: Child, perTick: number, ticks: number): Promise<number> {
  publisher.send({ cmd: "flood", topics: ["bulk.data"], perTick, ticks, tickMs: 1 });
  return Number((await publisher.waitForLine(/^flooded (\d+)/, 60_000))[1]);
}

describe("BLOCK", () => {
  test("a slow subscriber loses nothing while the publisher's event loop stays responsive", async () => {
    const ep = await startBroker();
    // The subscriber takes 20 µs per event and never drops (HWM 0): backpressure reaches the publisher.
    const { publisher, subscriber } = await pair(
      ep,
      { overflowPolicy: "BLOCK", xpubSndhwm: 100 },
      { onloopQueueHwm: 0, xsubRcvhwm: 100 },
      0.02,
    );
    const sent = await floodAndCount(publisher, 2000, 20);
    await waitFor(
      async () => (await statsOf(subscriber)).counts.pub?.received === sent,
      `all ${sent} events at the subscriber`,
      60_000,
    );
    const sub = await statsOf(subscriber);
    const pub = await statsOf(publisher);
    expect(sub.counts.pub).toEqual({ received: sent, last: sent - 1, gaps: 0 });
    expect([sub.onloopDrops, pub.xpubDrops]).toEqual([0, 0]);
    expect(pub.xpubBlocks).toBeGreaterThan(0); // it really had to wait
    // Not frozen: the publisher's 10 ms timer never waited a whole second (a blocking send froze it for seconds).
    expect(pub.maxLag as number).toBeLessThan(1000);
  }, 90_000);
});

describe("DROP", () => {
  test("counted drops equal the events that did not arrive", async () => {
    const ep = await startBroker();
    // Drops at both ends: the publisher's XPUB (HWM 50) and the subscriber's onloop queue (HWM 50).
    const { publisher, subscriber } = await pair(
      ep,
      { overflowPolicy: "DROP", xpubSndhwm: 50 },
      { onloopQueueHwm: 50, xsubRcvhwm: 50 },
      0.01,
    );
    const sent = await floodAndCount(publisher, 1000, 100);
    let settled: { received: number; pubDrops: number; subDrops: number } | undefined;
    await waitFor(
      async () => {
        const [s, p] = [await statsOf(subscriber), await statsOf(publisher)];
        settled = {
          received: s.counts.pub?.received ?? 0,
          pubDrops: p.xpubDrops as number,
          subDrops: s.onloopDrops as number,
        };
        return settled.received + settled.pubDrops + settled.subDrops === sent;
      },
      `received + dropped to add up to ${sent} (last: ${JSON.stringify(settled)})`,
      30_000,
    );
    expect(settled!.pubDrops).toBeGreaterThan(0);
    expect(settled!.subDrops).toBeGreaterThan(0);
    expect(settled!.received).toBeGreaterThan(0);
  }, 90_000);
});
