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

/** What trying to connect to an endpoint found. */
export interface Probe {
  /** Whether something accepts connections there; undefined where it was not tried. */
  listening: boolean | undefined;
  /** The same in words, e.g. "nothing listens there (connection refused)". */
  words: string;
}

/** Whether anything accepts connections at `endpoint`, trying for at most `timeoutMs`. */
export function probeEndpoint(endpoint: string, timeoutMs: number = PROBE_MS): Promise<Probe> {
  if (endpoint.startsWith("ipc://")) {
    const listening = existsSync(endpoint.slice("ipc://".length));
    return Promise.resolve({
      listening,
      words: listening ? "its socket file exists" : "nothing listens there (no socket file)",
    });
  }
  // tcp://[source;]host:port, the host maybe an IPv6 address in brackets.
  const m = /^tcp:\/\/(?:[^;]*;)?\[?([^\]]*?)\]?:(\d+)$/.exec(endpoint);
  if (!m) return Promise.resolve({ listening: undefined, words: "not probed" });
  const host = m[1] === "*" ? "127.0.0.1" : m[1]!;
  return new Promise((resolve) => {
    const socket = createConnection({ host, port: Number(m[2]), timeout: timeoutMs });
    const done = (listening: boolean, words: string) => {
      socket.destroy();
      resolve({ listening, words });
    };
    socket.once("connect", () => done(true, "something listens there"));
    socket.once("timeout", () => done(false, `no answer within ${timeoutMs} ms (a firewall, or the host is down)`));
    socket.once("error", (err: Error & { code?: string }) =>
      done(
        false,
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
  const found = await Promise.all(endpoints.map((ep) => probeEndpoint(ep)));
  const where = endpoints.map((ep, i) => `${ep}: ${found[i]!.words}`).join("; ");
  const listening = found.some((f) => f.listening === true);
  const fix = listening
    ? "Something is there but did not answer as this node's broker: another program on that port, or CURVE keys that do not match the broker's?"
    : "Start the node that runs the broker (the manager) first, or point connectXpubEndpoint / connectXsubEndpoint at its listen endpoints.";
  return new ClusterError(
    "NODE_NOT_READY",
    `Node '${name}' is not ready after ${ms} ms: no broker echoed its subscription (${where}). ${fix}`,
  );
}
