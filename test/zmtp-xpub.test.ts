// xpubEngine "bun": the node's publisher connection spoken by main itself (lib/_zmtp-xpub.ts), against a
// real libzmq XSUB (the broker's socket type) and raw TCP peers that stop reading or send what libzmq
// never would. Real sockets on loopback throughout.

import { afterEach, describe, expect, test } from "bun:test";
import { Counter, createSharedState, readCounter } from "../lib/_channel.ts";
import { Context, DONTWAIT, type Socket, SocketOption } from "../lib/_zmq.ts";
import { ZmtpXpub, type ZmtpXpubConfig } from "../lib/_zmtp-xpub.ts";
import { resolveConfig } from "../lib/config.ts";
import { bytes, text, waitFor } from "./helpers.ts";
import { exchange, frame, greeting, message, rawPeer, readyOf } from "./zmtp-helpers.ts";

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
});

const CONFIG: ZmtpXpubConfig = {
  connectXpubEndpoint: "",
  maxTopicLength: 1024,
  maxMessageSize: 1 << 20,
  xpubSndhwm: 1000,
  overflowPolicy: "BLOCK",
};

/** A connection to `endpoint` whose notices and reports are collected. */
function connect(endpoint: string, options: Partial<ZmtpXpubConfig> = {}) {
  const state = createSharedState();
  const notices: string[] = [];
  const reports: string[] = [];
  const failures: string[] = [];
  const conn = new ZmtpXpub({ ...CONFIG, ...options, connectXpubEndpoint: endpoint }, state, bytes("me"), bytes("f"), {
    notice: (subscribe, topic) => notices.push(`${subscribe ? "+" : "-"}${text(topic)}`),
    report: (_key, m) => reports.push(m),
    handshakeFailed: (m) => failures.push(m),
  });
  cleanups.push(() => conn.close());
  conn.start();
  const count = (c: Counter) => readCounter(state, c);
  const send = (topic: string, payload: string, now = true) => {
    const p = bytes(payload);
    return conn.publish(bytes(topic), p, p.length, now);
  };
  return { conn, notices, reports, failures, count, send };
}

function xsub(): Socket {
  const ctx = new Context();
  cleanups.push(() => ctx.close());
  const s = ctx.socket("XSUB");
  s.setOption(SocketOption.LINGER, 0);
  s.setOption(SocketOption.RCVHWM, 0);
  s.bind("tcp://127.0.0.1:*");
  return s;
}

function readAll(s: Socket, into: string[][]): number {
  for (let m = s.recv(DONTWAIT); m; m = s.recv(DONTWAIT)) into.push(m.map(text));
  return into.length;
}

describe("against libzmq's XSUB", () => {
  test("only what a subscription matches is sent, whole and in order, in Zeek's four frames", async () => {
    const broker = xsub();
    const { conn, notices, send, count } = connect(broker.lastEndpoint);
    expect(send("a.early", "x")).toBe("sent"); // no subscription yet: nothing to send it to, as an XPUB
    await waitFor(() => conn.ready, "the handshake");
    broker.send([bytes("\x01a.")], DONTWAIT);
    // libzmq attaches a new peer to a socket (and sends it the socket's subscriptions) when the socket
    // is next used: a broker's proxy uses its sockets all the time, this test only when it looks.
    await waitFor(() => (broker.events(), notices.includes("+a.")), "the subscription passed up");
    const sizes = [0, 1, 255, 256, 70_000];
    for (let i = 0; i < 2000; i++) {
      send(`a.${i}`, "y".repeat(sizes[i % sizes.length]!));
      send(`b.${i}`, "not subscribed");
      if (i % 100 === 0) await Bun.sleep(0);
    }
    await conn.drain();
    const got: string[][] = [];
    await waitFor(() => readAll(broker, got) >= 2000, "every matching event", 20_000);
    await Bun.sleep(50);
    readAll(broker, got);
    expect(got.length).toBe(2000);
    expect(got.every((m, i) => m.length === 4 && m[0] === `a.${i}` && m[1] === "me" && m[2] === "f")).toBe(true);
    expect(got.every((m, i) => m[3]!.length === sizes[i % sizes.length])).toBe(true);
    expect([count(Counter.XpubConnects), count(Counter.XpubDisconnects), count(Counter.MsgErrors)]).toEqual([1, 0, 0]);
  });

  test("subscriptions are a set, every one passed up, and kept across a lost connection as libzmq keeps them", async () => {
    const broker = xsub();
    const { conn, notices, count } = connect(broker.lastEndpoint);
    // Once the broker's socket has attached the connection (a probe comes through), the sequence goes
    // to it as sent; before, libzmq would only replay what it holds, once each.
    await waitFor(() => conn.ready, "the handshake");
    broker.send([bytes("\x01probe")], DONTWAIT);
    await waitFor(() => (broker.events(), notices.includes("+probe")), "the probe");
    notices.length = 0;
    for (const n of ["\x01k", "\x01k", "\x01m", "\x00k", "\x00k"]) broker.send([bytes(n)], DONTWAIT);
    await waitFor(() => (broker.events(), notices.length === 4), "four notices");
    expect(notices).toEqual(["+k", "+k", "+m", "-k"]); // the second -k removes nothing
    broker.close();
    await waitFor(() => count(Counter.XpubDisconnects) === 1, "the lost connection counted");
    await Bun.sleep(100);
    expect(notices).toHaveLength(4); // a connecting libzmq XPUB keeps its pipe: no unsubscriptions
  });
});

describe("against peers that stop reading or break the protocol", () => {
  /** A peer that subscribes to everything and then reads nothing. */
  async function stalledPeer() {
    const peer = rawPeer(cleanups, [greeting(), readyOf("XSUB"), frame(0, bytes("\x01"))]);
    return peer;
  }

  test("DROP: at xpubSndhwm events are dropped before encoding and counted; BLOCK: publish says wait, drain() resolves once it reads", async () => {
    for (const policy of ["DROP", "BLOCK"] as const) {
      const peer = await stalledPeer();
      const c = connect(peer.endpoint, { overflowPolicy: policy, xpubSndhwm: 100 });
      await waitFor(() => c.notices.includes("+"), "the subscription");
      peer.pause();
      const payload = "z".repeat(10_000);
      const results: string[] = [];
      for (let i = 0; i < 5000 && !results.includes(policy === "DROP" ? "dropped" : "queued"); i++) {
        if (policy === "DROP" && c.conn.full()) results.push("dropped");
        else results.push(c.send("t", payload));
        if (i % 50 === 0) await Bun.sleep(1);
      }
      if (policy === "DROP") {
        expect(results.at(-1)).toBe("dropped");
        expect(c.conn.localDrops).toBe(1);
        expect(c.send("t", payload)).toBe("dropped");
        expect(c.conn.localDrops).toBe(2);
      } else {
        expect(results.at(-1)).toBe("queued");
        let drained = false;
        const done = c.conn.drain().then(() => (drained = true));
        await Bun.sleep(100);
        expect(drained).toBe(false);
        peer.resume();
        await done;
        expect(c.conn.waiting).toBe(0);
        expect(c.count(Counter.XpubBlocks)).toBeGreaterThan(0);
      }
    }
  });

  test("at stop what waits goes out within the linger; what cannot is counted", async () => {
    const peer = await stalledPeer();
    const c = connect(peer.endpoint, { overflowPolicy: "BLOCK", xpubSndhwm: 0 });
    await waitFor(() => c.notices.includes("+"), "the subscription");
    peer.pause();
    for (let i = 0; i < 2000; i++) c.send("t", "w".repeat(10_000));
    await Bun.sleep(10);
    const waiting = c.conn.waiting;
    expect(waiting).toBeGreaterThan(0);
    const unsent = await c.conn.closeWithin(100);
    expect(unsent).toBe(waiting);
    expect(c.conn.localDrops).toBe(waiting);
  });

  test("a message of two frames or a subscription beyond maxTopicLength is counted; a CURVE peer fails the handshake", async () => {
    const peer = rawPeer(cleanups, [
      greeting(),
      readyOf("XSUB"),
      ...message("\x01a", "b"),
      frame(0, bytes(`\x01${"t".repeat(11)}`)),
      frame(0, bytes("\x01ok")),
    ]);
    const c = connect(peer.endpoint, { maxTopicLength: 10 });
    await waitFor(() => c.notices.length === 1 && c.count(Counter.MsgErrors) === 2, "one notice and two errors");
    expect(c.notices).toEqual(["+ok"]);
    expect(c.reports).toEqual([
      "xpub: error: expected 1 part, have 2!",
      "xpub: error: a subscription longer than maxTopicLength (10 bytes)",
    ]);
    const curve = connect(rawPeer(cleanups, [greeting("CURVE")]).endpoint);
    await waitFor(() => curve.failures.length > 0, "the handshake failure");
    expect(curve.failures[0]).toContain("security mechanism is CURVE");
  });
});

describe('nodes with xpubEngine "bun"', () => {
  test("node_up both ways and events both ways with a libzmq node, the manager running both engines", async () => {
    const { manager } = await exchange(cleanups, 500, { xpubEngine: "bun", xsubEngine: "bun" }, {});
    expect(manager.stats().xpubConnects).toBe(1);
    expect(manager.stats().msgErrors).toBe(0);
  });

  test("combinations it cannot serve are RangeErrors naming the option", () => {
    expect(() => resolveConfig({ xpubEngine: "bun", xpubSndbuf: 65536 }, {})).toThrow(/xpubEngine.*xpubSndbuf/);
    expect(() => resolveConfig({ xpubEngine: "bun", connectXpubEndpoint: "inproc://x" }, {})).toThrow(/xpubEngine/);
    expect(resolveConfig({}, { ZEEK_CLUSTER_BACKEND_ZEROMQ_XPUB_ENGINE: "bun" }).xpubEngine).toBe("bun");
  });
});
