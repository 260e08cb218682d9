// A broker without NODROP (listenXpubNodrop: false) drops for full subscribers, as libzmq's XPUB does,
// but counts it (zeek_cluster_zeromq_proxy_xpub_overflows_total), and a fast subscriber still gets
// everything. Raw libzmq peers in this process, the broker in a Worker of it.

import { afterEach, expect, test } from "bun:test";
import { Context, DONTWAIT, type Socket, SocketOption } from "../lib/_zmq.ts";
import { Broker, type BrokerEndpoints } from "../lib/proxy.ts";
import { ClusterNode } from "../lib/pubsub.ts";
import { ANY_PORT, bytes, recvWithin, waitFor } from "./helpers.ts";

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
});

async function startBroker(): Promise<[Broker, BrokerEndpoints]> {
  const broker = new Broker({ listenXsubEndpoint: ANY_PORT, listenXpubEndpoint: ANY_PORT, listenXpubNodrop: false });
  cleanups.push(() => broker.stop());
  return [broker, await broker.start()];
}

function sockets() {
  const ctx = new Context();
  cleanups.push(() => ctx.close());
  return ctx;
}

/** Reads every message waiting on `sub` until it has been silent for `quietMs`; returns how many. */
async function drainCount(sub: Socket, quietMs = 300): Promise<number> {
  let n = 0;
  let quietSince = performance.now();
  while (performance.now() - quietSince < quietMs) {
    if (sub.recv(DONTWAIT)) {
      n++;
      quietSince = performance.now();
    } else await Bun.sleep(2);
  }
  return n;
}

test("a slow subscriber's losses are counted; a fast subscriber gets everything", async () => {
  const [broker, ep] = await startBroker();
  const ctx = sockets();
  const pub = ctx.socket("XPUB");
  pub.setOption(SocketOption.XPUB_NODROP, 1); // the publisher itself never drops: blocking sends
  pub.setOption(SocketOption.XPUB_VERBOSE, 1);
  pub.connect(ep.xsub);
  // The slow one has small buffers and reads little: the broker's queue for it fills.
  const slow = ctx.socket("XSUB");
  slow.setOption(SocketOption.RCVHWM, 10);
  slow.setOption(SocketOption.RCVBUF, 4096);
  slow.connect(ep.xpub);
  // The fast one's libzmq thread (its own context's) takes whatever arrives (no HWM), so the broker
  // never finds it full for long.
  const fast = sockets().socket("XSUB");
  fast.setOption(SocketOption.RCVHWM, 0);
  fast.connect(ep.xpub);
  for (const s of [slow, fast]) s.send([new Uint8Array([1, ...bytes("bulk.")])]);
  await recvWithin(pub, "the first subscription");
  await recvWithin(pub, "the second subscription");

  const sent = 20_000;
  const payload = new Uint8Array(1024);
  let fastReceived = 0;
  let slowReceived = 0;
  for (let i = 0; i < sent; i++) {
    pub.send([bytes("bulk.data"), new Uint8Array(new Uint32Array([i]).buffer), payload]);
    // Paced (at most 10,000/s), so that the fast one has room to spare even on a busy machine.
    if (i % 20 === 19) {
      while (fast.recv(DONTWAIT)) fastReceived++;
      // The slow one reads a little now and then: its queue fills, drains, and fills again.
      for (let n = 0; n < 4 && slow.recv(DONTWAIT); n++) slowReceived++;
      await Bun.sleep(2);
    }
  }
  fastReceived += await drainCount(fast);
  slowReceived += await drainCount(slow);
  const { xpubOverflows } = broker.counters();
  console.log(
    `[proxy-drops] sent ${sent}: fast got ${fastReceived}; slow got ${slowReceived}, drops counted ${xpubOverflows}`,
  );
  expect(fastReceived).toBe(sent);
  expect(slowReceived).toBeLessThan(sent);
  expect(xpubOverflows).toBeGreaterThan(0);
  expect(slowReceived + xpubOverflows).toBeLessThanOrEqual(sent);

  // STATISTICS as zmq_proxy answers it, per frame: 3 frames a message in, 3 out (dropped ones too).
  const stats = await broker.statistics();
  expect(stats.frontend.messagesReceived).toBe(3 * sent);
  expect(stats.backend.messagesSent).toBe(3 * sent);
  expect(stats.backend.messagesReceived).toBe(2); // the two subscriptions
  expect(stats.frontend.messagesSent).toBe(2);
  const stopping = performance.now();
  await broker.stop(); // TERMINATE on the control socket
  expect(performance.now() - stopping).toBeLessThan(900); // without falling back to the context's shutdown
});

test("the drops reach the metrics of the node that runs the broker", async () => {
  const node = new ClusterNode({
    name: "manager",
    runProxyThread: true,
    listenXsubEndpoint: ANY_PORT,
    listenXpubEndpoint: ANY_PORT,
    listenXpubNodrop: false,
  });
  cleanups.push(() => node.stop());
  await node.start();
  const ep = node.broker!.endpoints!;
  const ctx = sockets();
  const pub = ctx.socket("XPUB");
  pub.setOption(SocketOption.XPUB_NODROP, 1);
  pub.setOption(SocketOption.XPUB_VERBOSE, 1);
  pub.connect(ep.xsub);
  const slow = ctx.socket("XSUB");
  slow.setOption(SocketOption.RCVHWM, 10);
  slow.setOption(SocketOption.RCVBUF, 4096);
  slow.connect(ep.xpub);
  slow.send([new Uint8Array([1, ...bytes("bulk.")])]);
  await waitFor(() => pub.recv(DONTWAIT)?.[0]?.[0] === 1 || undefined, "the subscription");
  for (let i = 0; i < 5000; i++) pub.send([bytes("bulk.data"), new Uint8Array(1024)]);
  const text = await waitFor(async () => {
    const t = await node.metrics.render();
    return /zeek_cluster_zeromq_proxy_xpub_overflows_total\{node="manager"\} [1-9]/.test(t) && t;
  }, "a drop in the metrics");
  expect(text).toContain('zeek_cluster_zeromq_proxy_disconnects_total{node="manager",socket="xpub"} 0');
});
