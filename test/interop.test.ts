// Independent peers: the Python node of docs/examples, written from docs/wire.md with Debian's pyzmq
// and msgpack, joins a cluster of this library, says hello, exchanges events and leaves.

import { describe, expect, test } from "bun:test";
import { join } from "node:path";
import { defineStream } from "../lib/logformat.ts";
import { MSGPACK_V1 } from "../lib/serializer.ts";
import { EVENTS } from "../lib/topics.ts";
import { expectEntry, layoutOf, record, startHub, startManager } from "./cluster-helpers.ts";
import { PYTHON, spawnChild, waitFor } from "./helpers.ts";

const DOCS = join(import.meta.dir, "..", "docs");

describe("interop", () => {
  test.skipIf(!PYTHON)("the Python node from docs/examples joins, gets node_up both ways, and talks", async () => {
    const layout = layoutOf({ "py-worker": "worker" });
    // The Python node speaks msgpack-v1 only; a cluster's nodes publish in one format, as in Zeek.
    const manager = await startManager(layout, { eventSerializer: "msgpack-v1" });
    const log = record(manager, EVENTS.nodeUp, EVENTS.nodeDown, "ping");
    let pingContext = "";
    manager.on("ping", (...args: unknown[]) => {
      pingContext = JSON.stringify({
        sender: manager.current?.sender,
        topic: manager.current?.topic,
        metadata: manager.current?.metadata,
      });
      manager.publish(manager.nodeTopic("py-worker"), "pong", [...args, { ok: true }]);
    });
    const { xsub, xpub } = manager.broker!.endpoints!;
    const py = spawnChild([PYTHON!, join(DOCS, "examples/python_node.py"), "py-worker", xsub, xpub]);
    expect(await py.exited(15_000)).toBe(0);
    expect(py.lines).toContain("node_up manager");
    expect(py.lines).toContain('event zeek.cluster.node.py-worker. pong ["py-worker", 1, 2.5, {"ok": true}]');
    await expectEntry(log, 'ping ["py-worker",1,2.5]');
    // The manager's node_up needs both directions of the hello, which may complete after the ping.
    const up = await waitFor(
      () => log.find((l) => l.startsWith(`${EVENTS.nodeUp} ["py-worker"`)),
      "node_up of py-worker",
    );
    const pyId = JSON.parse(up.slice(EVENTS.nodeUp.length + 1))[1] as string;
    expect(pyId).toMatch(/^python_py-worker_/);
    expect(JSON.parse(pingContext)).toEqual({
      sender: pyId,
      topic: "zeek.cluster.manager",
      metadata: [[200, "sent by python"]],
    });
    await expectEntry(log, `${EVENTS.nodeDown} ["py-worker","${pyId}"]`);
    expect(manager.reports).toEqual([]);
  });

  test("the payload example in docs/wire.md is what msgpack-v1 produces", async () => {
    const doc = await Bun.file(join(DOCS, "wire.md")).text();
    const hex = /frame 3: ([0-9a-f ]+)\n/.exec(doc)![1]!.trim().split(/\s+/).join("");
    const encoded = Buffer.from(MSGPACK_V1.encode({ name: "ping", args: [1, "hello", 1.5] })).toString("hex");
    expect(encoded).toBe(hex);
  });
});

describe("interop: logs", () => {
  test.skipIf(!PYTHON)("the Python logger from docs/examples reads batches written by a node", async () => {
    const py = spawnChild([PYTHON!, join(DOCS, "examples/python_logger.py"), "30"]);
    const endpoint = (await py.waitForLine(/^listening (\S+)$/))[1]!;
    const hub = await startHub({
      name: "py-log-writer",
      connectLogEndpoints: [endpoint],
      logSerializer: "msgpack-log-v1",
      logging: { acknowledge: false, writeBufferSize: 7 },
    });
    const CONN = defineStream({
      id: "Conn::LOG",
      path: "conn",
      fields: {
        ts: "time",
        uid: "string",
        "id.orig_h": "addr",
        tags: "set[string]",
        service: { type: "string", optional: true },
      },
    });
    for (let i = 0; i < 30; i++)
      hub.log(CONN, {
        ts: 1700000000 + i,
        uid: `C${i}`,
        "id.orig_h": "10.0.0.1",
        tags: ["a"],
        ...(i % 2 ? { service: "dns" } : {}),
      });
    await hub.flushLogs(5000);
    expect(await py.exited()).toBe(0);
    const records = py.lines
      .filter((l) => l.startsWith("record conn "))
      .map((l) => JSON.parse(l.slice("record conn ".length)));
    expect(records).toHaveLength(30);
    expect(records[1]).toEqual({ ts: 1700000001, uid: "C1", "id.orig_h": "10.0.0.1", tags: ["a"], service: "dns" });
    expect(records[0]).toEqual({ ts: 1700000000, uid: "C0", "id.orig_h": "10.0.0.1", tags: ["a"] });
  });
});
