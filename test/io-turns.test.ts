// Main's own turns on the node's sockets. Sends on the XPUB (lib/_io-direct.ts): an event published
// while nothing earlier waits in the I/O Worker goes out from publish() itself; everything else takes
// the worker's path. Reads of the XSUB (lib/_io-xsub-loan.ts): an idle main is lent the socket and
// reads what arrives itself; a busy one gets the worker's batches. These tests check that switching
// between the two keeps every event and its order, and that subscriptions arriving while main sends
// are still seen (main's sends can take the XPUB descriptor's signal). Real sockets over loopback, a
// broker in this process, raw XSUB subscribers and a raw XPUB publisher.

import { afterEach, describe, expect, test } from "bun:test";
import type { BatchCursor } from "../lib/_batch.ts";
import { createSharedState } from "../lib/_channel.ts";
import { Control } from "../lib/_frames.ts";
import { DirectXpub } from "../lib/_io-direct.ts";
import type { IoThread } from "../lib/_io-thread.ts";
import { Context, DONTWAIT, POLLIN, type Socket, SocketOption } from "../lib/_zmq.ts";
import type { ZeroMQOptions } from "../lib/config.ts";
import { Broker, type BrokerEndpoints } from "../lib/proxy.ts";
import { startIoThread } from "./cluster-helpers.ts";
import { ANY_PORT, bytes, text, waitFor } from "./helpers.ts";

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
});

async function startBroker(): Promise<BrokerEndpoints> {
  const broker = new Broker({ listenXsubEndpoint: ANY_PORT, listenXpubEndpoint: ANY_PORT });
  cleanups.push(() => broker.stop());
  return broker.start();
}

function rawSubscriber(ep: BrokerEndpoints, prefix: string): Socket {
  const ctx = new Context();
  const sub = ctx.socket("XSUB");
  sub.setOption(SocketOption.LINGER, 0);
  sub.connect(ep.xpub);
  sub.send([bytes(`\x01${prefix}`)]);
  cleanups.push(() => ctx.close());
  return sub;
}

async function startIo(
  ep: BrokerEndpoints,
  notices: string[],
  event: (record: BatchCursor) => void = () => undefined,
  options: ZeroMQOptions = {},
): Promise<IoThread> {
  const notice = (on: boolean, topic: Uint8Array) => notices.push(`${on ? "+" : "-"}${text(topic)}`);
  return startIoThread("direct-node", ep, { notice, event }, options, cleanups, 1000);
}

/** A raw XPUB on the broker's XSUB that waits at its HWM (`NODROP`), once `io` subscribed to `t.`. */
async function rawPublisher(ep: BrokerEndpoints, io: IoThread): Promise<Socket> {
  io.xsubUpdate(bytes("\x01t."));
  const ctx = new Context();
  cleanups.push(() => ctx.close());
  const pub = ctx.socket("XPUB");
  pub.setOption(SocketOption.LINGER, 0);
  pub.setOption(SocketOption.XPUB_NODROP, 1); // waits instead of dropping while the node is busy
  pub.connect(ep.xsub);
  await waitFor(() => pub.recv(DONTWAIT), "the node's subscription at the publisher");
  return pub;
}

/** A broker, a node and a raw subscriber of `prefix` whose subscription the node has seen. */
async function withSubscriber(prefix: string) {
  const ep = await startBroker();
  const notices: string[] = [];
  const sub = rawSubscriber(ep, prefix);
  const io = await startIo(ep, notices);
  await waitFor(() => notices.includes(`+${prefix}`), `the subscription to ${prefix} at the node`);
  return { ep, notices, sub, io };
}

/** Reads what waits; returns the payloads (as numbers) of `[topic, sender, format, payload]` messages. */
function readAll(sub: Socket, into: number[]): void {
  for (let m = sub.recv(DONTWAIT); m; m = sub.recv(DONTWAIT)) {
    expect(m).toHaveLength(4);
    into.push(Number(text(m[3]!)));
  }
}

describe("main's own sends on the XPUB", () => {
  test("every event arrives once and in order as publishing switches between main and the worker", async () => {
    const { sub, io } = await withSubscriber("seq.");
    const got: number[] = [];
    let n = 0;
    const send = () => {
      const p = bytes(String(n++));
      return io.publish("seq.n", p, p.length, true);
    };
    // One at a time with the path empty: main sends each itself.
    for (let i = 0; i < 200; i++) {
      send();
      await Bun.sleep(0);
      readAll(sub, got);
    }
    // Main's sends are opportunistic (it never waits for the lock): on a loaded machine some of these
    // go through the worker. What matters here is that both paths carry events.
    expect(io.directSends).toBeGreaterThan(0);
    // Batches for the worker (publishes made before a node is live wait for flushPending()) with single
    // events between them: those must wait behind the batches, then main takes over again.
    for (let round = 0; round < 20; round++) {
      // Each round from an empty path (the worker asleep), where an event that overtook would show.
      await waitFor(() => (readAll(sub, got), got.length >= n), `round ${round}'s start`, 10_000);
      for (let i = 0; i < 100; i++) {
        const p = bytes(String(n++));
        io.publish("seq.n", p, p.length, false);
      }
      io.flushPending();
      for (let i = 0; i < 20; i++) send();
    }
    await waitFor(() => (readAll(sub, got), got.length >= n), "every event at the subscriber", 10_000);
    // The path is empty again: single events go from main once more.
    const before = io.directSends;
    for (let i = 0; i < 50; i++) {
      send();
      await Bun.sleep(0);
    }
    await waitFor(() => (readAll(sub, got), got.length >= n), "the last events at the subscriber", 10_000);
    expect(io.directSends - before).toBeGreaterThan(0);
    expect(got.length).toBe(n);
    expect(got.every((v, i) => v === i)).toBe(true);
  });

  test("subscriptions that arrive while main keeps sending are seen, and their subscribers get the events", async () => {
    const { ep, notices, sub: first, io } = await withSubscriber("a.");
    const seen: number[] = [];
    // Keep publishing one event per turn (main's own sends) while 20 new subscribers come and go.
    let n = 0;
    let running = true;
    const pump = (async () => {
      while (running) {
        const p = bytes(String(n++));
        const apart = performance.now() + 0.06; // events on their own, as main sends them itself
        while (performance.now() < apart);
        io.publish("a.x", p, p.length, true);
        readAll(first, seen);
        await Bun.sleep(0);
      }
    })();
    for (let i = 0; i < 20; i++) {
      const s = rawSubscriber(ep, `a.${i}.`);
      await waitFor(() => notices.includes(`+a.${i}.`), `subscription ${i} at the node while it sends`, 5000);
      s.send([bytes(`\x00a.${i}.`)]);
      await waitFor(() => notices.includes(`-a.${i}.`), `unsubscription ${i} at the node while it sends`, 5000);
    }
    running = false;
    await pump;
    expect(io.directSends).toBeGreaterThan(n / 10); // main sent many itself while subscriptions came and went
    await waitFor(() => (readAll(first, seen), seen.length === n), "every event at the first subscriber", 5000);
    expect(seen.every((v, i) => v === i)).toBe(true);
  });
});

describe("main's sends and the subscriptions waiting on the XPUB", () => {
  // The I/O Worker sleeps on the XPUB's descriptor; a send by main can take that descriptor's signal
  // while a subscription waits unread. Main must then tell the worker (`XpubCheck`), and only then.
  test("a send that leaves a subscription waiting tells the worker; one that does not, does not", async () => {
    const ctx = new Context();
    cleanups.push(() => ctx.close());
    const xpub = ctx.socket("XPUB");
    xpub.setOption(SocketOption.LINGER, 0);
    xpub.bind(ANY_PORT);
    const [control, worker] = [ctx.socket("PAIR"), ctx.socket("PAIR")];
    control.bind("inproc://direct-xpub-check");
    worker.connect("inproc://direct-xpub-check");
    const sub = ctx.socket("XSUB");
    sub.setOption(SocketOption.LINGER, 0);
    sub.connect(xpub.lastEndpoint);
    sub.send([bytes("\x01t.")]);
    await waitFor(() => xpub.events() & POLLIN, "the subscription waiting on the XPUB");
    const direct = new DirectXpub(xpub, control, createSharedState(), bytes("me"), bytes("msgpack-v1"));
    const payload = bytes("one");
    expect(direct.trySend(bytes("t.x"), payload, payload.length)).toBe(true);
    await Promise.resolve(); // the check runs after the run of sends
    expect(worker.recv(DONTWAIT)?.map(text)).toEqual([text(new Uint8Array([Control.XpubCheck]))]);
    expect((await waitFor(() => sub.recv(DONTWAIT), "the event"))?.map(text)).toEqual([
      "t.x",
      "me",
      "msgpack-v1",
      "one",
    ]);
    // The worker read the subscription: a send now leaves nothing waiting, and says nothing.
    expect(xpub.recv(DONTWAIT)?.map(text)).toEqual(["\x01t."]);
    expect(direct.trySend(bytes("t.x"), payload, payload.length)).toBe(true);
    await Promise.resolve();
    expect(worker.recv(DONTWAIT)).toBeNull();
  });
});

describe("main's turns on the XSUB", () => {
  test("events in random bursts arrive in order, read by an idle main and by the worker in turn", async () => {
    const ep = await startBroker();
    const notices: string[] = [];
    const got: number[] = [];
    let slow = false;
    const io = await startIo(ep, notices, (record) => {
      got.push(Number(text(record.bytes.subarray(record.start(3), record.end(3)))));
      // Slow handlers now and then: main is busy longer than a slice, gives the XSUB back, and the
      // worker reads ahead and hands batches over.
      const until = performance.now() + (slow ? 0.2 : 0);
      while (performance.now() < until);
    });
    const pub = await rawPublisher(ep, io);
    let seed = 7;
    const random = () => (seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31;
    let sent = 0;
    for (let round = 0; round < 1500; round++) {
      slow = round % 300 >= 150 && round % 300 < 160;
      const burst = slow ? 150 : 1 + Math.floor(random() * 4);
      for (let i = 0; i < burst; i++) {
        const frames = ["t.x", "sender", "msgpack-v1", String(sent)];
        while (!pub.send(frames, DONTWAIT)) await Bun.sleep(1);
        sent++;
      }
      if (random() < 0.5) await Bun.sleep(0);
      else await new Promise((resolve) => setImmediate(resolve));
    }
    await waitFor(() => got.length >= sent, `all ${sent} events at the node`, 10_000);
    expect(got.length).toBe(sent);
    expect(got.every((v, i) => v === i)).toBe(true);
    expect(io.loanedReads).toBeGreaterThan(sent / 20); // main read many itself...
    expect(io.loanedReads).toBeLessThan(sent); // ...and the worker the rest
    expect(io.counters().msgErrors).toBe(0);
  });

  test("a busy main gives the XSUB back: the worker reads ahead, and drops beyond onloop_queue_hwm are counted", async () => {
    const ep = await startBroker();
    let got = 0;
    const io = await startIo(
      ep,
      [],
      () => {
        got++;
        const until = performance.now() + 0.5; // a slow handler: 2,000 events take a second
        while (performance.now() < until);
      },
      { onloopQueueHwm: 100 },
    );
    const pub = await rawPublisher(ep, io);
    const sent = 2000;
    for (let i = 0; i < sent; i++)
      while (!pub.send(["t.x", "s", "msgpack-v1", String(i)], DONTWAIT)) await Bun.sleep(1);
    await waitFor(() => got + io.counters().onloopDrops >= sent, "every event received or counted", 20_000);
    // Zeek's behaviour: the node keeps reading and drops what its main loop has no room for, rather
    // than leaving it in the socket and pushing back on the broker (and so on every other node).
    expect(io.counters().onloopDrops).toBeGreaterThan(0);
    expect(got + io.counters().onloopDrops).toBe(sent);
  });
});
