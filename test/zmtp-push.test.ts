// pushEngine "bun": a node's log connections spoken by main itself (lib/_zmtp-push.ts), against real
// libzmq PULL sockets (a logger's), raw TCP peers that stop reading, and a logger of this library.
// Real sockets on loopback throughout.

import { afterEach, describe, expect, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { Counter, createSharedState, readCounter } from "../lib/_channel.ts";
import { Context, DONTWAIT, type Socket } from "../lib/_zmq.ts";
import { ZmtpPush, type ZmtpPushConfig } from "../lib/_zmtp-push.ts";
import { resolveConfig } from "../lib/config.ts";
import { acknowledgedWriters, startManager } from "./cluster-helpers.ts";
import { ANY_PORT, bytes, TempDirs, text, waitFor } from "./helpers.ts";
import { frame, greeting, rawPeer, readyOf } from "./zmtp-helpers.ts";

const cleanups: (() => unknown)[] = [];
const dirs = new TempDirs("zmtp-push-");
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
  dirs.cleanup();
});

/** Engines over `endpoints`, with the batches reported dropped collected. */
function connect(endpoints: string[], options: Partial<ZmtpPushConfig> = {}) {
  const state = createSharedState();
  const dropped: [number, number][] = [];
  const push = new ZmtpPush(
    { connectLogEndpoints: endpoints, maxMessageSize: 1 << 20, logSndhwm: 1000, ...options },
    state,
    bytes("writer-1"),
    { logDropped: (b) => dropped.push(...b), report: () => {}, handshakeFailed: () => {} },
  );
  cleanups.push(() => push.closeWithin(0));
  push.start();
  return { push, dropped, count: (c: Counter) => readCounter(state, c) };
}

function pull(): Socket {
  const ctx = new Context();
  cleanups.push(() => ctx.close());
  const s = ctx.socket("PULL");
  s.bind("tcp://127.0.0.1:*");
  return s;
}

function readAll(s: Socket, into: string[][]): number {
  for (let m = s.recv(DONTWAIT); m; m = s.recv(DONTWAIT))
    into.push([text(m[0]!), text(m[1]!), text(m[2]!), String(m[3]!.length), text(m[3]!.subarray(0, 8))]);
  return into.length;
}

describe("against libzmq's PULL", () => {
  test("batches arrive as Zeek's four frames, whole and in order, round robin over the loggers", async () => {
    const [a, b] = [pull(), pull()];
    const { push } = connect([a.lastEndpoint, b.lastEndpoint]);
    // Before any connection is made, batches wait here (as a PUSH without ZMQ_IMMEDIATE queues them).
    expect(push.send(1, 0, bytes("fmt"), bytes("early..."), true, "BLOCK")).toBe("queued");
    await waitFor(async () => (await Bun.sleep(20), true) && push.waiting === 0, "the early batch sent");
    const sizes = [10, 255, 256, 200_000];
    for (let i = 1; i <= 400; i++) {
      const payload = new Uint8Array(sizes[i % sizes.length]!).fill(0x61);
      payload.set(bytes(String(i).padStart(8, "0")));
      push.send(3, i, bytes("fmt"), payload, true, "BLOCK");
      if (i % 20 === 0) await push.drain();
    }
    await push.drain();
    const gotA: string[][] = [];
    const gotB: string[][] = [];
    await waitFor(() => readAll(a, gotA) + readAll(b, gotB) === 401, "every batch at the two loggers", 10_000);
    expect(gotA.length).toBeGreaterThan(50); // both take a share
    expect(gotB.length).toBeGreaterThan(50);
    const all = [...gotA, ...gotB].filter((m) => m[0] !== "log-write");
    expect(all.every((m) => m[1] === "writer-1" && m[2] === "fmt")).toBe(true);
    for (const got of [gotA, gotB]) {
      const seqs = got.filter((m) => m[0] !== "log-write").map((m) => Number(m[0]!.split("=")[1]));
      expect(seqs).toEqual(seqs.toSorted((x, y) => x - y)); // in order on each connection
      for (const m of got.filter((x) => x[0] !== "log-write")) {
        const seq = Number(m[0]!.split("=")[1]);
        expect([m[3], m[4]]).toEqual([String(sizes[seq % sizes.length]), String(seq).padStart(8, "0")]);
      }
    }
  });
});

describe("against loggers that stop reading", () => {
  test("BLOCK: batches wait and drain() resolves once the logger reads; DROP: beyond logSndhwm waiting, dropped", async () => {
    for (const policy of ["BLOCK", "DROP"] as const) {
      const peer = rawPeer(cleanups, [greeting(), readyOf("PULL")]);
      const { push, count } = connect([peer.endpoint], { logSndhwm: 5 });
      await waitFor(
        async () => (await Bun.sleep(10), push.send(1, 1, bytes("f"), bytes("x"), true, policy) === "sent"),
        "the connection",
      );
      peer.pause();
      const payload = new Uint8Array(256 * 1024);
      const results: string[] = [];
      for (let i = 2; i < 400 && !results.includes("dropped"); i++)
        results.push(push.send(1, i, bytes("f"), payload, true, policy));
      if (policy === "DROP") {
        expect(results.at(-1)).toBe("dropped");
        expect(results.filter((r) => r === "queued")).toHaveLength(5); // logSndhwm batches wait, then drops
      } else {
        expect(results.includes("queued")).toBe(true);
        expect(count(Counter.LogBlocks)).toBeGreaterThan(0);
        let drained = false;
        const done = push.drain().then(() => (drained = true));
        await Bun.sleep(100);
        expect(drained).toBe(false);
        peer.resume();
        await done;
        expect(push.waiting).toBe(0);
        const bytesIn = () => peer.received().length;
        await waitFor(() => bytesIn() >= 398 * payload.length, "everything at the logger", 10_000);
      }
    }
  });

  test("what had not gone out in full when a logger went away, or still waits at stop, is reported by seq", async () => {
    const peer = rawPeer(cleanups, [greeting(), readyOf("PULL")]);
    const { push, dropped, count } = connect([peer.endpoint]);
    await waitFor(
      async () => (await Bun.sleep(10), push.send(1, 1, bytes("f"), bytes("x"), true, "BLOCK") === "sent"),
      "the connection",
    );
    peer.pause();
    const payload = new Uint8Array(256 * 1024);
    for (let i = 2; i <= 100; i++) push.send(7, i, bytes("f"), payload, true, "BLOCK");
    const waiting = push.waiting;
    expect(waiting).toBeGreaterThan(0);
    await push.closeWithin(50);
    expect(dropped.length).toBe(waiting);
    expect(dropped.every(([seq, records]) => seq > 1 && seq <= 100 && records === 7)).toBe(true);
    expect(count(Counter.PushDisconnects)).toBe(1);
  });

  test("a peer that is no PULL fails the handshake; what it sends is ignored", async () => {
    const failures: string[] = [];
    const peer = rawPeer(cleanups, [greeting(), readyOf("SUB"), frame(0, bytes("junk"))]);
    const push = new ZmtpPush(
      { connectLogEndpoints: [peer.endpoint], maxMessageSize: 1024, logSndhwm: 10 },
      createSharedState(),
      bytes("w"),
      { logDropped: () => {}, report: () => {}, handshakeFailed: (m) => failures.push(m) },
    );
    cleanups.push(() => push.closeWithin(0));
    push.start();
    await waitFor(() => failures.length > 0, "the handshake failure");
    expect(failures[0]).toContain("the peer is a SUB socket");
  });
});

describe('nodes with pushEngine "bun"', () => {
  test("writers of both formats to a logger of this library: acknowledged and written once", async () => {
    const dir = dirs.make();
    const manager = await startManager(
      { nodes: { manager: { type: "manager", ip: "127.0.0.1", port: 1 } } },
      { listenLogEndpoint: ANY_PORT, logging: { dir } },
    );
    await acknowledgedWriters(manager, 100, [{ pushEngine: "bun" }]);
    await manager.stop();
    const lines = readdirSync(dir).flatMap((f) => readFileSync(join(dir, f), "utf8").split("\n").filter(Boolean));
    expect(lines).toHaveLength(200);
  });

  test("combinations it cannot serve are RangeErrors naming the option", () => {
    const logs = { connectLogEndpoints: ["tcp://127.0.0.1:1"], pushEngine: "bun" as const };
    expect(() => resolveConfig({ ...logs, logSndbuf: 65536 }, {})).toThrow(/pushEngine.*logSndbuf/);
    expect(() => resolveConfig({ ...logs, connectLogEndpoints: ["inproc://x"] }, {})).toThrow(
      /connectLogEndpoints\[0\]/,
    );
  });
});
