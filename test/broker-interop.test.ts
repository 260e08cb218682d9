// An independent peer that speaks only broker-bin-v1 (test/fixtures/zeek_bin_peer.py, written from
// the reference with Debian's pyzmq) runs Zeek's hello protocol with a node of this library: both see
// node_up, typed events go both ways, and what this library sends is byte for byte what the peer
// encodes as Zeek would.

import { describe, expect, test } from "bun:test";
import { join } from "node:path";
import type { EventArgs } from "../lib/events.ts";
import { EVENTS } from "../lib/topics.ts";
import { expectEntry, layoutOf, record, startManager } from "./cluster-helpers.ts";
import { Everything } from "./everything-event.ts";
import { PYTHON, spawnChild } from "./helpers.ts";

describe("interop: broker-bin-v1 with an independent peer", () => {
  test.skipIf(!PYTHON)(
    "hello both ways, node_up and node_down, typed events both ways with Zeek's exact bytes",
    async () => {
      const manager = await startManager(layoutOf({ "py-worker": "worker" }));
      const log = record(manager, EVENTS.nodeUp, EVENTS.nodeDown);
      let got: EventArgs<typeof Everything> | undefined;
      manager.on(Everything, (args) => {
        got = args;
        manager.publish(manager.nodeTopic("py-worker"), Everything, args);
      });
      const { xsub, xpub } = manager.broker!.endpoints!;
      const py = spawnChild([PYTHON!, join(import.meta.dir, "fixtures/zeek_bin_peer.py"), "py-worker", xsub, xpub]);
      const code = await py.exited(15_000);
      expect(code, py.lines.join("\n")).toBe(0);
      expect(py.lines).toContain("node_up manager");
      expect(py.lines).toContain("same bytes");
      expect(got).toEqual({
        b: true,
        c: 2n ** 64n - 1n,
        i: -5,
        d: 2.5,
        t: 1_700_000_000.5,
        span: 1.5,
        s: "ünïcödé",
        a4: "10.0.0.1",
        a6: "2001:db8::1",
        net: "10.0.0.0/8",
        p: "80/tcp",
        e: "Cluster::WORKER",
        hosts: new Set(["::1", "10.0.0.1", "10.0.0.2"]),
        names: ["b", "a"],
        counts: new Map([
          ["a", 2],
          ["z", 1],
        ]),
        rec: { n: 7 },
      });
      const up = log.find((l) => l.startsWith(`${EVENTS.nodeUp} ["py-worker"`));
      expect(up).toBeDefined();
      const pyId = JSON.parse(up!.slice(EVENTS.nodeUp.length + 1))[1] as string;
      await expectEntry(log, `${EVENTS.nodeDown} ["py-worker","${pyId}"]`);
      // The peer printed each hello it got from the manager; both are in broker-bin-v1.
      expect(py.lines.some((l) => l.startsWith("event Cluster::Backend::ZeroMQ::hello 0e03"))).toBe(true);
      expect(manager.reports).toEqual([]);
    },
  );
});
