/**
 * @module Private: what the launcher derives from a cluster file before it spawns anything: the order
 * nodes start and stop in, and each node's environment (with private endpoints when isolated).
 */

import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { ValidClusterFile } from "./cluster-file.ts";
import { envVarName } from "./config.ts";
import { isLogSink } from "./layout.ts";

/** Where the node processes learn the cluster file from: its path, or its JSON. */
export type ClusterSource = { path: string } | { json: string };

/**
 * Start order: the manager (it runs the broker) first, then the loggers, so that nobody writes logs
 * before a logger listens, then everyone else. Nodes of one phase start together.
 */
export function startPhases(file: ValidClusterFile): string[][] {
  const { layout } = file;
  const names = Object.keys(layout.nodes);
  const managers = names.filter((n) => layout.nodes[n]!.type === "manager");
  const loggers = names.filter((n) => !managers.includes(n) && isLogSink(layout, n));
  const rest = names.filter((n) => !managers.includes(n) && !loggers.includes(n));
  return [managers, loggers, rest].filter((p) => p.length > 0);
}

/**
 * Stop order: the writers (workers and proxies) first, then the manager, then the loggers, so that
 * logs drain into loggers that are still there. Each test picks the nodes of one phase among those
 * not stopped yet.
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
