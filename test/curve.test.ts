// Zeek's two-nodes-encryption tests: CURVE between nodes and the broker the manager runs.

import { describe, expect, test } from "bun:test";
import { curveKeypair } from "../lib/curve.ts";
import { ClusterError } from "../lib/errors.ts";
import { EVENTS } from "../lib/topics.ts";
import { expectEntry, layoutOf, makeNode, record, startManager, via } from "./cluster-helpers.ts";

const server = curveKeypair();
const client = curveKeypair();
const KEYS = {
  curveServerPublickey: server.publicKey,
  curveServerSecretkey: server.secretKey,
  curveClientPublickey: client.publicKey,
  curveClientSecretkey: client.secretKey,
};

describe("CURVE", () => {
  test("two-nodes-encryption: with all four keys on both nodes, node_up both ways", async () => {
    const layout = layoutOf({ "worker-1": "worker" });
    const manager = await startManager(layout, KEYS);
    const log = record(manager, EVENTS.nodeUp);
    const worker = makeNode({ name: "worker-1", layout, ...via(manager), ...KEYS });
    const wlog = record(worker, EVENTS.nodeUp);
    await worker.start();
    await expectEntry(log, `${EVENTS.nodeUp} ["worker-1","${worker.id}"]`);
    await expectEntry(wlog, `${EVENTS.nodeUp} ["manager","${manager.id}"]`);
  });

  test("two-nodes-encryption-mismatch: a node without keys fails to start, naming the handshake failure", async () => {
    const layout = layoutOf({ "worker-1": "worker" });
    const manager = await startManager(layout, KEYS);
    const worker = makeNode({ name: "worker-1", layout, ...via(manager) });
    const err = await worker.start().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ClusterError);
    expect((err as ClusterError).code).toBe("HANDSHAKE_FAILED");
    expect((err as Error).message).toMatch(
      /^ZeroMQ: Handshake for socket tcp:\/\/127\.0\.0\.1:\d+ failed: event=0x(800|2000) value=\d+$/,
    );
  });

  test("a client key the broker does not know is refused (ZAP)", async () => {
    const layout = layoutOf({ "worker-1": "worker" });
    const manager = await startManager(layout, KEYS);
    const stranger = curveKeypair();
    const worker = makeNode({
      name: "worker-1",
      layout,
      ...via(manager),
      ...KEYS,
      curveClientPublickey: stranger.publicKey,
      curveClientSecretkey: stranger.secretKey,
    });
    const err = await worker.start().catch((e: unknown) => e);
    expect((err as ClusterError).code).toBe("HANDSHAKE_FAILED");
    expect((err as Error).message).toContain("event=0x4000");
  });
});
