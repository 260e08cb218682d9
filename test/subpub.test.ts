// `sub` and `pub`, driven as an operator would: the real CLI in a process of its own against a real
// broker, with nodes of this library on the other side.

import { afterEach, describe, expect, test } from "bun:test";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Context } from "../lib/_zmq.ts";
import { defineEvent } from "../lib/events.ts";
import { Broker } from "../lib/proxy.ts";
import { ClusterNode } from "../lib/pubsub.ts";
import { ANY_PORT, spawnBun, waitFor } from "./helpers.ts";

const CLI = new URL("../lib/cli.ts", import.meta.url).pathname;
const cleanup: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

async function broker(options: { xsub?: string; xpub?: string } = {}): Promise<{ xsub: string; xpub: string }> {
  const b = new Broker({ listenXsubEndpoint: options.xsub ?? ANY_PORT, listenXpubEndpoint: options.xpub ?? ANY_PORT });
  const endpoints = await b.start();
  cleanup.push(() => b.stop());
  return endpoints;
}

async function node(name: string, at: { xsub: string; xpub: string }, eventSerializer = "broker-bin-v1") {
  const n = new ClusterNode({
    name,
    type: "worker",
    connectXpubEndpoint: at.xsub,
    connectXsubEndpoint: at.xpub,
    eventSerializer,
  });
  cleanup.push(() => n.stop());
  return n;
}

/** Publishes from each node every 50 ms until stopped (sub connects at some point meanwhile). */
function keepPublishing(nodes: ClusterNode[], topic: string): void {
  let seq = 0;
  const timer = setInterval(() => {
    seq++;
    for (const n of nodes) n.publish(topic, "tick", [seq, n.name, 1.5]);
  }, 50);
  cleanup.push(() => clearInterval(timer));
}

describe("sub", () => {
  test("prints the events a node publishes, in whichever format each came", async () => {
    const at = await broker();
    const nodes = await Promise.all(
      ["broker-bin-v1", "broker-json-v1", "msgpack-v1"].map((f, i) => node(`w${i}`, at, f)),
    );
    await Promise.all(nodes.map((n) => n.start()));
    keepPublishing(nodes, "demo.ticks");
    const cli = spawnBun([CLI, "sub", "demo.", "--json", "--connect", at.xpub, "--count", "30"]);
    expect(await cli.exited(15_000)).toBe(0);
    const events = cli.lines.filter((l) => l.startsWith("{")).map((l) => JSON.parse(l));
    expect(events).toHaveLength(30);
    const formats = new Set(events.map((e) => e.format));
    expect(formats).toEqual(new Set(["broker-bin-v1", "broker-json-v1", "msgpack-v1"]));
    for (const e of events) {
      expect(e).toMatchObject({ topic: "demo.ticks", event: "tick" });
      expect(e.args).toEqual([expect.any(Number), expect.stringMatching(/^w[012]$/), 1.5]);
      expect(e.sender).toStartWith(`zeromq_${e.args[1]}_`);
    }
    expect(cli.lines).toContain("sub: 30 events");
  });

  test("one line of text per event: topic, event, arguments; the prefix filters", async () => {
    const at = await broker();
    const n = await node("w", at);
    await n.start();
    keepPublishing([n], "demo.a");
    keepPublishing([n], "other.b");
    const cli = spawnBun([CLI, "sub", "demo.", "--connect", at.xpub, "--count", "3"]);
    expect(await cli.exited(15_000)).toBe(0);
    const printed = cli.lines.filter((l) => !l.startsWith("sub: "));
    expect(printed).toHaveLength(3);
    for (const line of printed) expect(line).toMatch(/^demo\.a tick \[\d+,"w",1\.5\]$/);
  });

  test("malformed messages are counted and reported, never printed as events", async () => {
    const at = await broker();
    const ctx = new Context();
    cleanup.push(() => ctx.close());
    const raw = ctx.socket("XPUB");
    raw.connect(at.xsub);
    const cli = spawnBun([CLI, "sub", "bad.", "--connect", at.xpub, "--duration", "2"]);
    await cli.waitForLine(/^sub: subscribed/);
    // XPUB delivers only once the subscription has come through the broker.
    await waitFor(() => raw.recv(1), "sub's subscription at the publisher");
    const deadline = Date.now() + 1000;
    while (Date.now() < deadline) {
      raw.send(["bad.x", "me", "msgpack-v1", new Uint8Array([0xc1, 0xff])]);
      raw.send(["bad.y", "me"]);
      raw.send(["bad.z", "me", "no-such-format", "garbage"]);
      await Bun.sleep(100);
    }
    expect(await cli.exited(10_000)).toBe(0);
    const summary = cli.lines.find((l) => /^sub: 0 events, \d+ malformed messages skipped$/.test(l));
    expect(summary).toBeDefined();
    expect(Number(/(\d+) malformed/.exec(summary!)![1])).toBeGreaterThanOrEqual(3);
    expect(cli.lines.filter((l) => l.startsWith("sub: skipped a malformed message"))).toHaveLength(3);
  });

  test("a cluster file says where the broker is", async () => {
    const dir = mkdtempSync(join(tmpdir(), "subpub-"));
    const [xsub, xpub] = [`ipc://${dir}/xsub`, `ipc://${dir}/xpub`];
    const file = join(dir, "cluster.json");
    const layout = {
      manager: { type: "manager", ip: "127.0.0.1", port: 27762 },
      "worker-1": { type: "worker", ip: "127.0.0.1" },
    };
    writeFileSync(
      file,
      JSON.stringify({ nodes: layout, options: { listenXsubEndpoint: xsub, listenXpubEndpoint: xpub } }),
    );
    const at = await broker({ xsub, xpub });
    const n = await node("w", at);
    await n.start();
    keepPublishing([n], "demo.a");
    const cli = spawnBun([CLI, "sub", "demo.", file, "--count", "2"]);
    expect(await cli.exited(15_000)).toBe(0);
    expect(cli.lines).toContain(`sub: subscribed to 'demo.' at ${xpub}`);
    expect(cli.lines).toContain("sub: 2 events");
  });
});

describe("pub", () => {
  test("reaches a node's handler", async () => {
    const at = await broker();
    const n = await node("manager", at);
    const got = Promise.withResolvers<unknown[]>();
    n.on("hello", (...args: unknown[]) => got.resolve([n.current?.topic, ...args]));
    n.subscribe("test.");
    await n.start();
    const cli = spawnBun([CLI, "pub", "test.hello", "hello", '[1, "x", [2, 3]]', "--connect", at.xsub]);
    expect(await cli.exited(15_000)).toBe(0);
    expect(await got.promise).toEqual(["test.hello", 1, "x", [2, 3]]);
    expect(cli.lines).toContain(`pub: sent hello to 'test.hello' at ${at.xsub} (broker-bin-v1)`);
  });

  test("--types gives the arguments Zeek's types, so a declared handler takes them", async () => {
    const at = await broker();
    const n = await node("manager", at);
    const Seen = defineEvent("Intel::seen", { host: "addr", n: "count" });
    const got = Promise.withResolvers<unknown>();
    n.on(Seen, (args) => got.resolve(args));
    n.subscribe("test.");
    await n.start();
    const args = ["pub", "test.x", "Intel::seen", '["10.0.0.1", 7]', "--connect", at.xsub];
    const cli = spawnBun([CLI, ...args, "--types", '["addr", "count"]', "--format", "broker-json-v1"]);
    expect(await cli.exited(15_000)).toBe(0);
    expect(await got.promise).toEqual({ host: "10.0.0.1", n: 7 });
  });

  test("nobody subscribed: says so, names the endpoint and whether anything listens, exits 1", async () => {
    const at = await broker();
    const cli = spawnBun([CLI, "pub", "nobody.x", "e", "[]", "--connect", at.xsub, "--wait", "300"]);
    expect(await cli.exited(10_000)).toBe(1);
    expect(cli.lines).toContain(
      `pub: nobody subscribed to 'nobody.x' or a prefix of it at ${at.xsub} within 300 ms (the broker is there); nothing sent`,
    );
    // Where nothing listens: a port that was free a moment ago.
    const probe = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
    const free = `tcp://127.0.0.1:${probe.port}`;
    probe.stop(true);
    const none = spawnBun([CLI, "pub", "x", "e", "[]", "--connect", free, "--wait", "300"]);
    expect(await none.exited(10_000)).toBe(1);
    expect(none.lines.join("\n")).toContain("(nothing listens there: is the broker running?)");
  });

  test("bad arguments name the argument and the value", async () => {
    const notArray = spawnBun([CLI, "pub", "t", "e", '{"a": 1}', "--connect", ANY_PORT.replace("*", "1")]);
    expect(await notArray.exited()).toBe(1);
    expect(notArray.lines).toContain(`pub: Invalid arguments: expected a JSON array, got '{"a": 1}'`);
    const badType = spawnBun([CLI, "pub", "t", "e", '["x"]', "--types", '["count"]', "--connect", "tcp://127.0.0.1:1"]);
    expect(await badType.exited()).toBe(1);
    expect(badType.lines.join("\n")).toMatch(/pub: Cannot publish 'e': argument 'arg1' expects a count.*got 'x'/);
    const badFormat = spawnBun([CLI, "pub", "t", "e", "[]", "--format", "json"]);
    expect(await badFormat.exited()).toBe(2);
    expect(badFormat.lines.join("\n")).toContain("broker-bin-v1, broker-json-v1, msgpack-v1");
  });
});
