// Limits of what a socket takes from the network, and the disconnects they and broker restarts
// cause, counted: maxMessageSize on the broker's XSUB and a node's XSUB and PULL, maxTopicLength on the
// broker's XPUB (a huge subscription costs libzmq one trie node per byte), and the reconnects of a
// broker restart. Real sockets over loopback; the node in the RSS test is its own process.

import { afterEach, describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import net from "node:net";
import { Context, DONTWAIT, type Socket, SocketOption } from "../lib/_zmq.ts";
import { curveKeypair } from "../lib/curve.ts";
import { Broker, type BrokerEndpoints } from "../lib/proxy.ts";
import { MSGPACK_V1 } from "../lib/serializer.ts";
import { expectEntry, makeNode, record } from "./cluster-helpers.ts";
import { ANY_PORT, bytes, recvWithin, startNodeProcess, text, waitFor } from "./helpers.ts";

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
});

async function startBroker(options = {}): Promise<[Broker, BrokerEndpoints]> {
  const broker = new Broker({ listenXsubEndpoint: ANY_PORT, listenXpubEndpoint: ANY_PORT, ...options });
  cleanups.push(() => broker.stop());
  return [broker, await broker.start()];
}

function context(): Context {
  const ctx = new Context();
  cleanups.push(() => ctx.close());
  return ctx;
}

/** A raw XPUB on the broker's XSUB that sees every (un)subscription: a publisher. */
function publisher(ctx: Context, ep: BrokerEndpoints): Socket {
  const pub = ctx.socket("XPUB");
  pub.setOption(SocketOption.XPUB_VERBOSE, 1);
  pub.connect(ep.xsub);
  return pub;
}

/** Waits until `pub` sees the subscription `+topic` (again, after a reconnect). */
async function seesSubscription(pub: Socket, topic: string, timeoutMs = 5000): Promise<void> {
  await waitFor(
    () => {
      for (let f = pub.recv(DONTWAIT); f; f = pub.recv(DONTWAIT))
        if (f[0]![0] === 1 && text(f[0]!.subarray(1)) === topic) return true;
      return false;
    },
    `the subscription ${topic.slice(0, 40)}`,
    timeoutMs,
  );
}

const residentBytes = (pid: number) =>
  Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))![1]) * 1024;
const MB = 1024 * 1024;

/** One ZMTP 3 frame: flags (command, long), size, body. */
function frame(body: Uint8Array, command = false): Uint8Array {
  const long = body.length > 255;
  const out = new Uint8Array((long ? 9 : 2) + body.length);
  out[0] = (command ? 0x04 : 0) | (long ? 0x02 : 0);
  if (long) new DataView(out.buffer).setBigUint64(1, BigInt(body.length));
  else out[1] = body.length;
  out.set(body, long ? 9 : 2);
  return out;
}

/**
 * A ZMTP 3.1 peer written by hand over TCP (NULL mechanism), as `socketType`. It keeps nothing of what
 * it sends, so a 4 MB subscription costs this process 4 MB, not the libzmq trie's hundreds.
 */
async function rawPeer(endpoint: string, socketType: string) {
  const [, host, port] = /^tcp:\/\/([^:]+):(\d+)$/.exec(endpoint)!;
  const sock = net.connect(Number(port), host);
  cleanups.push(() => sock.destroy());
  const closed = new Promise<void>((resolve) => sock.on("close", () => resolve()));
  sock.on("error", () => {});
  let received = 0; // the broker's greeting (64 bytes), then its READY (a short command frame)
  let readySize = Infinity;
  sock.on("data", (chunk: Buffer) => {
    if (received <= 65 && received + chunk.length > 65) readySize = 2 + chunk[65 - received]!;
    received += chunk.length;
  });
  await new Promise((resolve) => sock.once("connect", resolve));
  const greeting = new Uint8Array(64);
  greeting.set([0xff, 0, 0, 0, 0, 0, 0, 0, 1, 0x7f, 3, 1]);
  greeting.set(bytes("NULL"), 12);
  const type = bytes(socketType);
  const ready = [5, ...bytes("READY"), 11, ...bytes("Socket-Type"), 0, 0, 0, type.length, ...type];
  sock.write(greeting);
  sock.write(frame(new Uint8Array(ready), true));
  // Until libzmq has sent its READY, it takes any frame for a handshake command (and drops the peer).
  await waitFor(() => received >= 64 + readySize, "the broker's READY");
  return {
    /** Subscribes as a data frame `0x01topic` or as a ZMTP 3.1 `SUBSCRIBE` command. */
    subscribe(topic: Uint8Array, as: "message" | "command") {
      const name = bytes("\x09SUBSCRIBE");
      const body = new Uint8Array((as === "command" ? name.length : 1) + topic.length);
      if (as === "command") body.set(name);
      else body[0] = 1;
      body.set(topic, body.length - topic.length);
      sock.write(frame(body, as === "command"));
    },
    /** Resolves true once the peer hung up, false after `ms`. */
    closedWithin: (ms: number) => Promise.race([closed.then(() => true), Bun.sleep(ms).then(() => false)]),
  };
}

describe("maxTopicLength at the broker's XPUB", () => {
  test("a 4 MB subscription disconnects its sender; the broker and the nodes do not grow; normal ones pass", async () => {
    const [broker, ep] = await startBroker();
    const connect = { connectXpubEndpoint: ep.xsub, connectXsubEndpoint: ep.xpub };
    const node = await startNodeProcess({ name: "watcher", options: connect, print: ["msg"] });
    node.send({ cmd: "subscribe", topic: "ok." });
    const pub = publisher(context(), ep);
    await seesSubscription(pub, "ok.");
    Bun.gc(true);
    const before = { broker: process.memoryUsage.rss(), node: residentBytes(node.proc.pid) };

    const huge = new Uint8Array(4 * MB).fill(0x61);
    for (const as of ["message", "command"] as const) {
      const attacker = await rawPeer(ep.xpub, "XSUB");
      attacker.subscribe(huge, as);
      expect(await attacker.closedWithin(5000)).toBe(true);
    }
    await waitFor(() => broker.counters().xpubDisconnects >= 2, "two disconnects counted at the broker's XPUB");

    // Subscriptions up to maxTopicLength (1024) pass, in both forms, and events flow as before.
    const longest = "t".repeat(1024);
    const messageForm = await rawPeer(ep.xpub, "XSUB");
    messageForm.subscribe(bytes(`${longest.slice(1)}m`), "message");
    await seesSubscription(pub, `${longest.slice(1)}m`);
    const commandForm = await rawPeer(ep.xpub, "XSUB");
    commandForm.subscribe(bytes(`${longest.slice(1)}c`), "command");
    await seesSubscription(pub, `${longest.slice(1)}c`);
    pub.send([bytes("ok.now"), bytes("raw"), bytes("msgpack-v1"), MSGPACK_V1.encode({ name: "msg", args: ["ok"] })]);
    await node.waitForLine(/^event msg \["ok"\]/, 5000);
    expect(await messageForm.closedWithin(0)).toBe(false);
    expect(await commandForm.closedWithin(0)).toBe(false);

    Bun.gc(true);
    const growth = {
      broker: process.memoryUsage.rss() - before.broker,
      node: residentBytes(node.proc.pid) - before.node,
    };
    console.log(
      `[limits] RSS growth after two 4 MB subscriptions: broker ${growth.broker / MB} MB, node ${growth.node / MB} MB`,
    );
    expect(growth.broker).toBeLessThan(20 * MB); // 4 MB of it is this test's own buffer
    expect(growth.node).toBeLessThan(10 * MB);
  }, 60_000);

  test("a CURVE handshake fits under the XPUB's limit even with the smallest maxTopicLength", async () => {
    const [server, client] = [curveKeypair(), curveKeypair()];
    const [, ep] = await startBroker({
      maxTopicLength: 1,
      curveServerSecretkey: server.secretKey,
      curveClientPublickey: client.publicKey,
    });
    const ctx = context();
    const asClient = (s: Socket) => {
      s.setOption(SocketOption.CURVE_SERVERKEY, server.publicKey);
      s.setOption(SocketOption.CURVE_PUBLICKEY, client.publicKey);
      s.setOption(SocketOption.CURVE_SECRETKEY, client.secretKey);
    };
    const pub = ctx.socket("XPUB");
    pub.setOption(SocketOption.XPUB_VERBOSE, 1);
    asClient(pub);
    pub.connect(ep.xsub);
    const sub = ctx.socket("XSUB");
    asClient(sub);
    sub.connect(ep.xpub);
    sub.send([new Uint8Array([1, ...bytes("a")])]);
    await seesSubscription(pub, "a");
    pub.send(["a", "payload"]);
    expect(text((await recvWithin(sub, "the message"))[1])).toBe("payload");
  });
});

describe("maxMessageSize", () => {
  const LIMIT = 64 * 1024;
  const event = (topic: string, name: string, size: number) => [
    bytes(topic),
    bytes("raw"),
    bytes("msgpack-v1"),
    MSGPACK_V1.encode({ name, args: ["x".repeat(size)] }),
  ];

  test("a larger event at the broker's XSUB disconnects its publisher, counted; a smaller one passes", async () => {
    const [broker, ep] = await startBroker({ maxMessageSize: LIMIT });
    const node = makeNode({ name: "n", connectXpubEndpoint: ep.xsub, connectXsubEndpoint: ep.xpub });
    const log = record(node, "big", "small");
    node.subscribe("limit.");
    await node.start();
    const pub = publisher(context(), ep);
    await seesSubscription(pub, "limit.");
    pub.send(event("limit.1", "big", LIMIT + 1));
    await waitFor(() => broker.counters().xsubDisconnects === 1, "the publisher cut off at the broker");
    await seesSubscription(pub, "limit."); // reconnected: the broker's XSUB replays its subscriptions
    pub.send(event("limit.2", "small", LIMIT - 1000));
    await expectEntry(log, `small ["${"x".repeat(LIMIT - 1000)}"]`);
    expect(log.some((l) => l.startsWith("big"))).toBe(false);
    expect(broker.counters().xpubDisconnects).toBe(0);
  });

  test("a larger event at a node's XSUB disconnects it from the broker, counted; a smaller one passes", async () => {
    const [broker, ep] = await startBroker(); // 16 MiB: the node's limit is the one met
    const node = makeNode({
      name: "n",
      connectXpubEndpoint: ep.xsub,
      connectXsubEndpoint: ep.xpub,
      maxMessageSize: LIMIT,
    });
    const log = record(node, "big", "small");
    node.subscribe("limit.");
    await node.start();
    const pub = publisher(context(), ep);
    await seesSubscription(pub, "limit.");
    pub.send(event("limit.1", "big", LIMIT + 1));
    await waitFor(() => node.stats().xsubDisconnects === 1, "the node's XSUB cutting the broker off");
    // libzmq does not reconnect after a protocol error: the node does, and says so once.
    await seesSubscription(pub, "limit.");
    // The report comes from the I/O Worker by message: it may arrive after the subscription did.
    const reconnected = () => node.reports.filter((r) => r.includes("XSUB: connected to"));
    await waitFor(() => reconnected().length > 0, "the node's report of its reconnect");
    expect(reconnected()).toHaveLength(1);
    pub.send(event("limit.2", "small", LIMIT - 1000));
    await expectEntry(log, `small ["${"x".repeat(LIMIT - 1000)}"]`);
    expect(log.some((l) => l.startsWith("big"))).toBe(false);
    expect(broker.counters().xpubDisconnects).toBe(1);
    expect(node.stats().xpubDisconnects).toBe(0);
  });

  test("a larger frame at a logger's PULL disconnects the pusher, counted; a smaller one passes", async () => {
    const [, ep] = await startBroker();
    const logger = makeNode({
      name: "logger",
      connectXpubEndpoint: ep.xsub,
      connectXsubEndpoint: ep.xpub,
      listenLogEndpoint: ANY_PORT,
      maxMessageSize: LIMIT,
      logging: { files: false },
    });
    await logger.start();
    const push = context().socket("PUSH");
    push.connect(logger.logEndpoint);
    push.send(["log-write", "raw", "msgpack-log-v1", new Uint8Array(LIMIT + 1)]);
    await waitFor(() => logger.stats().pullDisconnects === 1, "the logger's PULL cutting the pusher off");
    const errors = logger.stats().msgErrors;
    push.send(["log-write", "raw", "msgpack-log-v1", new Uint8Array(100).fill(0xc1)]); // not msgpack, but small
    await waitFor(() => logger.stats().msgErrors === errors + 1, "the small batch read (and found malformed)");
  });
});

test("a broker restart is counted in the nodes' disconnects, and in their metrics", async () => {
  const [broker, ep] = await startBroker();
  const node = makeNode({ name: "n", connectXpubEndpoint: ep.xsub, connectXsubEndpoint: ep.xpub });
  await node.start();
  expect([node.stats().xpubDisconnects, node.stats().xsubDisconnects]).toEqual([0, 0]);
  await broker.stop();
  await broker.start();
  await waitFor(
    () => node.stats().xpubDisconnects === 1 && node.stats().xsubDisconnects === 1,
    "a disconnect of the XPUB and of the XSUB",
  );
  const metrics = await node.metrics.render();
  expect(metrics).toContain('zeek_cluster_zeromq_disconnects_total{node="n",socket="xpub"} 1');
  expect(metrics).toContain('zeek_cluster_zeromq_disconnects_total{node="n",socket="xsub"} 1');
  expect(metrics).toContain('zeek_cluster_zeromq_disconnects_total{node="n",socket="push"} 0');
  // libzmq reconnected by itself: the node did not connect again (which would double the connection).
  expect(node.reports.filter((r) => r.includes("again after libzmq dropped"))).toEqual([]);
});
