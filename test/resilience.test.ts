// Nodes that die, a broker that restarts, garbage on the wire, and handshakes that lose messages.

import { afterEach, describe, expect, test } from "bun:test";
import { Context, type Socket, SocketOption } from "../lib/_zmq.ts";
import { Broker, type BrokerEndpoints } from "../lib/proxy.ts";
import { getFormat, MSGPACK_V1 } from "../lib/serializer.ts";
import { EVENTS, nodeidTopic } from "../lib/topics.ts";
import { expectEntry, layoutOf, makeNode, record, startManager, via } from "./cluster-helpers.ts";
import { ANY_PORT, bytes, recvWithin, startNodeProcess, statsOf, text, waitFor } from "./helpers.ts";

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
});

async function standaloneBroker(): Promise<[Broker, BrokerEndpoints]> {
  const broker = new Broker({ listenXsubEndpoint: ANY_PORT, listenXpubEndpoint: ANY_PORT });
  cleanups.push(() => broker.stop());
  return [broker, await broker.start()];
}

/** A raw peer speaking the wire format by hand: an XPUB (sees subscriptions) and an XSUB. */
function rawPeer(ep: BrokerEndpoints) {
  const ctx = new Context();
  cleanups.push(() => ctx.close());
  const pub = ctx.socket("XPUB");
  pub.setOption(SocketOption.XPUB_VERBOSE, 1);
  pub.connect(ep.xsub);
  const sub = ctx.socket("XSUB");
  sub.connect(ep.xpub);
  return { pub, sub };
}

/** Waits until `pub` has seen a subscription covering `topic` (so a publish will not be filtered out). */
async function awaitSubscriber(pub: Socket, prefix: string): Promise<void> {
  await waitFor(async () => {
    const notice = await recvWithin(pub, `the subscription ${prefix}`);
    return notice[0]![0] === 1 && text(notice[0]!.subarray(1)) === prefix;
  }, `the subscription ${prefix}`);
}

describe("failures", () => {
  test("a node killed with SIGKILL is reported node_down by the others", async () => {
    const layout = layoutOf({ "worker-1": "worker" });
    const manager = await startManager(layout);
    const log = record(manager, EVENTS.nodeUp, EVENTS.nodeDown);
    const worker = await startNodeProcess({ name: "worker-1", layout, options: via(manager) });
    await expectEntry(log, `${EVENTS.nodeUp} ["worker-1","${worker.id}"]`);
    worker.proc.kill("SIGKILL");
    await expectEntry(log, `${EVENTS.nodeDown} ["worker-1","${worker.id}"]`);
  });

  test("the broker restarted mid-run: traffic resumes, nodes raise neither node_down nor node_up", async () => {
    const [broker, ep] = await standaloneBroker();
    const layout = layoutOf({ "worker-1": "worker" });
    const options = { connectXpubEndpoint: ep.xsub, connectXsubEndpoint: ep.xpub, runProxyThread: false };
    const print = [EVENTS.nodeUp, EVENTS.nodeDown, "msg"];
    const manager = await startNodeProcess({ name: "manager", layout, options, print });
    const worker = await startNodeProcess({ name: "worker-1", layout, options, print });
    await worker.waitForLine(/^event Cluster::node_up \["manager"/);
    manager.send({ cmd: "publish", topic: "zeek.cluster.worker", event: "msg", args: ["before"] });
    await worker.waitForLine(/^event msg \["before"\]/);
    await broker.stop();
    manager.send({ cmd: "publish", topic: "zeek.cluster.worker", event: "msg", args: ["while down"] });
    await Bun.sleep(300);
    expect(await broker.start()).toEqual(ep);
    // Until the XSUBs have re-sent their subscriptions a publish may be filtered out: retry, bounded.
    let n = 0;
    await waitFor(
      () => {
        manager.send({ cmd: "publish", topic: "zeek.cluster.worker", event: "msg", args: [`after ${n++}`] });
        return worker.lines.some((l) => l.startsWith('event msg ["after'));
      },
      "a message after the restart",
      10_000,
    );
    for (const child of [manager, worker]) expect(child.lines.filter((l) => l.includes("node_down"))).toEqual([]);
    expect(worker.lines.filter((l) => l.includes("node_up"))).toHaveLength(1);
  });

  test("a node back with a new id that never said goodbye: warning, synthetic node_down, node_up", async () => {
    const [broker, ep] = await standaloneBroker();
    const layout = layoutOf({ "worker-1": "worker" });
    const options = { connectXpubEndpoint: ep.xsub, connectXsubEndpoint: ep.xpub, runProxyThread: false };
    const worker = makeNode({ name: "worker-1", layout, ...options });
    const log = record(worker, EVENTS.nodeUp, EVENTS.nodeDown);
    await worker.start();
    const first = await startNodeProcess({ name: "manager", layout, options });
    await expectEntry(log, `${EVENTS.nodeUp} ["manager","${first.id}"]`);
    // The manager dies while the broker is down, so nobody sees its node-id topic go away.
    await broker.stop();
    first.proc.kill("SIGKILL");
    await first.exited();
    await broker.start();
    const second = await startNodeProcess({ name: "manager", layout, options });
    await expectEntry(log, `${EVENTS.nodeUp} ["manager","${second.id}"]`);
    expect(log).toEqual([
      `${EVENTS.nodeUp} ["manager","${first.id}"]`,
      `${EVENTS.nodeDown} ["manager","${first.id}"]`,
      `${EVENTS.nodeUp} ["manager","${second.id}"]`,
    ]);
    expect(worker.reports).toContain(
      `warning: node 'manager' never said goodbye (old id:${first.id} new id:${second.id})`,
    );
  });

  test("malformed messages from a raw peer are counted, reported once per kind, and skipped", async () => {
    const [, ep] = await standaloneBroker();
    const victim = makeNode({ name: "victim", connectXpubEndpoint: ep.xsub, connectXsubEndpoint: ep.xpub });
    const log = record(victim, "good");
    victim.subscribe("bad.");
    await victim.start();
    const { pub } = rawPeer(ep);
    await awaitSubscriber(pub, "bad.");
    const fmt = bytes("msgpack-v1");
    const good = MSGPACK_V1.encode({ name: "good", args: [1] });
    const garbage = [
      [bytes("bad.3"), bytes("raw"), fmt], // 3 frames
      [bytes("bad.5"), bytes("raw"), fmt, good, good], // 5 frames
      [bytes("bad.fmt"), bytes("raw"), bytes("broker-bin-v9"), good], // unknown format
      [bytes("bad.bin"), bytes("raw"), bytes("broker-bin-v1"), new Uint8Array([0x0e, 0xff, 0xff, 0xff, 0xff, 0x0f])], // a count beyond the bytes
      [bytes("bad.bytes"), bytes("raw"), fmt, new Uint8Array([0xc1, 0xff, 0x00])], // not msgpack
      [
        bytes("bad.shape"),
        bytes("raw"),
        fmt,
        MSGPACK_V1.encode({ name: "x", args: [] }).map((b, i) => (i === 0 ? 0x91 : b)),
      ], // [name] only
      [bytes("bad.args"), bytes("raw"), fmt, new Uint8Array([0x92, 0xa1, 0x78, 0x01])], // ["x", 1]
    ];
    for (const frames of [...garbage, ...garbage]) pub.send(frames);
    pub.send([bytes("bad.ok"), bytes("raw"), fmt, good]);
    await expectEntry(log, "good [1]");
    const stats = victim.stats();
    expect(stats.msgErrors).toBe(14);
    expect(stats.incomingEvents).toBe(1);
    const reports = victim.reports.join("\n");
    expect(victim.reports.filter((r) => r.includes("expected 4 parts"))).toHaveLength(1);
    expect(reports).toContain("xsub: error: expected 4 parts, have 3!");
    expect(reports).toContain("Wrong format: 'broker-bin-v9' is not a registered format");
    expect(victim.reports.filter((r) => r.includes("Failed to unserialize"))).toHaveLength(1);
    expect(victim.state).toBe("running");
  });
});

describe("hello protocol recovery (what Zeek does not do)", () => {
  test("a lost hello is asked for again, and a hello that comes after expiry is still answered", async () => {
    const [, ep] = await standaloneBroker();
    const layout = layoutOf({ "worker-1": "worker" });
    const worker = makeNode({
      name: "worker-1",
      layout,
      helloExpiration: 300,
      connectXpubEndpoint: ep.xsub,
      connectXsubEndpoint: ep.xpub,
    });
    const log = record(worker, EVENTS.nodeUp);
    // "manager" is played by hand: it swallows the first exchange, as if its messages were dropped.
    const managerId = "zeromq_manager_scripted_1_Nhand";
    const { pub, sub } = rawPeer(ep);
    sub.send([new Uint8Array([1, ...bytes(nodeidTopic(managerId))])]);
    await worker.start();
    await awaitSubscriber(pub, nodeidTopic(worker.id));
    const helloFrom = async () => {
      const [, sender, format, payload] = await recvWithin(sub, "a hello from the worker");
      return [text(sender), getFormat(text(format))!.decode(payload!)] as const;
    };
    const first = await helloFrom();
    expect(first).toEqual([worker.id, { name: EVENTS.zeromqHello, args: ["worker-1", worker.id] }]);
    // Say nothing: after helloExpiration the worker warns (as Zeek does) and says hello again.
    const second = await helloFrom();
    expect(second[1]).toEqual({ name: EVENTS.zeromqHello, args: ["worker-1", worker.id] });
    expect(worker.reports).toContain(`warning: Expired subscription from nodeid ${managerId}`);
    // Now answer, late: Zeek's worker would have forgotten the subscription and never reply.
    const send = (name: string) =>
      pub.send([
        bytes(nodeidTopic(worker.id)),
        bytes(managerId),
        bytes("msgpack-v1"),
        MSGPACK_V1.encode({ name, args: ["manager", managerId] }),
      ]);
    send(EVENTS.zeromqHello);
    send(EVENTS.hello);
    await expectEntry(log, `${EVENTS.nodeUp} ["manager","${managerId}"]`);
    let reply: readonly [string, { name: string; args?: unknown[] }] = ["", { name: "" }];
    await waitFor(async () => (reply = await helloFrom())[1].name === EVENTS.hello, "the worker's Cluster::hello");
    expect(reply).toEqual([worker.id, { name: EVENTS.hello, args: ["worker-1", worker.id] }]);
  });
});

describe("node processes", () => {
  test("statistics of a node process are readable while it runs", async () => {
    const manager = await startManager(layoutOf({}));
    const child = await startNodeProcess({ name: "observer", options: via(manager) });
    const stats = await statsOf(child);
    expect(stats).toMatchObject({ xpubDrops: 0, xpubBlocks: 0, onloopDrops: 0, msgErrors: 0, outgoingEvents: 0 });
  });
});
