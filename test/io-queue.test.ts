// The queues on a node's event path, bounded and in order: BLOCK pushes back after a few thousand events
// rather than a second's worth, DROP decides before encoding, and the backend's own events go ahead
// of queued data. Real sockets over loopback: a broker in this process with small queues and a raw
// XSUB subscriber that reads only when told, so the path behind the node stalls on purpose.

import { afterEach, describe, expect, test } from "bun:test";
import { Context, DONTWAIT, type Socket, SocketOption } from "../lib/_zmq.ts";
import type { ZeroMQOptions } from "../lib/config.ts";
import { Broker, type BrokerEndpoints } from "../lib/proxy.ts";
import { makeNode, startIoThread } from "./cluster-helpers.ts";
import { ANY_PORT, bytes, text, waitFor } from "./helpers.ts";

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
});

// Every queue between the node and the subscriber is small, so what the node's own queues hold shows.
// Kernel buffers stay at 128 KiB: below twice loopback's 64 KiB segment a receiver stops announcing
// room, and the sender waits for TCP's backed-off window probes (seconds).
const SMALL = 128 * 1024;
const BROKER_QUEUES = { listenXsubRcvhwm: 10, listenXsubRcvbuf: SMALL, listenXpubSndhwm: 10, listenXpubSndbuf: SMALL };
const NODE_QUEUES = { xpubSndhwm: 10, xpubSndbuf: SMALL };

async function startBroker(): Promise<BrokerEndpoints> {
  const broker = new Broker({ listenXsubEndpoint: ANY_PORT, listenXpubEndpoint: ANY_PORT, ...BROKER_QUEUES });
  cleanups.push(() => broker.stop());
  return broker.start();
}

/** A raw XSUB on the broker's XPUB subscribed to `bulk.` that reads only when asked. */
function stalledSubscriber(ep: BrokerEndpoints): Socket {
  const ctx = new Context();
  const sub = ctx.socket("XSUB");
  sub.setOption(SocketOption.LINGER, 0);
  sub.setOption(SocketOption.RCVBUF, SMALL);
  sub.connect(ep.xpub);
  sub.send([bytes("\x01bulk.")]);
  cleanups.push(() => ctx.close());
  return sub;
}

async function nodeWith(ep: BrokerEndpoints, options: ZeroMQOptions) {
  const node = makeNode({ name: "pub", connectXpubEndpoint: ep.xsub, connectXsubEndpoint: ep.xpub, ...options });
  cleanups.push(() => node.stop());
  await node.start();
  await waitFor(() => node.hasSubscription("bulk."), "the subscription at the publisher");
  return node;
}

/** Publishes until `publish` reports a wait (BLOCK) or `limit` events; returns how many were accepted first. */
function publishUntilRefused(publish: (i: number) => boolean, limit: number): number {
  for (let i = 0; i < limit; i++) if (!publish(i)) return i;
  return limit;
}

describe("BLOCK", () => {
  test("a stalled path pushes back after a few thousand events, not a second's worth", async () => {
    const ep = await startBroker();
    stalledSubscriber(ep);
    const node = await nodeWith(ep, { ...NODE_QUEUES, overflowPolicy: "BLOCK" });
    const payload = "x".repeat(60);
    let accepted = 0;
    // Several rounds: the worker takes batches from its PAIR in between, then stalls at the XPUB.
    for (let round = 0; round < 20; round++) {
      const n = publishUntilRefused((i) => node.publish("bulk.data", "bulk", [i, payload]), 400_000);
      accepted += n;
      if (n === 0) break;
      await Bun.sleep(20);
    }
    // The data PAIR holds 4 batches of ≤ 32 KiB; with libzmq's 1000 (the HWM set after bind) it held
    // 1016 batches, about 400,000 of these events.
    // The kernel's buffers hold about 10,000 of these, the node's own queues a few thousand more.
    expect(accepted).toBeGreaterThan(100);
    expect(accepted).toBeLessThan(50_000);
    expect(node.stats().pendingPublishes).toBeGreaterThan(0);
  }, 30_000);
});

describe("DROP", () => {
  test("an event that cannot be queued is dropped before it is encoded, and counted", async () => {
    const ep = await startBroker();
    const sub = stalledSubscriber(ep);
    const node = await nodeWith(ep, { ...NODE_QUEUES, overflowPolicy: "DROP" });
    const attempts = 50_000;
    for (let i = 0; i < attempts; i++) {
      node.publish("bulk.data", "bulk", [i, "x".repeat(60)]);
      if (i % 1000 === 999) await Bun.sleep(1); // the worker gets its batches and meets the full XPUB
    }
    const { outgoingEvents, xpubDrops } = node.stats();
    // Every attempt was either encoded (and is on its way) or dropped without being encoded.
    expect(outgoingEvents + xpubDrops).toBe(attempts);
    expect(xpubDrops).toBeGreaterThan(attempts / 2);
    expect(node.reports.some((r) => r.includes("dropped a message due to hwm"))).toBe(true);
    // Once the subscriber reads again, the event the worker held goes out and new ones are encoded again.
    const received = () => {
      let n = 0;
      while (sub.recv(DONTWAIT)) n++;
      return n;
    };
    let got = 0;
    await waitFor(
      () => (got += received()) > 0 && node.publish("bulk.data", "bulk", [0, "again"]),
      "room again",
      10_000,
    );
    expect(node.stats().outgoingEvents).toBeGreaterThan(outgoingEvents);
  }, 30_000);
});

describe("the backend's own events", () => {
  test("go ahead of the data queued behind a stalled path", async () => {
    const ep = await startBroker();
    const sub = stalledSubscriber(ep);
    const subscribed = Promise.withResolvers<void>();
    const notice = (on: boolean, topic: Uint8Array) => on && text(topic) === "bulk." && subscribed.resolve();
    const io = await startIoThread("prio-node", ep, { notice }, NODE_QUEUES, cleanups, 0);
    await subscribed.promise;
    const data = bytes("d".repeat(60));
    const queued = 60_000;
    for (let i = 0; i < queued; i++) io.publish("bulk.data", data, data.length, true);
    await Bun.sleep(50); // the worker took what its PAIR held and stalled at the XPUB
    expect(io.counters().pendingPublishes).toBeGreaterThan(queued / 2);
    const hello = bytes("hello");
    expect(io.publish("bulk.prio", hello, hello.length, true, true)).toBe("sent");
    // Read everything in order (drain() hands the local queue over as the path empties).
    const drained = io.drain();
    const topics: string[] = [];
    await waitFor(
      () => {
        for (let frames = sub.recv(DONTWAIT); frames; frames = sub.recv(DONTWAIT)) topics.push(text(frames[0]));
        return topics.length === queued + 1;
      },
      `every event at the subscriber (${topics.length} so far)`,
      20_000,
    );
    await drained;
    const at = topics.indexOf("bulk.prio");
    expect(at).toBeGreaterThanOrEqual(0);
    // Only what was already past the node's own queues (the XPUB, the broker, the kernel) came first.
    expect(at).toBeLessThan(queued / 2);
    expect(topics.filter((t) => t === "bulk.data").length).toBe(queued);
  }, 40_000);
});
