/**
 * @module Private: what the launcher derives from a cluster file before it spawns anything: which nodes
 * run on this host, the order nodes start and stop in, each node's environment (with private endpoints
 * when isolated), and what the launcher still waits for before the cluster is ready.
 */

import { lookup } from "node:dns/promises";
import { mkdtempSync } from "node:fs";
import { isIP } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { ValidClusterFile } from "./cluster-file.ts";
import { envVarName } from "./config.ts";
import { isLogSink } from "./layout.ts";

/** Where the node processes learn the cluster file from: its path, or its JSON. */
export type ClusterSource = { path: string } | { json: string };

/** Resolves a host name to its addresses (the system's resolver: /etc/hosts, then DNS). */
export type Resolver = (name: string) => Promise<string[]>;

const systemResolver: Resolver = async (name) => (await lookup(name, { all: true })).map((a) => a.address);
// One spelling per address, so that "::1" and "0:0:0:0:0:0:0:1" match.
const canonical = (ip: string) => (isIP(ip) === 6 ? new URL(`http://[${ip}]/`).hostname.slice(1, -1) : ip);

/**
 * The nodes that run on `host`, in layout order: those whose `host` name or `ip` is `host` (names
 * case-insensitively). When there are none and `host` is a name, it is resolved and the nodes whose
 * `ip` is one of its addresses are taken. Without `host`: every node.
 *
 * @throws {RangeError} no node runs on `host`; the message lists the hosts the file names.
 */
export async function nodesOnHost(
  file: ValidClusterFile,
  host: string | undefined,
  resolve: Resolver = systemResolver,
): Promise<string[]> {
  const names = Object.keys(file.layout.nodes);
  if (host === undefined) return names;
  const ipOf = (n: string) => canonical(file.layout.nodes[n]!.ip);
  const exact = names.filter(
    (n) => ipOf(n) === (isIP(host) ? canonical(host) : host) || file.hosts[n]?.toLowerCase() === host.toLowerCase(),
  );
  if (exact.length > 0 || isIP(host)) return check(exact);
  const addresses = new Set((await resolve(host).catch(() => [])).map(canonical));
  return check(
    names.filter((n) => addresses.has(ipOf(n))),
    [...addresses],
  );

  function check(found: string[], addresses?: string[]): string[] {
    if (found.length > 0) return found;
    const known = [...new Set(names.map((n) => (file.hosts[n] ? `${file.hosts[n]} (${ipOf(n)})` : ipOf(n))))];
    const resolved = addresses ? ` ('${host}' resolves to ${addresses.join(", ") || "nothing"})` : "";
    throw new RangeError(
      `Invalid host '${host}': no node of the cluster file runs there${resolved}; its hosts are ${known.join(", ")}`,
    );
  }
}

/**
 * What keeps a cluster from being ready: for each node started here, the nodes of the whole cluster
 * (`all`) it has not seen node_up for yet. Empty once every one has seen every other.
 */
export function missingPeers(all: readonly string[], local: Iterable<{ name: string; up: Set<string> }>): string {
  const gaps = [...local]
    .map((n) => [n.name, all.filter((o) => o !== n.name && !n.up.has(o))] as const)
    .filter(([, m]) => m.length > 0);
  return gaps.map(([n, m]) => `${n} has not seen ${m.join(", ")}`).join("; ");
}

/**
 * Start order of the nodes started here (`local`): the manager (it runs the broker) first, then the
 * loggers, so that nobody writes logs before a logger listens, then everyone else. Nodes of one phase
 * start together. Across hosts there is no order: a node waits for the broker (its `readyTimeout`).
 */
export function startPhases(file: ValidClusterFile, local: readonly string[]): string[][] {
  const { layout } = file;
  const names = Object.keys(layout.nodes).filter((n) => local.includes(n));
  const managers = names.filter((n) => layout.nodes[n]!.type === "manager");
  const loggers = names.filter((n) => !managers.includes(n) && isLogSink(layout, n));
  const rest = names.filter((n) => !managers.includes(n) && !loggers.includes(n));
  return [managers, loggers, rest].filter((p) => p.length > 0);
}

/**
 * Stop order: the writers (workers and proxies) first, then the manager, then the loggers, so that
 * logs drain into loggers that are still there. Each test picks the nodes of one phase among those
 * not stopped yet. Every launcher stops only its own host's nodes, in this order.
 */
export function stopPhases(file: ValidClusterFile): ((name: string) => boolean)[] {
  const { layout } = file;
  return [
    (n) => layout.nodes[n]!.type !== "manager" && !isLogSink(layout, n),
    (n) => layout.nodes[n]!.type === "manager",
    () => true,
  ];
}

/** Makes the environment of each node; isolated clusters get their private ipc directory on first use. */
export class NodeEnvironments {
  /** The private endpoint directory, once one was made; the launcher removes it on stop. */
  privateDir: string | undefined;
  readonly #file: ValidClusterFile;
  readonly #source: ClusterSource;
  readonly #extra: Record<string, string>;
  readonly #isolated: boolean;

  constructor(file: ValidClusterFile, source: ClusterSource, extra: Record<string, string>, isolated: boolean) {
    this.#file = file;
    this.#source = source;
    this.#extra = extra;
    this.#isolated = isolated;
  }

  /** The environment variables of node `name`, on top of the launcher's own. */
  of(name: string): Record<string, string> {
    const { layout } = this.#file;
    const node = layout.nodes[name]!;
    const env: Record<string, string> = { ...this.#extra, ...this.#file.env[name], CLUSTER_NODE: name };
    if ("path" in this.#source) env.CLUSTER_LAYOUT = this.#source.path;
    else Object.assign(env, { CLUSTER_LAYOUT_JSON: this.#source.json, CLUSTER_BASE_DIR: process.cwd() });
    if (!this.#isolated) return env;
    // Private ipc endpoints are known before anything binds, so every node, the manager included,
    // learns the broker's and every logger's endpoint up front; metrics take free ports and are
    // reported back.
    const dir = (this.privateDir ??= mkdtempSync(join(tmpdir(), "zcl-")));
    const ep = (what: string) => `ipc://${join(dir, what)}`;
    env.CLUSTER_METRICS_PORT = "0";
    Object.assign(env, {
      [envVarName("connectXpubEndpoint")]: ep("xsub"),
      [envVarName("connectXsubEndpoint")]: ep("xpub"),
    });
    if (node.type === "manager")
      Object.assign(env, {
        [envVarName("listenXsubEndpoint")]: ep("xsub"),
        [envVarName("listenXpubEndpoint")]: ep("xpub"),
      });
    const sinks = Object.keys(layout.nodes).filter((n) => isLogSink(layout, n));
    if (isLogSink(layout, name)) env[envVarName("listenLogEndpoint")] = ep(`log-${sinks.indexOf(name)}`);
    else if (sinks.length > 0) env[envVarName("connectLogEndpoints")] = sinks.map((_, i) => ep(`log-${i}`)).join(",");
    return env;
  }
}
