// xsubEngine "bun": the node's subscriber connection spoken by main itself (lib/_zmtp-xsub.ts), against a
// real libzmq XPUB (the broker's socket type) and against raw TCP servers that send what libzmq never
// would. Real sockets on loopback throughout.

import { afterEach, describe, expect, test } from "bun:test";
import { BatchCursor } from "../lib/_batch.ts";
import { Counter, createSharedState, readCounter, Slot } from "../lib/_channel.ts";
import { Context, DONTWAIT, type Socket, SocketOption } from "../lib/_zmq.ts";
import { ZmtpXsub, type ZmtpXsubConfig } from "../lib/_zmtp-xsub.ts";
import { resolveConfig } from "../lib/config.ts";
import { EVENTS } from "../lib/topics.ts";
import { expectEntry, layoutOf, makeNode, record, startManager, via } from "./cluster-helpers.ts";
import { bytes, text, waitFor } from "./helpers.ts";
import { mixedCluster, startZeek, stopZeekClusters, ZEEK, ZEEK_MISSING } from "./zeek-harness.ts";
import { exchange, frame, greeting, message, rawPeer, readyOf } from "./zmtp-helpers.ts";

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
  await stopZeekClusters();
});

const CONFIG: ZmtpXsubConfig = {
  connectXsubEndpoint: "",
  maxTopicLength: 1024,
  maxMessageSize: 1 << 20,
  onloopQueueHwm: 0,
  xsubRcvhwm: 1000,
  heartbeatIvl: 1000,
  heartbeatTtl: 3000,
};

/** A connection to `endpoint` whose events, reports and handshake failures are collected. */
function connect(endpoint: string, options: Partial<ZmtpXsubConfig> = {}, id = "me") {
  const state = createSharedState();
  const events: string[][] = [];
  const reports: string[] = [];
  const failures: string[] = [];
  const conn = new ZmtpXsub({ ...CONFIG, ...options, connectXsubEndpoint: endpoint }, state, bytes(id), {
    received(buffer) {
      const cursor = new BatchCursor(buffer);
      let n = 0;
      while (cursor.next()) {
        events.push([0, 1, 2, 3].map((i) => text(cursor.frame(i))));
        n++;
      }
      Atomics.sub(state.ints, Slot.OnloopDepth, n); // processed at once
      conn.resume();
    },
    report: (_key, message) => reports.push(message),
    handshakeFailed: (message) => failures.push(message),
  });
  cleanups.push(() => conn.close());
  conn.start();
  const count = (c: Counter) => readCounter(state, c);
  return { conn, events, reports, failures, count };
}

function xpub(options: [number, number][] = []): Socket {
  const ctx = new Context();
  cleanups.push(() => ctx.close());
  const s = ctx.socket("XPUB");
  s.setOption(SocketOption.LINGER, 0);
  s.setOption(SocketOption.XPUB_VERBOSE, 1);
  for (const [option, value] of options) s.setOption(option, value);
  s.bind("tcp://127.0.0.1:*");
  return s;
}

async function subscribed(pub: Socket, topic: string): Promise<void> {
  await waitFor(() => {
    for (let f = pub.recv(DONTWAIT); f; f = pub.recv(DONTWAIT)) if (text(f[0]!) === `\x01${topic}`) return true;
    return false;
  }, `the subscription ${topic}`);
}

describe("against libzmq's XPUB", () => {
  test("events of every size arrive whole and in order; its own are skipped; subscriptions filter", async () => {
    const pub = xpub([[SocketOption.SNDHWM, 0]]);
    const { conn, events, count } = connect(pub.lastEndpoint);
    conn.update(bytes("\x01a."));
    await subscribed(pub, "a.");
    const sizes = [0, 1, 250, 255, 256, 300, 65_536, 200_000];
    const n = 3000;
    for (let i = 0; i < n; i++) {
      const size = sizes[i % sizes.length]!;
      pub.send([bytes(`a.${i}`), bytes(i % 7 === 0 ? "me" : "peer"), bytes("f"), bytes("x".repeat(size))], DONTWAIT);
      if (i % 100 === 0) pub.send([bytes("b.not-subscribed"), bytes("peer"), bytes("f"), bytes("y")], DONTWAIT);
    }
    const expected = [...Array(n).keys()].filter((i) => i % 7 !== 0);
    await waitFor(() => events.length >= expected.length, "every event", 20_000);
    await Bun.sleep(50);
    expect(events.map((e) => e[0])).toEqual(expected.map((i) => `a.${i}`));
    expect(events.every((e, k) => e[3]!.length === sizes[expected[k]! % sizes.length])).toBe(true);
    expect(count(Counter.MsgErrors)).toBe(0);
    expect([count(Counter.XsubConnects), count(Counter.XsubDisconnects)]).toEqual([1, 0]);
  });

  test("connects to a bracketed IPv6 endpoint and to an ipc path", async () => {
    const ctx = new Context({ ipv6: true });
    cleanups.push(() => ctx.close());
    const endpoints = ["tcp://[::1]:*", `ipc:///tmp/zmtp-xsub-${process.pid}-${Date.now()}.sock`];
    for (const bind of endpoints) {
      const pub = ctx.socket("XPUB");
      pub.setOption(SocketOption.LINGER, 0);
      pub.setOption(SocketOption.XPUB_VERBOSE, 1);
      pub.bind(bind);
      const { conn, events } = connect(pub.lastEndpoint);
      conn.update(bytes("\x01v"));
      await subscribed(pub, "v");
      pub.send([bytes("v"), bytes("peer"), bytes("f"), bytes(bind)], DONTWAIT);
      await waitFor(() => events.length === 1, `the event over ${pub.lastEndpoint}`);
      expect(events[0]![3]).toBe(bind);
    }
  });

  test("answers libzmq's PINGs (a PONG may come between a message's frames) and stays connected", async () => {
    // libzmq cuts a peer off when nothing comes back within HEARTBEAT_TIMEOUT of its PING.
    const pub = xpub([
      [SocketOption.HEARTBEAT_IVL, 20],
      [SocketOption.HEARTBEAT_TIMEOUT, 60],
      [SocketOption.SNDHWM, 0],
    ]);
    const { conn, events, count } = connect(pub.lastEndpoint, { heartbeatIvl: 0 });
    conn.update(bytes("\x01t"));
    await subscribed(pub, "t");
    for (let round = 0; round < 10; round++) {
      for (let i = 0; i < 100; i++) pub.send([bytes("t"), bytes("p"), bytes("f"), bytes("z".repeat(5000))], DONTWAIT);
      await Bun.sleep(50);
    }
    await waitFor(() => events.length === 1000, "every event", 10_000);
    expect([count(Counter.XsubConnects), count(Counter.XsubDisconnects), count(Counter.MsgErrors)]).toEqual([1, 0, 0]);
  });

  test("its PINGs carry heartbeatTtl: kept while main runs, cut off by libzmq when main stalls past it", async () => {
    const pub = xpub([
      [SocketOption.HEARTBEAT_IVL, 0],
      [SocketOption.HEARTBEAT_TIMEOUT, 0],
      [SocketOption.HEARTBEAT_TTL, 0],
    ]);
    const { conn, count } = connect(pub.lastEndpoint, { heartbeatIvl: 50, heartbeatTtl: 300 });
    conn.update(bytes("\x01h"));
    await subscribed(pub, "h");
    await Bun.sleep(1000); // idle for more than the TTL: the PINGs keep the connection
    expect([count(Counter.XsubConnects), count(Counter.XsubDisconnects)]).toEqual([1, 0]);
    // Main stalls for 1 s (libzmq's own thread runs on): the broker side hears nothing for the TTL.
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1000);
    await waitFor(() => count(Counter.XsubDisconnects) === 1, "the connection cut off");
    await waitFor(() => count(Counter.XsubConnects) === 2, "connected again");
    await subscribed(pub, "h"); // with its subscription
  });

  test("subscriptions count like libzmq's XSUB's and are made again on a new connection", async () => {
    const ctx = new Context();
    cleanups.push(() => ctx.close());
    const first = xpub();
    const { conn } = connect(first.lastEndpoint);
    for (const notice of ["\x01k", "\x01k", "\x00k", "\x01m"]) conn.update(bytes(notice));
    await subscribed(first, "m");
    conn.update(bytes("\x00k")); // the second unsubscription of k is the one sent
    await waitFor(() => {
      for (let f = first.recv(DONTWAIT); f; f = first.recv(DONTWAIT)) if (text(f[0]!) === "\x00k") return true;
      return false;
    }, "the unsubscription of k");
    // The peer goes away; one at the same endpoint gets the subscriptions left (m) on the new connection.
    const endpoint = first.lastEndpoint;
    first.close();
    const second = ctx.socket("XPUB");
    second.setOption(SocketOption.LINGER, 0);
    second.setOption(SocketOption.XPUB_VERBOSE, 1);
    // libzmq closes the first socket's listener in its own thread: bind once the port is free again.
    await waitFor(() => {
      try {
        return (second.bind(endpoint), true);
      } catch {
        return false;
      }
    }, "the port free again");
    await subscribed(second, "m");
  });
});

describe("against peers that break the protocol", () => {
  test("a peer that is not ZMTP, or asks for CURVE, or is no publisher: handshake failures, reported", async () => {
    const http = rawPeer(cleanups, [bytes(`HTTP/1.1 400 Bad Request\r\n${" ".repeat(64)}`)]);
    const curve = rawPeer(cleanups, [greeting("CURVE")]);
    const push = rawPeer(cleanups, [greeting(), readyOf("PUSH")]);
    const cut = rawPeer(cleanups, [
      greeting(),
      frame(4, new Uint8Array([5, ...bytes("READY"), 11, ...bytes("Socket-Type"), 0, 0, 0, 200])),
    ]);
    const [a, b, c, d] = [http, curve, push, cut].map((p) => connect(p.endpoint));
    await waitFor(
      () => a!.failures.length && b!.failures.length && c!.failures.length && d!.failures.length,
      "four failures",
    );
    expect(a!.failures[0]).toMatch(/^ZeroMQ: Handshake for socket tcp:\/\/127\.0\.0\.1:\d+ failed: not a ZMTP peer/);
    expect(b!.failures[0]).toContain("the peer's security mechanism is CURVE");
    expect(c!.failures[0]).toContain("the peer is a PUSH socket");
    expect(d!.failures[0]).toContain("expected READY");
    for (const x of [a, b, c, d]) expect(x!.events).toEqual([]);
  });

  test("a frame beyond maxMessageSize, a 2^40-byte one and reserved flag bits end the connection, counted; what came before is kept", async () => {
    const huge = new Uint8Array([2, 0, 0, 1, 0, 0, 0, 0, 0]); // 2^40 bytes announced, none sent
    const peers = [
      rawPeer(cleanups, [
        greeting(),
        readyOf("XPUB"),
        ...message("t", "p", "f", "ok"),
        frame(0, bytes("y".repeat(2000))),
      ]),
      rawPeer(cleanups, [greeting(), readyOf("XPUB"), ...message("t", "p", "f", "ok"), huge]),
      rawPeer(cleanups, [greeting(), readyOf("XPUB"), ...message("t", "p", "f", "ok"), new Uint8Array([0x80, 1, 0])]),
    ];
    const conns = peers.map((p) => connect(p.endpoint, { maxMessageSize: 1000 }));
    for (const c of conns) await waitFor(() => c.count(Counter.XsubDisconnects) >= 1, "the disconnect");
    for (const c of conns) expect(c.events.map((e) => e[3])).toEqual(["ok"]);
    // Connected again after a second, and that is reported once, naming the reason.
    await waitFor(() => peers.every((p) => p.connections() >= 2), "the reconnects", 5000);
    await waitFor(() => conns.every((c) => c.reports.length > 0), "the reports");
    expect(conns[0]!.reports[0]).toMatch(
      /^XSUB: connected to \S+ again after a protocol error \(a frame of 2000 bytes, beyond maxMessageSize\)$/,
    );
    expect(conns[1]!.reports[0]).toContain("a frame of 2 GiB or more");
    expect(conns[2]!.reports[0]).toContain("reserved flag bits");
  });

  test("a message with other than 4 frames or a topic beyond maxTopicLength is counted and skipped", async () => {
    const peer = rawPeer(cleanups, [
      greeting(),
      readyOf("XPUB"),
      ...message("t", "p", "f"),
      ...message("t".repeat(11), "p", "f", "long"),
      ...message("t", "p", "f", "x", "extra"),
      ...message("t", "p", "f", "fine"),
    ]);
    const c = connect(peer.endpoint, { maxTopicLength: 10 });
    await waitFor(() => c.events.length === 1 && c.count(Counter.MsgErrors) === 3, "one event and three errors");
    expect(c.events[0]![3]).toBe("fine");
    expect(c.reports).toEqual([
      "xsub: error: expected 4 parts, have 3!",
      "xsub: error: a topic longer than maxTopicLength (10 bytes)",
      "xsub: error: expected 4 parts, have 5!",
    ]);
    expect(c.count(Counter.XsubDisconnects)).toBe(0);
  });
});

describe("xsubEngine option", () => {
  test("bad values and combinations it cannot serve are errors naming the option", () => {
    expect(() => resolveConfig({ xsubEngine: "zmtp" as "bun" }, {})).toThrow(RangeError);
    expect(() => resolveConfig({ xsubEngine: 1 as unknown as "bun" }, {})).toThrow(TypeError);
    expect(() => resolveConfig({ xsubEngine: "bun", xsubRcvbuf: 65536 }, {})).toThrow(/xsubEngine.*xsubRcvbuf/);
    expect(() => resolveConfig({ xsubEngine: "bun", connectXsubEndpoint: "inproc://x" }, {})).toThrow(/xsubEngine/);
    expect(resolveConfig({ xsubEngine: "bun", connectXsubEndpoint: "ipc:///tmp/x" }, {}).xsubEngine).toBe("bun");
    expect(resolveConfig({}, { ZEEK_CLUSTER_BACKEND_ZEROMQ_XSUB_ENGINE: "bun" }).xsubEngine).toBe("bun");
  });
});

describe('nodes with xsubEngine "bun"', () => {
  test("a worker gets node_up and events through its own connection, both ways with a libzmq node", async () => {
    const { worker } = await exchange(cleanups, 100, {}, { xsubEngine: "bun" });
    expect([worker.stats().msgErrors, worker.stats().xsubDisconnects, worker.stats().xsubConnects]).toEqual([0, 0, 1]);
  });

  test("only main answers for its connection: a stall past heartbeatTtl is a counted disconnect, then it is back", async () => {
    const layout = layoutOf({ "worker-1": "worker" });
    const manager = await startManager(layout);
    const fast = { heartbeatIvl: 50, heartbeatTtl: 300 };
    const worker = makeNode({ name: "worker-1", layout, ...via(manager), xsubEngine: "bun", ...fast });
    cleanups.push(() => worker.stop());
    const log = record(worker, EVENTS.nodeUp, "msg");
    await worker.start();
    await expectEntry(log, `${EVENTS.nodeUp} ["manager","${manager.id}"]`);
    manager.publish(manager.nodeTopic("worker-1"), "msg", ["one"]);
    await expectEntry(log, 'msg ["one"]');
    // Right after its subscriptions: whatever it writes is followed by a PING, so the TTL is armed.
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1000);
    await waitFor(() => worker.stats().xsubDisconnects === 1, "the stalled connection counted");
    await waitFor(() => worker.stats().xsubConnects === 2, "connected again");
    await waitFor(async () => {
      manager.publish(manager.nodeTopic("worker-1"), "msg", ["two"]);
      await Bun.sleep(50);
      return log.includes('msg ["two"]');
    }, "events again after its subscriptions were made again");
  });

  const skip = ZEEK ? "" : ` (skipped: ${ZEEK_MISSING})`;
  test.skipIf(!ZEEK)(
    `a Bun worker with both engines in a Zeek cluster, over ipc: node_up both ways, events both ways${skip}`,
    async () => {
      const cluster = mixedCluster({
        nodes: { manager: { type: "manager", impl: "zeek" }, "worker-1": { type: "worker", impl: "bun" } },
      });
      const script = `
module Test; export { global hi: event(s: string); global reply: event(s: string); }
event Cluster::node_up(name: string, id: string) {
  print fmt("node_up %s %s", name, id);
  Cluster::publish(Cluster::node_topic(name), Test::hi, "from zeek");
}
event Test::reply(s: string) { print fmt("reply %s", s); }`;
      const manager = await startZeek("manager", script, cluster);
      const bun = makeNode({ ...cluster.bunOptions("worker-1"), xsubEngine: "bun", xpubEngine: "bun" });
      cleanups.push(() => bun.stop());
      const log = record(bun, EVENTS.nodeUp, "Test::hi");
      await bun.start();
      await expectEntry(log, `${EVENTS.nodeUp} ["manager","${manager.id}"]`);
      await manager.waitForLine(new RegExp(`^node_up worker-1 ${bun.id}$`), 5000);
      await expectEntry(log, 'Test::hi ["from zeek"]');
      bun.publish(bun.nodeTopic("manager"), "Test::reply", ["from bun"]);
      await manager.waitForLine(/^reply from bun$/, 5000);
      const s = bun.stats();
      expect([s.msgErrors, s.xsubDisconnects, s.xpubDisconnects, s.xpubConnects, s.xsubConnects]).toEqual([
        0, 0, 0, 1, 1,
      ]);
    },
  );
});
