// Stopping a node right after starting it: events still arriving while it stops run handlers that
// publish (a dropped event, counted, one warning line, no stack trace), and nodes that leave in the
// middle of their handshake are no "unknown node" to the others.

import { expect, test } from "bun:test";
import { layoutOf, makeNode, startManager, via } from "./cluster-helpers.ts";
import { waitFor } from "./helpers.ts";

const layout = layoutOf({ "worker-1": "worker" });

test("a handler that publishes while its node stops: dropped, counted, one line, no stack trace", async () => {
  const manager = await startManager(layout);
  const timer = setInterval(() => manager.publish("zeek.cluster.worker", "hello", [1]), 2);
  try {
    const worker = makeNode({ name: "worker-1", layout, ...via(manager) });
    let handled = 0;
    worker.on("hello", (n: number) => {
      handled++;
      worker.publish("zeek.cluster.manager", "hello_back", [n]);
    });
    await worker.start();
    await waitFor(() => handled > 0, "a hello at the worker");
    await worker.stop();
    const dropped = worker.stats().stoppedDrops;
    expect(worker.reports.filter((r) => r.includes("failed") || r.includes("\n    at "))).toEqual([]);
    if (dropped > 0) {
      expect(worker.reports).toEqual([
        "warning: dropped 'hello_back' published while node 'worker-1' is stopping (counted in stoppedDrops)",
      ]);
    } else expect(worker.reports).toEqual([]); // no event came in while it stopped this time
  } finally {
    clearInterval(timer);
  }
});

test("publish() after stop() returns false and counts, rather than throwing", async () => {
  const manager = await startManager(layout);
  const worker = makeNode({ name: "worker-1", layout, ...via(manager) });
  await worker.start();
  await worker.stop();
  expect(worker.publish("zeek.cluster.manager", "late", [])).toBe(false);
  expect(worker.publish("zeek.cluster.manager", "late", [])).toBe(false);
  expect(worker.stats().stoppedDrops).toBe(2);
  expect(worker.reports).toEqual([
    "warning: dropped 'late' published while node 'worker-1' is stopped (counted in stoppedDrops)",
  ]);
});

test("a node stopped in the middle of its handshake leaves without 'unknown node' warnings", async () => {
  const manager = await startManager(layout);
  for (let i = 0; i < 5; i++) {
    const worker = makeNode({ name: "worker-1", layout, ...via(manager) });
    await worker.start();
    await worker.stop();
  }
  // Each left: once the manager has seen all five node-id topics go, nothing more is coming.
  await waitFor(() => manager.discovery!.pending.waiting === 0, "the manager's handshakes settled");
  await Bun.sleep(200);
  expect(manager.reports.filter((r) => r.includes("unknown node"))).toEqual([]);
});
