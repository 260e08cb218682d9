// Bun nodes in real Zeek clusters (Zeek 9.1-dev from ../shared/zeek): discovery both ways through
// Zeek's broker and through this library's, and typed events both ways in broker-bin-v1 (byte for byte
// what Zeek sends) and broker-json-v1.

import { afterEach, describe, expect, test } from "bun:test";
import { BROKER_BIN_V1 } from "../lib/_broker-event.ts";
import { Context } from "../lib/_zmq.ts";
import { defineEvent, type EventArgs, encodeEvent } from "../lib/events.ts";
import { EVENTS } from "../lib/topics.ts";
import { expectEntry, makeNode, record } from "./cluster-helpers.ts";
import { EVERYTHING_TYPES, Everything } from "./everything-event.ts";
import { bytes, recvWithin, text, waitFor } from "./helpers.ts";
import { mixedCluster, startZeek, stopZeekClusters, ZEEK, ZEEK_MISSING, type ZeekNode } from "./zeek-harness.ts";

afterEach(stopZeekClusters);

const PRINT_UP_DOWN = `
event Cluster::node_up(name: string, id: string) { print fmt("node_up %s %s", name, id); }
event Cluster::node_down(name: string, id: string) { print fmt("node_down %s %s", name, id); }`;

const skip = ZEEK ? "" : ` (skipped: ${ZEEK_MISSING})`;

describe.skipIf(!ZEEK)(`Bun nodes in a Zeek cluster: discovery${skip}`, () => {
  test("through Zeek's broker: a Zeek manager, a Zeek worker and a Bun worker see each other come and go", async () => {
    const cluster = mixedCluster({
      nodes: {
        manager: { type: "manager", impl: "zeek" },
        "worker-1": { type: "worker", impl: "zeek" },
        "worker-2": { type: "worker", impl: "bun" },
      },
    });
    const [manager, worker1] = await Promise.all([
      startZeek("manager", PRINT_UP_DOWN, cluster),
      startZeek("worker-1", PRINT_UP_DOWN, cluster),
    ]);
    const bun = makeNode(cluster.bunOptions("worker-2"));
    const log = record(bun, EVENTS.nodeUp, EVENTS.nodeDown);
    await bun.start();
    await expectEntry(log, `${EVENTS.nodeUp} ["manager","${manager.id}"]`);
    await expectEntry(log, `${EVENTS.nodeUp} ["worker-1","${worker1.id}"]`);
    await manager.waitForLine(new RegExp(`^node_up worker-2 ${bun.id}$`), 5000);
    await worker1.waitForLine(new RegExp(`^node_up worker-2 ${bun.id}$`), 5000);
    await worker1.stop();
    await expectEntry(log, `${EVENTS.nodeDown} ["worker-1","${worker1.id}"]`);
    await bun.stop();
    await manager.waitForLine(new RegExp(`^node_down worker-2 ${bun.id}$`), 5000);
    expect(bun.reports.filter((r) => !r.includes("does not acknowledge (a Zeek logger?)"))).toEqual([]);
    expect(manager.lines.filter((l) => /error|warning/i.test(l))).toEqual([]);
  });

  test("through this library's broker: a Bun manager runs it, Zeek workers and a Bun worker see each other come and go", async () => {
    const cluster = mixedCluster({
      nodes: {
        manager: { type: "manager", impl: "bun" },
        "worker-1": { type: "worker", impl: "zeek" },
        "worker-2": { type: "worker", impl: "zeek" },
        "worker-3": { type: "worker", impl: "bun" },
      },
    });
    const manager = makeNode(cluster.bunOptions("manager"));
    const log = record(manager, EVENTS.nodeUp, EVENTS.nodeDown);
    await manager.start();
    const [w1, w2] = await Promise.all([
      startZeek("worker-1", PRINT_UP_DOWN, cluster),
      startZeek("worker-2", PRINT_UP_DOWN, cluster),
    ]);
    const w3 = makeNode(cluster.bunOptions("worker-3"));
    await w3.start();
    for (const z of [w1, w2]) await expectEntry(log, `${EVENTS.nodeUp} ["${z.name}","${z.id}"]`);
    await expectEntry(log, `${EVENTS.nodeUp} ["worker-3","${w3.id}"]`);
    for (const [z, other] of [
      [w1, w2],
      [w2, w1],
    ] as const) {
      await z.waitForLine(new RegExp(`^node_up manager ${manager.id}$`), 5000);
      await z.waitForLine(new RegExp(`^node_up ${other.name} ${other.id}$`), 5000);
      await z.waitForLine(new RegExp(`^node_up worker-3 ${w3.id}$`), 5000);
    }
    await w2.stop();
    await expectEntry(log, `${EVENTS.nodeDown} ["worker-2","${w2.id}"]`);
    await w1.waitForLine(new RegExp(`^node_down worker-2 ${w2.id}$`), 5000);
    expect(manager.reports).toEqual([]);
  });
});

// One argument of every type (everything-event.ts); the Zeek side declares the same events.
const FromZeek = defineEvent("Test::from_zeek", EVERYTHING_TYPES);
const SENT: EventArgs<typeof Everything> = {
  b: true,
  c: 2n ** 64n - 1n,
  i: -(2n ** 63n),
  d: 0.1234567,
  t: 1_700_000_000.123456,
  span: -1.5,
  s: 'a"b\nc ü',
  a4: "10.0.0.1",
  a6: "2001:db8::1",
  net: "2001:db8::/32",
  p: "53/udp",
  e: "Cluster::WORKER",
  hosts: new Set(["10.0.0.2", "::1", "10.0.0.1"]),
  names: ["b", "a"],
  counts: new Map([
    ["z", 1],
    ["a", 2],
  ]),
  rec: { n: 7 },
};

const ZEEK_EVENTS = `
module Test;
export {
  type Rec: record { n: count; note: string &optional; };
  global everything: event(b: bool, c: count, i: int, d: double, t: time, span: interval, s: string, a4: addr, a6: addr, net: subnet, p: port, e: Cluster::NodeType, hosts: set[addr], names: vector of string, counts: table[string] of count, rec: Rec);
  global from_zeek: event(b: bool, c: count, i: int, d: double, t: time, span: interval, s: string, a4: addr, a6: addr, net: subnet, p: port, e: Cluster::NodeType, hosts: set[addr], names: vector of string, counts: table[string] of count, rec: Rec);
}
event Cluster::node_up(name: string, id: string) { print fmt("node_up %s %s", name, id); }
event Test::everything(b: bool, c: count, i: int, d: double, t: time, span: interval, s: string, a4: addr, a6: addr, net: subnet, p: port, e: Cluster::NodeType, hosts: set[addr], names: vector of string, counts: table[string] of count, rec: Rec)
  {
  print fmt("got b=%s c=%s i=%s d=%.17g t=%.6f span=%.6f e=%s a4=%s a6=%s net=%s p=%s", b, c, i, d, t, interval_to_double(span), e, a4, a6, net, p);
  print fmt("got s=%s hosts=%s names=%s counts=%s rec=%s", bytestring_to_hexstr(s), to_json(hosts), to_json(names), to_json(counts), to_json(rec));
  Cluster::publish(Cluster::node_topic("worker-2"), Test::from_zeek, b, c, i, d, t, span, s, a4, a6, net, p, e, hosts, names, counts, rec);
  }`;

/** What the Zeek worker printed about the event it got, as `key=value` pairs. */
function printed(z: ZeekNode): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of z.lines.filter((l) => l.startsWith("got "))) {
    for (const m of line.slice(4).matchAll(/(\w+)=(\{.*?\}|\[.*?\]|"(?:\\.|[^"\\])*"|\S+)/g)) out[m[1]!] = m[2]!;
  }
  return out;
}

for (const format of ["broker-bin-v1", "broker-json-v1"] as const) {
  describe.skipIf(!ZEEK)(`typed events between Bun and Zeek in ${format}${skip}`, () => {
    test("a Zeek handler gets every argument type as Bun meant it, and a Bun handler gets Zeek's", async () => {
      const cluster = mixedCluster({
        nodes: {
          manager: { type: "manager", impl: "zeek" },
          "worker-1": { type: "worker", impl: "zeek" },
          "worker-2": { type: "worker", impl: "bun" },
        },
      });
      const serializer =
        format === "broker-json-v1"
          ? "redef Cluster::event_serializer = Cluster::EVENT_SERIALIZER_BROKER_JSON_V1;\n"
          : "";
      const [, worker1] = await Promise.all([
        startZeek("manager", serializer + PRINT_UP_DOWN, cluster),
        startZeek("worker-1", serializer + ZEEK_EVENTS, cluster),
      ]);
      // A raw subscriber on the broker keeps the bytes Zeek sends to worker-2.
      const ctx = new Context();
      const tap = ctx.socket("XSUB");
      tap.connect(cluster.endpoints.xpub);
      tap.send([bytes("\x01zeek.cluster.node.worker-2.")]);
      try {
        const bun = makeNode({ ...cluster.bunOptions("worker-2"), eventSerializer: format });
        let got: EventArgs<typeof FromZeek> | undefined;
        bun.on(FromZeek, (args) => (got = args));
        bun.on(
          EVENTS.nodeUp,
          (name: string) => name === "worker-1" && bun.publish(bun.nodeTopic("worker-1"), Everything, SENT),
        );
        await bun.start();
        await worker1.waitForLine(/^got s=/, 10_000);
        const z = printed(worker1);
        expect(z).toMatchObject({
          b: "T",
          c: "18446744073709551615",
          i: "-9223372036854775808",
          e: "Cluster::WORKER",
          a4: "10.0.0.1",
          a6: "2001:db8::1",
          net: "2001:db8::/32",
          p: "53/udp",
          span: "-1.500000",
        });
        expect(Number(z.d)).toBe(0.1234567); // JSON too: the encoder keeps every digit Zeek's %f would drop
        expect(z.t).toBe("1700000000.123456");
        expect(Buffer.from(z.s!, "hex").toString()).toBe('a"b\nc ü');
        expect(new Set(JSON.parse(z.hosts!))).toEqual(SENT.hosts as Set<string>);
        expect(JSON.parse(z.names!)).toEqual(["b", "a"]);
        expect(JSON.parse(z.counts!)).toEqual({ z: 1, a: 2 });
        expect(JSON.parse(z.rec!)).toEqual({ n: 7 });

        await waitFor(() => got !== undefined, "Test::from_zeek at the Bun node", 10_000);
        // What Zeek sends back: exact in broker-bin-v1; its JSON encoder rounds reals to 6 decimals
        // and timestamps to milliseconds (zeek-wire.md §3.2), so those arrive as Zeek wrote them.
        const json = format === "broker-json-v1";
        expect(got).toEqual({ ...SENT, d: json ? 0.123457 : SENT.d, t: got!.t });
        expect(Math.abs(got!.t - (json ? 1_700_000_000.123 : SENT.t))).toBeLessThan(1e-6);
        if (!json) {
          const frames = await recvWithin(tap, "Zeek's Test::from_zeek", 5000);
          expect(text(frames[2])).toBe("broker-bin-v1");
          const ours = encodeEvent(BROKER_BIN_V1, "Test::from_zeek", got!, FromZeek);
          expect(Buffer.from(ours.bytes.subarray(0, ours.length)).toString("hex")).toBe(
            Buffer.from(frames[3]!).toString("hex"),
          );
        }
        expect(bun.reports.filter((r) => !r.includes("does not acknowledge (a Zeek logger?)"))).toEqual([]);
        expect(worker1.lines.filter((l) => /error|warning/i.test(l))).toEqual([]);
      } finally {
        ctx.close();
      }
    });
  });
}
