/**
 * @module The node runtime: what a node script calls to become its node of a cluster. The launcher
 * starts each node process with `CLUSTER_NODE` (its name, as in Zeek) and `CLUSTER_LAYOUT` (the cluster
 * file; `CLUSTER_LOG_DIR` and `CLUSTER_METRICS_PORT` may override where logs go and metrics are
 * served); `runNode()` reads them and returns a started node with its log writer and metrics server
 * (on the node's layout ip, so that it can be scraped from other hosts), stops it on SIGTERM or
 * SIGINT, and reports to the launcher over IPC (started, the peers it sees, and its stats each second).
 */

import { type StatsReport, statsReport } from "./_node-status.ts";
import { type ClusterFile, loadClusterFile, type ValidClusterFile, validateClusterFile } from "./cluster-file.ts";
import { ClusterError } from "./errors.ts";
import { ClusterNode, type NodeOptions } from "./pubsub.ts";
import { EVENTS } from "./topics.ts";

/** What a node process reports to its launcher. */
export type NodeReport =
  | {
      type: "started";
      name: string;
      id: string;
      broker?: { xsub: string; xpub: string };
      logEndpoint?: string;
      metricsUrl?: string;
    }
  | { type: "peers"; name: string; up: string[] }
  | { type: "failed"; name: string; message: string; code?: string }
  | StatsReport;

/** Options of {@linkcode runNode}: anything a {@linkcode ClusterNode} takes, all optional. */
export interface RunNodeOptions extends Partial<NodeOptions> {
  /** Where the cluster file is. @default {process.env.CLUSTER_LAYOUT} */
  clusterFile?: string;
  /** Exit the process once the node stopped after a signal. @default {true} */
  exitOnStop?: boolean;
}

/**
 * Reads the cluster definition this process was started with.
 *
 * @example A node script that looks at the layout before it joins
 * ```ts no-run
 * import { clusterFromEnv } from "./runtime.ts";
 *
 * const { layout } = await clusterFromEnv(); // the launcher passed it in CLUSTER_LAYOUT
 * const workers = Object.keys(layout.nodes).filter((name) => layout.nodes[name]!.type === "worker");
 * console.log(`sharding across ${workers.length} workers`);
 * ```
 */
export async function clusterFromEnv(path: string | undefined = process.env.CLUSTER_LAYOUT): Promise<ValidClusterFile> {
  const json = process.env.CLUSTER_LAYOUT_JSON;
  if (json) return validateClusterFile(JSON.parse(json) as ClusterFile, process.env.CLUSTER_BASE_DIR ?? process.cwd());
  if (!path)
    throw new ClusterError(
      "NO_CLUSTER_FILE",
      "No cluster file: set CLUSTER_LAYOUT (the launcher does) or pass clusterFile",
    );
  return loadClusterFile(path);
}

/**
 * Creates this process's node from its cluster file, lets `setup` register handlers, starts it, and
 * returns it. The node stops cleanly on SIGTERM or SIGINT.
 *
 * @example A worker script
 * ```ts no-run
 * import { runNode } from "zeek-zmq-cluster";
 *
 * const node = await runNode((node) => {
 *   node.on("pong", (n: number) => console.log("pong", n));
 * });
 * setInterval(() => node.publish("zeek.cluster.manager", "ping", [Date.now()]), 1000);
 * ```
 *
 * @throws {ClusterError} `NO_NODE_NAME` without `CLUSTER_NODE` or a `name`; start-up errors of the node.
 */
export async function runNode(
  setup?: (node: ClusterNode) => void | Promise<void>,
  options: RunNodeOptions = {},
): Promise<ClusterNode> {
  const { clusterFile, exitOnStop = true, ...nodeOptions } = options;
  const name = nodeOptions.name ?? process.env.CLUSTER_NODE;
  if (!name)
    throw new ClusterError("NO_NODE_NAME", "No node name: set CLUSTER_NODE (the launcher does) or pass a name");
  const cluster = await clusterFromEnv(clusterFile);
  const envPort = process.env.CLUSTER_METRICS_PORT;
  const metricsPort = envPort !== undefined ? Number(envPort) : cluster.layout.nodes[name]?.metricsPort;
  // Served on the node's own ip, where a Prometheus on another host of the cluster can reach it.
  const hostname = cluster.layout.nodes[name]?.ip ?? "127.0.0.1";
  const node = new ClusterNode({
    ...cluster.options,
    logging: { ...cluster.logging, ...(process.env.CLUSTER_LOG_DIR ? { dir: process.env.CLUSTER_LOG_DIR } : {}) },
    ...(metricsPort === undefined ? {} : { metrics: { port: metricsPort, hostname } }),
    ...nodeOptions,
    name,
    layout: cluster.layout,
  });
  const report = (message: NodeReport) => process.send?.(message);
  const peers = () => report({ type: "peers", name, up: [...(node.discovery?.up.keys() ?? [])] });
  node.on(EVENTS.nodeUp, peers);
  node.on(EVENTS.nodeDown, peers);
  await setup?.(node);
  const stop = async () => {
    await node.stop();
    if (exitOnStop) process.exit(0);
  };
  process.once("SIGTERM", stop);
  process.once("SIGINT", stop);
  try {
    await node.start();
  } catch (err: unknown) {
    if (!process.send) throw err;
    // Under a launcher, why the node could not start (a port in use …) becomes one line of the
    // launcher's error, not a stack trace in the node's output.
    const { message, code } = err as Error & { code?: string };
    report({ type: "failed", name, message, ...(typeof code === "string" ? { code } : {}) });
    process.exit(1);
  }
  report({
    type: "started",
    name,
    id: node.id,
    ...(node.broker?.endpoints ? { broker: node.broker.endpoints } : {}),
    ...(node.logEndpoint ? { logEndpoint: node.logEndpoint } : {}),
    ...(node.metrics.url ? { metricsUrl: node.metrics.url } : {}),
  });
  peers();
  // About once a second, what `cluster status` shows: event totals, drops, RSS. Not while stopping.
  const stats = setInterval(() => node.state === "running" && report(statsReport(name, node.stats())), 1000);
  stats.unref();
  node.on(EVENTS.zeekDone, () => clearInterval(stats));
  return node;
}
