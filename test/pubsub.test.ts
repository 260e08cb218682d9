import { describe, expect, test } from "bun:test";
import type { ClusterError } from "../lib/errors.ts";
import { ClusterNode } from "../lib/pubsub.ts";
import { EVENTS, makeNodeId, nodeidTopic, nodeTopic } from "../lib/topics.ts";
import { expectEntry, layoutOf, makeNode, record, startManager, via } from "./cluster-helpers.ts";
import { waitFor } from "./helpers.ts";

const UP = EVENTS.nodeUp;
const DOWN = EVENTS.nodeDown;
const SUB = EVENTS.subscription;
const UNSUB = EVENTS.unsubscription;

describe("topics and ids", () => {
  test("node topics end in a dot so worker-1 does not prefix worker-10", () => {
    expect(nodeTopic("worker-1")).toBe("zeek.cluster.node.worker-1.");
    expect(nodeTopic("worker-10").startsWith(nodeTopic("worker-1"))).toBe(false);
    expect(nodeidTopic("x", "my.prefix")).toBe("my.prefix.x.");
  });

  test("node ids follow Zeek: zeromq_<name>_<host>_<pid>_N<random>", () => {
    const id = makeNodeId("worker-1");
    expect(id).toMatch(new RegExp(`^zeromq_worker-1_[^_]+_${process.pid}_N[0-9A-Za-z]{16}$`));
    expect(makeNodeId("worker-1")).not.toBe(id);
  });
});

describe("ClusterNode (several nodes in this process)", () => {
  test("two-nodes: node_up both ways, finish over the node-id topic, node_down when the worker leaves", async () => {
    const layout = layoutOf({ "worker-1": "worker" });
    const manager = await startManager(layout);
    const managerLog = record(manager, UP, DOWN);
    const worker = makeNode({ name: "worker-1", layout, ...via(manager) });
    const workerLog = record(worker, UP, "finish");
    worker.on("finish", () => worker.stop());
    manager.on(UP, (_name: string, id: string) => manager.publish(manager.nodeidTopic(id), "finish", []));
    await worker.start();
    await expectEntry(managerLog, `${UP} ["worker-1","${worker.id}"]`);
    await expectEntry(workerLog, `${UP} ["manager","${manager.id}"]`);
    await expectEntry(workerLog, "finish []");
    await expectEntry(managerLog, `${DOWN} ["worker-1","${worker.id}"]`);
    await waitFor(() => worker.state === "stopped", "the worker's stop() to finish");
    expect(manager.discovery?.up.size).toBe(0);
    expect([...manager.reports, ...worker.reports]).toEqual([]);
  });

  test("unsubscribe: subscription and unsubscription events travel both ways in order", async () => {
    const layout = layoutOf({ "worker-1": "worker" });
    const manager = await startManager(layout);
    const worker = makeNode({ name: "worker-1", layout, ...via(manager) });
    const mLog = record(manager, SUB, UNSUB);
    const wLog = record(worker, SUB, UNSUB);
    manager.on(SUB, (t: string) => t === "/test/worker/topic" && manager.subscribe("/test/manager/topic"));
    worker.on(SUB, (t: string) => t === "/test/manager/topic" && worker.unsubscribe("/test/worker/topic"));
    manager.on(UNSUB, (t: string) => t === "/test/worker/topic" && manager.unsubscribe("/test/manager/topic"));
    await worker.start();
    worker.subscribe("/test/worker/topic");
    await expectEntry(wLog, `${UNSUB} ["/test/manager/topic"]`);
    await expectEntry(mLog, `${UNSUB} ["/test/manager/topic"]`);
    const tests = (log: string[]) => log.filter((l) => l.includes("/test/"));
    expect(tests(mLog)).toEqual([
      `${SUB} ["/test/worker/topic"]`,
      `${SUB} ["/test/manager/topic"]`,
      `${UNSUB} ["/test/worker/topic"]`,
      `${UNSUB} ["/test/manager/topic"]`,
    ]);
    expect(tests(wLog)).toEqual([
      `${SUB} ["/test/worker/topic"]`,
      `${SUB} ["/test/manager/topic"]`,
      `${UNSUB} ["/test/worker/topic"]`,
      `${UNSUB} ["/test/manager/topic"]`,
    ]);
  });

  test("unsubscribe-two-workers: a shared topic is unsubscribed only after both workers left it", async () => {
    const layout = layoutOf({ "worker-1": "worker", "worker-2": "worker" });
    const manager = await startManager(layout);
    const mLog = record(manager, UNSUB);
    const workers = ["worker-1", "worker-2"].map((name) => makeNode({ name, layout, ...via(manager) }));
    await Promise.all(workers.map((w) => w.start()));
    for (const w of workers) {
      w.subscribe("/test/worker-common");
      w.subscribe(`/test/${w.name}`);
    }
    await waitFor(
      () => ["/test/worker-common", "/test/worker-1", "/test/worker-2"].every((t) => manager.hasSubscription(t)),
      "all three subscriptions",
    );
    workers[0]!.unsubscribe("/test/worker-common");
    await Bun.sleep(200);
    expect(mLog.filter((l) => l.includes("worker-common"))).toEqual([]);
    workers[1]!.unsubscribe("/test/worker-common");
    await expectEntry(mLog, `${UNSUB} ["/test/worker-common"]`);
  });

  test("subscribe-before-init: a subscription made before start() is not lost and does not block", async () => {
    const layout = layoutOf({ "worker-1": "worker" });
    const manager = makeNode({
      name: "manager",
      layout,
      listenXsubEndpoint: "tcp://127.0.0.1:*",
      listenXpubEndpoint: "tcp://127.0.0.1:*",
    });
    manager.subscribe("test.early");
    const log = record(manager, "test");
    await manager.start();
    const worker = makeNode({ name: "worker-1", layout, ...via(manager) });
    worker.on(UP, () => worker.publish("test.early", "test", [42]));
    await worker.start();
    await expectEntry(log, "test [42]");
  });

  test("node-topic-prefix: a ping to worker-1's node topic does not reach worker-10", async () => {
    const names = ["worker-1", "worker-2", "worker-10", "worker-20"];
    const layout = layoutOf(Object.fromEntries(names.map((n) => [n, "worker"])) as Record<string, "worker">);
    const manager = await startManager(layout);
    const logs = new Map<string, string[]>();
    const workers = names.map((name) => {
      const w = makeNode({ name, layout, ...via(manager) });
      logs.set(name, record(w, "ping", "finish"));
      return w;
    });
    await Promise.all(workers.map((w) => w.start()));
    await waitFor(() => manager.discovery!.up.size === 4, "all four workers up");
    for (const name of names) manager.publish(manager.nodeTopic(name), "ping", [name]);
    for (const name of names) manager.publish(manager.nodeTopic(name), "finish", []);
    for (const name of names) await expectEntry(logs.get(name)!, "finish []");
    for (const name of names) expect(logs.get(name)).toEqual([`ping ["${name}"]`, "finish []"]);
  });

  test("a publish right after start() reaches nodes that were already subscribed", async () => {
    const manager = await startManager(layoutOf({}));
    const log = record(manager, "early");
    manager.subscribe("early.topic");
    await waitFor(() => manager.hasSubscription("early.topic"), "the manager's own subscription");
    const participant = makeNode({ name: "late-joiner", ...via(manager) });
    await participant.start();
    participant.publish("early.topic", "early", ["first"]);
    await expectEntry(log, 'early ["first"]');
  });

  test("publishes are batched per tick but arrive one by one, in order, big and small, across topics", async () => {
    const manager = await startManager(layoutOf({}));
    const got: string[] = [];
    manager.on("n", (i: number, pad: string) => got.push(`${manager.current!.topic} ${i} ${pad.length}`));
    manager.subscribe("batch.");
    await waitFor(() => manager.hasSubscription("batch."), "the manager's subscription");
    const sender = makeNode({ name: "sender", ...via(manager) });
    await sender.start();
    await waitFor(() => sender.hasSubscription("batch."), "the subscription at the sender");
    // 3000 events in one synchronous loop: many batches, some events bigger than a batch (32 KiB).
    const expected: string[] = [];
    for (let i = 0; i < 3000; i++) {
      const pad = "x".repeat(i % 1000 === 999 ? 100_000 : i % 7);
      const topic = `batch.${i % 3}`;
      sender.publish(topic, "n", [i, pad]);
      expected.push(`${topic} ${i} ${pad.length}`);
    }
    await waitFor(() => got.length >= expected.length, `3000 events (have ${got.length})`, 20_000);
    expect(got).toEqual(expected);
    expect(sender.stats()).toMatchObject({ outgoingEvents: 3000, xpubDrops: 0, pendingPublishes: 0 });
  });

  test("a node ignores its own messages; handler context has topic, sender and metadata", async () => {
    const manager = await startManager(layoutOf({}));
    const own = record(manager, "echo");
    manager.subscribe("loop.");
    const other = makeNode({ name: "other", ...via(manager) });
    let context = "";
    other.subscribe("loop.");
    other.on(
      "echo",
      () =>
        (context = JSON.stringify({ ...other.current, topic: other.current?.topic, sender: other.current?.sender })),
    );
    await other.start();
    manager.publish("loop.x", "echo", [1], [[200, "meta"]]);
    await waitFor(() => context !== "", "the other node to handle the echo");
    expect(JSON.parse(context)).toEqual({ metadata: [[200, "meta"]], topic: "loop.x", sender: manager.id });
    await Bun.sleep(100);
    expect(own).toEqual([]);
    expect(manager.stats().outgoingEvents).toBeGreaterThanOrEqual(1);
    expect(other.stats().incomingEvents).toBeGreaterThanOrEqual(1);
  });

  test("a process that is not a layout node takes part in pub/sub: no node_up for it, no warnings", async () => {
    const layout = layoutOf({ "worker-1": "worker" });
    const manager = await startManager(layout);
    const mLog = record(manager, UP, "hi");
    manager.subscribe("outside.");
    const participant = makeNode({ name: "supervisor", ...via(manager) });
    await participant.start();
    participant.publish("outside.x", "hi", ["from outside"]);
    const worker = makeNode({ name: "worker-1", layout, ...via(manager) });
    await worker.start();
    await expectEntry(mLog, 'hi ["from outside"]');
    await expectEntry(mLog, `${UP} ["worker-1","${worker.id}"]`);
    await Bun.sleep(100);
    expect(mLog.filter((l) => l.startsWith(UP))).toHaveLength(1);
    expect([...manager.reports, ...participant.reports, ...worker.reports]).toEqual([]);
    expect(participant.discovery).toBeUndefined();
  });

  test("subscription events are raised the first time a topic is seen", async () => {
    const manager = await startManager(layoutOf({}));
    const log = record(manager, SUB);
    const a = makeNode({ name: "a", ...via(manager) });
    const b = makeNode({ name: "b", ...via(manager) });
    await Promise.all([a.start(), b.start()]);
    a.subscribe("dup.topic");
    b.subscribe("dup.topic");
    await waitFor(() => manager.hasSubscription("dup.topic"), "dup.topic");
    await Bun.sleep(150);
    expect(log.filter((l) => l.includes("dup.topic"))).toEqual([`${SUB} ["dup.topic"]`]);
  });
});

describe("ClusterNode validation", () => {
  test("bad options are TypeError or RangeError naming the option and value", () => {
    expect(() => new ClusterNode({ name: 5 as unknown as string })).toThrow(TypeError);
    expect(() => new ClusterNode({ name: "" })).toThrow(/option 'name'.*got ''/);
    expect(() => new ClusterNode({ name: "x", eventSerializer: "no-such-v1" })).toThrow(
      /option 'eventSerializer': no format named 'no-such-v1'/,
    );
    expect(() => new ClusterNode({ name: "x", readyTimeout: 0 })).toThrow(RangeError);
    expect(() => new ClusterNode({ name: "x", xpubSndhwm: -5 })).toThrow(/xpubSndhwm.*got -5/);
    expect(() => new ClusterNode({ name: "nope", layout: layoutOf({}) })).toThrow(
      /node name: expected one of manager, got 'nope'/,
    );
    expect(() => new ClusterNode({ name: "manager", layout: layoutOf({}), type: "worker" })).toThrow(
      /is a manager in the layout, got 'worker'/,
    );
  });

  test("bad publish arguments are TypeErrors; publishing after stop is dropped and counted", async () => {
    const node = makeNode({
      name: "lonely",
      connectXpubEndpoint: "tcp://127.0.0.1:9",
      connectXsubEndpoint: "tcp://127.0.0.1:9",
    });
    expect(() => node.publish(1 as unknown as string, "e")).toThrow(/expected a topic string/);
    expect(() => node.publish("t", "")).toThrow(/expected an event name/);
    expect(() => node.publish("t", "e", "x" as unknown as unknown[])).toThrow(/expected an array of arguments/);
    expect(() => node.subscribe(undefined as unknown as string)).toThrow(TypeError);
    expect(() => node.on("e", 5 as unknown as () => void)).toThrow(TypeError);
    await node.stop();
    // A handler of an event still arriving while its node stops must not fail (test/stop-early.test.ts).
    expect(node.publish("t", "e")).toBe(false);
    expect(node.stats().stoppedDrops).toBe(1);
  });

  test("start() fails with NODE_NOT_READY when no broker answers, and the node is stopped", async () => {
    const node = makeNode({
      name: "lonely",
      readyTimeout: 300,
      connectXpubEndpoint: "tcp://127.0.0.1:9",
      connectXsubEndpoint: "tcp://127.0.0.1:9",
    });
    const err = await node.start().catch((e: unknown) => e);
    expect((err as ClusterError).code).toBe("NODE_NOT_READY");
    expect((err as Error).message).toContain("tcp://127.0.0.1:9");
    expect(node.state).toBe("stopped");
  });
});
