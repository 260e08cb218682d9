// Raw ZMTP peers for the "bun" engines' tests: TCP servers on loopback that send what a test gives them
// (libzmq never would), and the frames to build it from.

import type { ClusterNode, NodeOptions } from "../lib/pubsub.ts";
import { EVENTS } from "../lib/topics.ts";
import { expectEntry, layoutOf, makeNode, record, startManager, via } from "./cluster-helpers.ts";
import { bytes, waitFor } from "./helpers.ts";

/** A TCP server that answers each connection with `reply`, keeps what it receives, and can stop reading. */
export function rawPeer(
  cleanups: (() => unknown)[],
  reply: Uint8Array[],
): { endpoint: string; connections: () => number; received: () => Uint8Array; pause(): void; resume(): void } {
  let connections = 0;
  const chunks: Uint8Array[] = [];
  const sockets: { pause(): void; resume(): void }[] = [];
  const server = Bun.listen({
    hostname: "127.0.0.1",
    port: 0,
    socket: {
      open(s) {
        connections++;
        sockets.push(s);
        for (const r of reply) s.write(r);
      },
      data(_s, chunk) {
        chunks.push(new Uint8Array(chunk));
      },
    },
  });
  cleanups.push(() => server.stop(true));
  return {
    endpoint: `tcp://127.0.0.1:${server.port}`,
    connections: () => connections,
    received: () => Buffer.concat(chunks),
    pause() {
      for (const s of sockets) s.pause();
    },
    resume() {
      for (const s of sockets) s.resume();
    },
  };
}

/** A ZMTP 3.0 greeting with `mechanism`. */
export function greeting(mechanism = "NULL"): Uint8Array {
  const g = new Uint8Array(64);
  g[0] = 0xff;
  g[9] = 0x7f;
  g[10] = 3;
  g.set(bytes(mechanism), 12);
  return g;
}

/** One frame: `flags` (1 more, 4 command), a long size when the body needs it. */
export function frame(flags: number, body: Uint8Array): Uint8Array {
  if (body.length > 255) {
    const out = new Uint8Array(9 + body.length);
    out[0] = flags | 2;
    new DataView(out.buffer).setBigUint64(1, BigInt(body.length));
    out.set(body, 9);
    return out;
  }
  return new Uint8Array([flags, body.length, ...body]);
}

/** `READY` of a socket of `type`. */
export function readyOf(type: string): Uint8Array {
  const name = bytes("Socket-Type");
  const body = new Uint8Array([5, ...bytes("READY"), name.length, ...name, 0, 0, 0, type.length, ...bytes(type)]);
  return frame(4, body);
}

/** The frames of one message of `parts`. */
export const message = (...parts: string[]): Uint8Array[] =>
  parts.map((p, i) => frame(i < parts.length - 1 ? 1 : 0, bytes(p)));

/**
 * A manager and a worker (each with its own options) that see each other come up, then `n` events from
 * the manager that the worker answers one by one; checks every one arrived in order. Returns both nodes
 * (stopped by the caller's cleanups).
 */
export async function exchange(
  cleanups: (() => unknown)[],
  n: number,
  managerOptions: Partial<NodeOptions>,
  workerOptions: Partial<NodeOptions>,
): Promise<{ manager: ClusterNode; worker: ClusterNode }> {
  const layout = layoutOf({ "worker-1": "worker" });
  const manager = await startManager(layout, managerOptions);
  const worker = makeNode({ name: "worker-1", layout, ...via(manager), ...workerOptions });
  cleanups.push(() => worker.stop());
  const log = record(worker, EVENTS.nodeUp, "msg");
  const managerLog = record(manager, EVENTS.nodeUp, "reply");
  await worker.start();
  await expectEntry(log, `${EVENTS.nodeUp} ["manager","${manager.id}"]`);
  await expectEntry(managerLog, `${EVENTS.nodeUp} ["worker-1","${worker.id}"]`);
  worker.on("msg", (i: number) => worker.publish(worker.nodeTopic("manager"), "reply", [i]));
  for (let i = 0; i < n; i++) manager.publish(manager.nodeTopic("worker-1"), "msg", [i]);
  await waitFor(() => managerLog.filter((l) => l.startsWith("reply")).length === n, "every reply");
  const got = log.filter((l) => l.startsWith("msg"));
  if (got.some((l, i) => l !== `msg [${i}]`) || got.length !== n) throw new Error(`events out of order: ${got}`);
  return { manager, worker };
}
