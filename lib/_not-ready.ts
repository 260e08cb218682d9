/**
 * @module The error of a node that found no broker in time (`NODE_NOT_READY`), and what it says: the
 * endpoints it waited on, and for each whether anything listens there, found by trying to connect.
 * "Nothing listens" means the broker is not up (or the endpoints are wrong); "something listens" means
 * it is up but did not answer as this node's broker (another program, or CURVE keys that do not match).
 */

import { existsSync } from "node:fs";
import { createConnection } from "node:net";
import { ClusterError } from "./errors.ts";

/** How long a connection attempt may take before the endpoint counts as not answering. */
const PROBE_MS = 500;

/** Whether anything accepts connections at `endpoint`, in words. */
export function probeEndpoint(endpoint: string): Promise<string> {
  if (endpoint.startsWith("ipc://")) {
    const path = endpoint.slice("ipc://".length);
    return Promise.resolve(existsSync(path) ? "its socket file exists" : "nothing listens there (no socket file)");
  }
  // tcp://[source;]host:port, the host maybe an IPv6 address in brackets.
  const m = /^tcp:\/\/(?:[^;]*;)?\[?([^\]]*?)\]?:(\d+)$/.exec(endpoint);
  if (!m) return Promise.resolve("not probed");
  const host = m[1] === "*" ? "127.0.0.1" : m[1]!;
  return new Promise((resolve) => {
    const socket = createConnection({ host, port: Number(m[2]), timeout: PROBE_MS });
    const done = (what: string) => {
      socket.destroy();
      resolve(what);
    };
    socket.once("connect", () => done("something listens there"));
    socket.once("timeout", () => done(`no answer within ${PROBE_MS} ms (a firewall, or the host is down)`));
    socket.once("error", (err: Error & { code?: string }) =>
      done(
        err.code === "ECONNREFUSED"
          ? "nothing listens there (connection refused)"
          : `cannot connect (${err.code ?? err.message})`,
      ),
    );
  });
}

/**
 * The `NODE_NOT_READY` error of a node that waited `ms` for the broker at `xsub` (where its XPUB
 * publishes, `connectXpubEndpoint`) and `xpub` (where its XSUB subscribes, `connectXsubEndpoint`).
 *
 * @example A worker started before its manager
 * ```ts
 * import { notReadyError } from "./_not-ready.ts";
 *
 * const err = await notReadyError("worker-1", 10_000, "tcp://127.0.0.1:9", "tcp://127.0.0.1:9");
 * console.log(err.code); // "NODE_NOT_READY"
 * console.log(err.message.includes("tcp://127.0.0.1:9: nothing listens there (connection refused)")); // true
 * ```
 */
export async function notReadyError(name: string, ms: number, xsub: string, xpub: string): Promise<ClusterError> {
  const endpoints = xsub === xpub ? [xsub] : [xsub, xpub];
  const found = await Promise.all(endpoints.map(probeEndpoint));
  const where = endpoints.map((ep, i) => `${ep}: ${found[i]}`).join("; ");
  const listening = found.some((f) => f.startsWith("something") || f.startsWith("its socket"));
  const fix = listening
    ? "Something is there but did not answer as this node's broker: another program on that port, or CURVE keys that do not match the broker's?"
    : "Start the node that runs the broker (the manager) first, or point connectXpubEndpoint / connectXsubEndpoint at its listen endpoints.";
  return new ClusterError(
    "NODE_NOT_READY",
    `Node '${name}' is not ready after ${ms} ms: no broker echoed its subscription (${where}). ${fix}`,
  );
}
