// Discovery against peers that lie or flood: forged hellos, ever-new names and ids, fake node-id
// subscriptions. A raw peer speaks the wire format by hand on its own XPUB/XSUB through the manager's broker.

import { afterEach, describe, expect, test } from "bun:test";
import { BROKER_BIN_V1 } from "../lib/_broker-event.ts";
import { Context, DONTWAIT, type Socket, SocketOption } from "../lib/_zmq.ts";
import { MAX_PENDING } from "../lib/discovery.ts";
import { encodeEvent } from "../lib/events.ts";
import type { ClusterNode } from "../lib/pubsub.ts";
import { EVENTS, nodeidTopic } from "../lib/topics.ts";
import { expectEntry, layoutOf, makeNode, record, startManager, via } from "./cluster-helpers.ts";
import { bytes, text, waitFor } from "./helpers.ts";

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
});

const layout = layoutOf({ "worker-1": "worker" });
/** Short, so that expiry and the report interval pass within a test. */
const helloExpiration = 400;

/** A manager and a worker of `layout` that are up for each other, the manager recording what it raises. */
async function upPair(expiration = helloExpiration) {
  const manager = await startManager(layout, { helloExpiration: expiration });
  const log = record(manager, EVENTS.nodeUp, EVENTS.nodeDown, "ping", "sentinel");
  const worker = makeNode({ name: "worker-1", layout, helloExpiration: expiration, ...via(manager) });
  await worker.start();
  await expectEntry(log, `${EVENTS.nodeUp} ["worker-1","${worker.id}"]`);
  return { manager, worker, log };
}

/**
 * A peer that is no node: it publishes whatever it likes, in broker-bin-v1, with a sender frame of its
 * choosing; its XSUB is read all the time so that the broker never waits for it.
 */
async function rawPeer(manager: ClusterNode) {
  const { xsub, xpub } = manager.broker!.endpoints!;
  const ctx = new Context();
  const pub = ctx.socket("XPUB");
  pub.setOption(SocketOption.SNDHWM, 0); // a flood is queued, not dropped, on the way out
  pub.setOption(SocketOption.XPUB_VERBOSE, 1);
  pub.connect(xsub);
  const sub = ctx.socket("XSUB");
  sub.setOption(SocketOption.SNDHWM, 0); // and so are many subscriptions
  sub.connect(xpub);
  const drain = setInterval(() => {
    while (sub.recv(DONTWAIT)) {}
  }, 5);
  cleanups.push(() => {
    clearInterval(drain);
    ctx.close();
  });
  await awaitSubscriber(pub, manager.nodeidTopic(manager.id));
  let sentinels = 0;
  return {
    sub,
    /** Publishes `event(...args)` to the manager's node-id topic as if `sender` sent it. */
    send(event: string, args: string[], sender = "zeromq_raw_peer") {
      const payload = encodeEvent(BROKER_BIN_V1, event, args, undefined);
      const frames = [manager.nodeidTopic(manager.id), sender, "broker-bin-v1", payload.bytes.slice(0, payload.length)];
      expect(pub.send(frames.map((f) => (typeof f === "string" ? bytes(f) : f)))).toBe(true);
    },
    /** Resolves once the manager has handled everything sent before (one pipe keeps the order). */
    async settled(log: string[]) {
      const n = ++sentinels;
      this.send("sentinel", [String(n)]);
      await expectEntry(log, `sentinel ["${n}"]`);
    },
  };
}

async function awaitSubscriber(pub: Socket, prefix: string): Promise<void> {
  await waitFor(() => {
    const notice = pub.recv(DONTWAIT);
    return notice !== null && notice[0]![0] === 1 && text(notice[0]!.subarray(1)) === prefix;
  }, `the subscription ${prefix}`);
}

/** Checks that the worker's events still reach the manager. */
async function pingsArrive(worker: ClusterNode, manager: ClusterNode, log: string[], n: number): Promise<void> {
  worker.publish(worker.nodeTopic(manager.name), "ping", [n]);
  await expectEntry(log, `ping [${n}]`);
}

/** The numbers `pattern` captures in `reports`, summed (each line matching `single` counts one). */
function counted(reports: string[], single: RegExp, pattern: RegExp): { lines: number; total: number } {
  let lines = 0;
  let total = 0;
  for (const report of reports) {
    const many = report.match(pattern);
    if (many) [lines, total] = [lines + 1, total + Number(many[1])];
    else if (single.test(report)) [lines, total] = [lines + 1, total + 1];
  }
  return { lines, total };
}

describe("forged hellos", () => {
  test("a forged ZeroMQ::hello with a live node's name and a new id ends nothing, and expires", async () => {
    const { manager, worker, log } = await upPair();
    const peer = await rawPeer(manager);
    const forged = "zeromq_worker-1_forged_1_Nfake";
    peer.send(EVENTS.zeromqHello, ["worker-1", forged], forged);
    await peer.settled(log);
    // Zeek (and this library before) raised node_down(worker-1) here, and the worker never came back.
    expect(log.filter((l) => l.startsWith(EVENTS.nodeDown))).toEqual([]);
    expect(manager.discovery!.up.get("worker-1")).toBe(worker.id);
    expect(manager.discovery!.pending.hellos).toBe(1);
    await pingsArrive(worker, manager, log, 1);
    // Its sender never subscribes its node-id topic: the hello expires with Zeek's warning.
    await expectEntry(manager.reports, `warning: Expired hello from nodeid ${forged}`);
    expect(manager.discovery!.pending.hellos).toBe(0);
    await pingsArrive(worker, manager, log, 2);
    expect(manager.discovery!.up.get("worker-1")).toBe(worker.id);
    expect(log.filter((l) => !l.startsWith("sentinel"))).toEqual([
      `${EVENTS.nodeUp} ["worker-1","${worker.id}"]`,
      "ping [1]",
      "ping [2]",
    ]);
  });

  test("a full impersonation (subscribed, both hellos) is refused while the real node answers; it takes over when that node leaves", async () => {
    const { manager, worker, log } = await upPair();
    const peer = await rawPeer(manager);
    const forged = "zeromq_worker-1_forged_2_Nfake";
    peer.sub.send([new Uint8Array([1, ...bytes(nodeidTopic(forged))])]);
    await waitFor(() => manager.hasSubscription(nodeidTopic(forged)), "the forged id's subscription");
    peer.send(EVENTS.zeromqHello, ["worker-1", forged], forged);
    peer.send(EVENTS.hello, ["worker-1", forged], forged);
    await peer.settled(log);
    expect(log.filter((l) => l.startsWith(EVENTS.nodeDown))).toEqual([]);
    expect(manager.discovery!.pending.contested).toBe(1);
    // The manager asks the worker's id, the worker answers, and nothing changes.
    await expectEntry(
      manager.reports,
      `warning: node 'worker-1' (old id:${worker.id} new id:${forged}) says hello with a new id, but its old id is subscribed and answers: it stays up`,
    );
    await Bun.sleep(2 * helloExpiration); // past the wait for an answer (helloExpiration here)
    await pingsArrive(worker, manager, log, 1);
    expect(manager.discovery!.up.get("worker-1")).toBe(worker.id);
    expect(log.filter((l) => l.startsWith(EVENTS.nodeDown))).toEqual([]);
    expect(manager.reports.filter((r) => r.includes("never said goodbye"))).toEqual([]);
    // Once the worker's node-id subscription goes, the pending id may take over (it said Cluster::hello).
    await worker.stop();
    await expectEntry(log, `${EVENTS.nodeUp} ["worker-1","${forged}"]`);
    expect(log.filter((l) => l.startsWith("Cluster::"))).toEqual([
      `${EVENTS.nodeUp} ["worker-1","${worker.id}"]`,
      `${EVENTS.nodeDown} ["worker-1","${worker.id}"]`,
      `${EVENTS.nodeUp} ["worker-1","${forged}"]`,
    ]);
    expect(manager.discovery!.pending.contested).toBe(0);
  });

  test("an old id that does not answer (a Zeek node, or one that died behind a restarted broker) is replaced by a subscribed new id", async () => {
    const manager = await startManager(layout, { helloExpiration });
    const log = record(manager, EVENTS.nodeUp, EVENTS.nodeDown, "sentinel");
    const peer = await rawPeer(manager);
    const [old, next] = ["zeromq_worker-1_raw_1_Nold", "zeromq_worker-1_raw_2_Nnew"];
    const join = async (id: string) => {
      peer.sub.send([new Uint8Array([1, ...bytes(nodeidTopic(id))])]);
      await waitFor(() => manager.hasSubscription(nodeidTopic(id)), `the subscription of ${id}`);
      peer.send(EVENTS.zeromqHello, ["worker-1", id], id);
      peer.send(EVENTS.hello, ["worker-1", id], id);
      await peer.settled(log);
    };
    await join(old);
    expect(manager.discovery!.up.get("worker-1")).toBe(old);
    const asked = performance.now();
    await join(next);
    expect(manager.discovery!.up.get("worker-1")).toBe(old); // asked first, not ended at once
    await expectEntry(log, `${EVENTS.nodeUp} ["worker-1","${next}"]`);
    expect(performance.now() - asked).toBeGreaterThanOrEqual(helloExpiration - 50);
    expect(log.filter((l) => l.startsWith("Cluster::"))).toEqual([
      `${EVENTS.nodeUp} ["worker-1","${old}"]`,
      `${EVENTS.nodeDown} ["worker-1","${old}"]`,
      `${EVENTS.nodeUp} ["worker-1","${next}"]`,
    ]);
    expect(manager.reports).toContain(`warning: node 'worker-1' never said goodbye (old id:${old} new id:${next})`);
    expect(manager.discovery!.pending.contested).toBe(0);
  });

  test("a Cluster::hello naming an Object.prototype key is an unexpected node, not node_up", async () => {
    const { manager, log } = await upPair();
    const peer = await rawPeer(manager);
    for (const name of ["toString", "__proto__", "constructor"]) peer.send(EVENTS.hello, [name, `zeromq_${name}_x`]);
    await peer.settled(log);
    expect(log.filter((l) => l.startsWith(EVENTS.nodeUp))).toHaveLength(1);
    expect([...manager.discovery!.up.keys()]).toEqual(["worker-1"]);
    expect(manager.reports).toContain("error: Got Cluster::hello msg from unexpected node: toString");
  });
});

describe("floods", () => {
  test("2,000 Cluster::hello with ever-new unknown names: one line, then a count per interval; no name is remembered", async () => {
    const { manager, log } = await upPair(1000); // the flood fits in one interval even on a busy machine
    const peer = await rawPeer(manager);
    for (let i = 0; i < 2000; i++) peer.send(EVENTS.hello, [`intruder-${i}`, `zeromq_intruder-${i}_x`]);
    await peer.settled(log);
    const single = /^error: Got Cluster::hello msg from unexpected node: intruder-\d+$/;
    const many = /^error: Got Cluster::hello from (\d+) more unexpected nodes in the last 1 s \(e\.g\. (.+)\)$/;
    const seen = await waitFor(() => {
      const c = counted(manager.reports, single, many);
      return c.total === 2000 ? c : undefined;
    }, `reports that count 2,000 hellos (so far: ${manager.reports.length} lines)`);
    expect(seen.lines).toBeLessThanOrEqual(3); // before: 2,000 lines
    expect(manager.reports).toContain("error: Got Cluster::hello msg from unexpected node: intruder-0");
    expect(manager.reports.join("\n")).toContain("(e.g. intruder-1, intruder-2, intruder-3)");
    // Two quiet intervals later the same name is news again: nothing was kept per name.
    await Bun.sleep(3 * 1000);
    peer.send(EVENTS.hello, ["intruder-0", "zeromq_intruder-0_x"]);
    await peer.settled(log);
    const again = manager.reports.filter((r) => r === "error: Got Cluster::hello msg from unexpected node: intruder-0");
    expect(again).toHaveLength(2);
    expect(manager.discovery!.pending).toEqual({ waiting: 0, hellos: 0, contested: 0, evicted: 0 });
  });

  test("2,000 forged hellos from ids that never subscribe: bounded, counted, all expire, a few lines", async () => {
    const { manager, worker, log } = await upPair(1500); // all of them come within one helloExpiration
    const peer = await rawPeer(manager);
    for (let i = 0; i < 2000; i++) peer.send(EVENTS.zeromqHello, ["worker-1", `zeromq_forged_${i}`]);
    await peer.settled(log);
    expect(log.filter((l) => l.startsWith(EVENTS.nodeDown))).toEqual([]);
    const pending = manager.discovery!.pending;
    expect(pending.hellos).toBeLessThanOrEqual(MAX_PENDING);
    expect(pending.evicted).toBeGreaterThan(0);
    await waitFor(() => manager.discovery!.pending.hellos === 0, "every forged hello to expire");
    const evicted = manager.discovery!.pending.evicted;
    expect(evicted).toBe(2000 - MAX_PENDING);
    const expired = /^warning: Expired hello from nodeid zeromq_forged_\d+$/;
    const expiredMany = /^warning: Expired hellos from (\d+) more nodeids in the last 1\.5 s/;
    const forgot = /^warning: more than 1000 unfinished handshakes: forgot nodeid zeromq_forged_\d+$/;
    const forgotMany = /^warning: more than 1000 unfinished handshakes: forgot (\d+) more nodeids/;
    await waitFor(
      () => counted(manager.reports, expired, expiredMany).total === 2000 - evicted,
      `expiry reports that count ${2000 - evicted} (so far: ${JSON.stringify(manager.reports.slice(-4))})`,
    );
    await waitFor(() => counted(manager.reports, forgot, forgotMany).total === evicted, "the count of forgotten ids");
    expect(counted(manager.reports, expired, expiredMany).lines).toBeLessThanOrEqual(3);
    expect(counted(manager.reports, forgot, forgotMany).lines).toBeLessThanOrEqual(3);
    expect(manager.reports.length).toBeLessThanOrEqual(6); // before: 2,000 lines and a node_down
    expect(manager.discovery!.up.get("worker-1")).toBe(worker.id);
    expect(log.filter((l) => l.startsWith(EVENTS.nodeDown))).toEqual([]);
    await pingsArrive(worker, manager, log, 1);
  });

  test("fake node-id subscriptions beyond the table's size: the oldest are forgotten and counted", async () => {
    const { manager, worker, log } = await upPair();
    const peer = await rawPeer(manager);
    const fakes = Array.from({ length: MAX_PENDING + 200 }, (_, i) => nodeidTopic(`zeromq_fake_${i}`));
    // In batches: the broker's XSUB drops subscriptions beyond its HWM towards a node that lags behind.
    for (let i = 0; i < fakes.length; i += 100) {
      for (const topic of fakes.slice(i, i + 100)) peer.sub.send([new Uint8Array([1, ...bytes(topic)])]);
      await waitFor(() => manager.hasSubscription(fakes[Math.min(i + 99, fakes.length - 1)]!), "a fake subscription");
    }
    expect(fakes.every((topic) => manager.hasSubscription(topic))).toBe(true);
    // They never answer: one expiry line and a count, not one line per id, and not again and again.
    await Bun.sleep(4 * helloExpiration);
    const expired = manager.reports.filter((r) => r.includes("Expired subscription"));
    expect(expired.length).toBeGreaterThan(0);
    expect(expired.length).toBeLessThanOrEqual(3); // before: 1,200 lines
    expect(manager.reports.length).toBeLessThanOrEqual(8);
    expect(manager.discovery!.pending.waiting).toBe(MAX_PENDING);
    expect(manager.discovery!.pending.evicted).toBe(200);
    expect(manager.discovery!.up.get("worker-1")).toBe(worker.id);
    await pingsArrive(worker, manager, log, 1);
  });
});

describe("the node's report-once memory", () => {
  test("keeps the last 1,000 keys: a key-per-peer report cannot grow it without bound", () => {
    const node = makeNode({ name: "reporter" });
    for (let i = 0; i <= 1000; i++) node.report("warning", `kind ${i}`, `key-${i}`);
    node.report("warning", "kind 1000 again", "key-1000"); // remembered: not passed on
    node.report("warning", "kind 0 again", "key-0"); // the oldest key was forgotten: passed on again
    expect(node.reports).toHaveLength(1002);
    expect(node.reports.at(-1)).toBe("warning: kind 0 again");
    expect(node.reports).not.toContain("warning: kind 1000 again");
  });
});
