/**
 * @module The cluster launcher: one Bun process per node of a cluster file (or per node of one host
 * of it, with `host`). It starts the manager (which runs the broker) first, then the loggers, then
 * everyone else; reports "ready" once every node it started has seen node_up for every other node of
 * the cluster; notices a node that dies (and restarts it if asked); and stops writers first, then the
 * manager, then the loggers, with SIGTERM and, after a grace period, SIGKILL.
 * Every child is killed by its own pid, and children exit by themselves should the launcher die.
 */

import { rmSync } from "node:fs";
import { resolve } from "node:path";
import type { Subprocess } from "bun";
import { deadline, within } from "./_deadline.ts";
import {
  type LaunchOptions,
  type NodeDeath,
  type ResolvedLaunchOptions,
  resolveLaunchOptions,
} from "./_launch-options.ts";
import {
  type ClusterSource,
  missingPeers,
  NodeEnvironments,
  nodesOnHost,
  startPhases,
  stopPhases,
} from "./_launch-plan.ts";
import { nodeCommand } from "./_node-command.ts";
import { pipeNodeOutput } from "./_node-output.ts";
import { type NodeStatus, nextSample, nodeStatus, type StatsSample } from "./_node-status.ts";
import { type ClusterFile, loadClusterFile, type ValidClusterFile, validateClusterFile } from "./cluster-file.ts";
import { ClusterError } from "./errors.ts";
import type { NodeType } from "./layout.ts";
import type { NodeReport } from "./runtime.ts";

export type { LaunchOptions, NodeDeath, RestartPolicy } from "./_launch-options.ts";
export type { NodeOutput } from "./_node-output.ts";
export type { NodeRunState, NodeStatus } from "./_node-status.ts";
export type { ClusterFile, ClusterFileNode, ClusterOptions, ValidClusterFile } from "./cluster-file.ts";
// zeek-zmq-cluster/launcher: running clusters of node processes from cluster files.
export { defineCluster, loadClusterFile, validateClusterFile } from "./cluster-file.ts";
export type { NodeReport, RunNodeOptions } from "./runtime.ts";
export { clusterFromEnv, runNode } from "./runtime.ts";

/** A node process as the launcher sees it. */
export interface NodeProcess {
  readonly name: string;
  readonly type: NodeType;
  /** The current process. */
  proc: Subprocess<"ignore", "pipe", "pipe">;
  /** The node's id, once it started. */
  id: string | undefined;
  /** Where it serves metrics, once it started (if it does). */
  metricsUrl: string | undefined;
  /** The other nodes it has seen node_up for. */
  up: Set<string>;
  /** How often it was started again. */
  restarts: number;
  /** When (ms since the epoch) it first saw every other node since its process started. */
  upSince: number | undefined;
  /** Its last stats report (`runNode()` sends one a second) and the rates since the one before. */
  stats: StatsSample | undefined;
  /** Whether its process ended and the launcher starts it again. */
  restarting: boolean;
}

type StartedReport = Extract<NodeReport, { type: "started" }>;
const running = (proc: Subprocess) => proc.exitCode === null && proc.signalCode === null;

/**
 * A running cluster of node processes.
 *
 * @example A crashed worker is started again
 * ```ts
 * import { Cluster } from "./launcher.ts";
 *
 * const restarted = Promise.withResolvers<string>();
 * const cluster = await Cluster.launch({
 *   nodes: { manager: { type: "manager", ip: "127.0.0.1", port: 27762 }, "worker-1": { type: "worker", ip: "127.0.0.1" } },
 * }, {
 *   isolated: true, // private ipc endpoints and free metrics ports instead of the file's
 *   output: "silent",
 *   restart: "on-failure",
 *   onRestarted: (name, restarts) => restarted.resolve(`${name} is back (restart ${restarts})`),
 * });
 * console.log(await cluster.ready() > 0); // true: the ms until every node had seen every other
 * cluster.kill("worker-1", "SIGKILL"); // SIGTERM would be a clean exit, which on-failure does not restart
 * console.log(await restarted.promise); // "worker-1 is back (restart 1)"
 * await cluster.stop();
 * ```
 */
export class Cluster {
  /** The checked cluster file. */
  readonly file: ValidClusterFile;
  /** The nodes this launcher runs (all of the file's, or those of its `host`), in layout order. */
  readonly local: readonly string[];
  readonly #o: ResolvedLaunchOptions;
  readonly #environments: NodeEnvironments;
  readonly #nodes = new Map<string, NodeProcess>();
  readonly #waiting = new Map<string, PromiseWithResolvers<StartedReport>>();
  readonly #env = new Map<string, Record<string, string>>();
  readonly #launchedAt = performance.now();
  readonly #deaths: NodeDeath[] = [];
  readonly #replacing = new WeakSet<NodeProcess>(); // stopped on purpose by restart(): no death
  readonly #restartsUnderWay = new Map<string, Promise<NodeProcess>>();
  #ready = Promise.withResolvers<number>();
  #stopping: Promise<void> | undefined;
  #failed = false;

  private constructor(file: ValidClusterFile, source: ClusterSource, options: LaunchOptions, local: string[]) {
    this.file = file;
    this.local = local;
    this.#o = resolveLaunchOptions(options);
    this.#environments = new NodeEnvironments(file, source, this.#o.env, this.#o.isolated);
    this.#ready.promise.catch(() => undefined);
  }

  /**
   * Starts every node of a cluster file (a path, or a definition whose paths are relative to the
   * current directory), or those of `options.host`, and resolves once all these processes are up;
   * await {@linkcode ready} for node_up everywhere. On a start-up failure everything started so far
   * is stopped again.
   */
  static async launch(source: string | ClusterFile, options: LaunchOptions = {}): Promise<Cluster> {
    const file =
      typeof source === "string" ? await loadClusterFile(source) : validateClusterFile(source, process.cwd());
    const cluster = new Cluster(
      file,
      typeof source === "string" ? { path: resolve(source) } : { json: JSON.stringify(source) },
      options,
      await nodesOnHost(file, options.host),
    );
    process.once("exit", () => cluster.#killAll("SIGKILL"));
    try {
      for (const phase of startPhases(file, cluster.local))
        await Promise.all(phase.map((name) => cluster.#startNode(name)));
    } catch (err) {
      await cluster.stop();
      throw err;
    }
    cluster.#checkReady();
    return cluster;
  }

  /** The node processes by name. */
  get nodes(): ReadonlyMap<string, NodeProcess> {
    return this.#nodes;
  }

  /** Nodes that ended while the cluster ran. */
  get deaths(): readonly NodeDeath[] {
    return this.#deaths;
  }

  /** Whether {@linkcode stop} was called (the nodes may still be stopping). */
  get stopping(): boolean {
    return this.#stopping !== undefined;
  }

  /** Whether a node failed (a non-zero exit or a signal) and was not restarted; the cluster then stops by itself. A node that exits cleanly is recorded in {@linkcode deaths} but fails nothing. */
  get failed(): boolean {
    return this.#failed;
  }

  /**
   * Resolves with the ms from launch until every node had seen node_up for every other: with `host`,
   * until every node started here had seen every node of the cluster, on every host.
   */
  ready(): Promise<number> {
    const ms = this.#o.readyTimeout;
    // The error is made when the time runs out, so that it names the nodes still missing then.
    const notReady = () =>
      new ClusterError("CLUSTER_NOT_READY", `Cluster not ready after ${ms} ms: ${this.#missing()}`);
    return deadline(this.#ready.promise, ms, notReady);
  }

  /** Sends a signal to one node's process (by its pid). */
  kill(name: string, signal: NodeJS.Signals = "SIGTERM"): void {
    const node = this.#nodes.get(name);
    if (!node) throw new RangeError(`Unknown node '${name}'`);
    node.proc.kill(signal);
  }

  /**
   * Restarts one node: SIGTERM (SIGKILL after the grace period), then a new process with the same
   * endpoints; resolves once it has started. The others see node_down, then node_up.
   *
   * @throws {RangeError} an unknown node. @throws {ClusterError} `CLUSTER_STOPPED`, or the new process's start failure.
   */
  restart(name: string): Promise<NodeProcess> {
    // One restart of a node at a time: a second request while one is under way gets its result.
    const underWay =
      this.#restartsUnderWay.get(name) ?? this.#restart(name).finally(() => this.#restartsUnderWay.delete(name));
    this.#restartsUnderWay.set(name, underWay);
    return underWay;
  }

  async #restart(name: string): Promise<NodeProcess> {
    const node = this.#nodes.get(name);
    if (!node) throw new RangeError(`Unknown node '${name}': the cluster has ${[...this.#nodes.keys()].join(", ")}`);
    if (this.#stopping) throw new ClusterError("CLUSTER_STOPPED", `Cannot restart '${name}': the cluster is stopping`);
    this.#replacing.add(node);
    node.restarting = true;
    node.proc.kill("SIGTERM");
    if (!(await within(node.proc.exited, this.#o.graceMs))) node.proc.kill("SIGKILL");
    await node.proc.exited;
    if (this.#stopping) throw new ClusterError("CLUSTER_STOPPED", `Cannot restart '${name}': the cluster is stopping`);
    if (this.#nodes.get(name) !== node) return this.#nodes.get(name)!; // the restart policy was quicker
    await this.#startNode(name);
    return this.#nodes.get(name)!;
  }

  /** Each node's state, pid, restarts, rates, drops and RSS, in layout order (what `cluster status` shows). */
  status(): NodeStatus[] {
    const all = Object.keys(this.file.layout.nodes);
    return [...this.#nodes.values()].map((node) => nodeStatus(node, all));
  }

  async #startNode(name: string): Promise<void> {
    const env = this.#env.get(name) ?? this.#environments.of(name);
    this.#env.set(name, env); // a restart gets the same endpoints
    const started = Promise.withResolvers<StartedReport>();
    this.#waiting.set(name, started);
    const command = nodeCommand(this.file.scripts[name]); // `bun --no-orphans`, or the single executable
    const proc = Bun.spawn(command.cmd, {
      env: { ...process.env, ...env, ...command.env },
      stdin: "ignore",
      stdout: "pipe",
      stderr: "pipe",
      detached: true, // its own process group: a terminal's Ctrl-C reaches the launcher, which stops nodes in order
      serialization: "json",
      ipc: (message: NodeReport) => this.#onReport(name, message),
    });
    const previous = this.#nodes.get(name);
    const node: NodeProcess = {
      name,
      type: this.file.layout.nodes[name]!.type,
      proc,
      id: undefined,
      metricsUrl: undefined,
      up: new Set(),
      restarts: previous ? previous.restarts + 1 : 0,
      upSince: undefined,
      stats: undefined,
      restarting: false,
    };
    this.#nodes.set(name, node);
    const names = Object.keys(this.file.layout.nodes);
    for (const stream of [proc.stdout, proc.stderr]) pipeNodeOutput(stream, name, names, this.#o.output, this.#o.color);
    proc.exited.then(() => this.#onExit(node));
    const ms = this.#o.readyTimeout;
    const notStarted = () => new ClusterError("NODE_START_TIMEOUT", `Node '${name}' did not start within ${ms} ms`);
    await deadline(started.promise, ms, notStarted);
  }

  #onReport(name: string, message: NodeReport): void {
    const node = this.#nodes.get(name);
    if (!node) return;
    if (message.type === "started") {
      node.id = message.id;
      node.metricsUrl = message.metricsUrl;
      this.#waiting.get(name)?.resolve(message);
      if (node.restarts > 0) this.#o.onRestarted(name, node.restarts);
    } else if (message.type === "peers") {
      node.up = new Set(message.up);
      if (node.up.size === Object.keys(this.file.layout.nodes).length - 1) node.upSince ??= Date.now();
      this.#checkReady();
    } else if (message.type === "stats") node.stats = nextSample(node.stats, message, performance.now());
    // Why it could not start, in one line (the process exits next; this rejection wins over its exit's).
    else if (message.type === "failed")
      this.#waiting
        .get(name)
        ?.reject(new ClusterError("NODE_FAILED", `Node '${name}' could not start: ${message.message}`));
  }

  #missing(): string {
    return missingPeers(Object.keys(this.file.layout.nodes), this.#nodes.values()) || "all nodes up";
  }

  #checkReady(): void {
    if (
      this.#nodes.size === this.local.length &&
      !missingPeers(Object.keys(this.file.layout.nodes), this.#nodes.values())
    )
      this.#ready.resolve(Math.round(performance.now() - this.#launchedAt));
  }

  #onExit(node: NodeProcess): void {
    if (this.#stopping || this.#nodes.get(node.name) !== node || this.#replacing.has(node)) return;
    const { exitCode: code, signalCode } = node.proc;
    const signal = signalCode === null ? null : String(signalCode);
    if (!node.id) {
      // It never got as far as starting: that is a broken node script or configuration, not a crash.
      const how = signal ? `signal ${signal}` : `exit code ${code}`;
      return this.#waiting
        .get(node.name)
        ?.reject(
          new ClusterError("NODE_FAILED", `Node '${node.name}' exited while starting (${how}); its output says why`),
        );
    }
    const failure = code !== 0 || signal !== null;
    const restarting = this.#o.restart === "always" || (this.#o.restart === "on-failure" && failure);
    const death = { name: node.name, code, signal, restarting };
    node.restarting = restarting;
    this.#deaths.push(death);
    this.#o.onDeath(death);
    for (const other of this.#nodes.values()) other.up.delete(node.name);
    if (restarting) {
      const delay = Math.min(5000, 200 * 2 ** Math.min(node.restarts, 5));
      const restartFailed = (err: Error) => {
        if (this.#stopping) return;
        // A node that cannot even start again is broken, not unlucky: stop rather than run without it.
        console.error(`cluster: restarting ${node.name} failed: ${err.message}`);
        this.#failed = true;
        this.stop();
      };
      const again = () => !this.#stopping && this.#nodes.get(node.name) === node; // not restarted by restart() meanwhile
      setTimeout(() => again() && this.#startNode(node.name).catch(restartFailed), delay);
      return;
    }
    if (failure) {
      this.#failed = true;
      this.stop();
    } else if (![...this.#nodes.values()].some((n) => running(n.proc))) {
      // A clean exit (someone stopped that node on purpose) is no failure; the cluster ends with the last one.
      this.stop();
    }
  }

  #killAll(signal: NodeJS.Signals): void {
    for (const node of this.#nodes.values()) if (running(node.proc)) node.proc.kill(signal);
  }

  /**
   * Stops the cluster (its nodes on this host): workers and proxies first, then the manager, then the
   * loggers, so logs drain. Each gets SIGTERM and, after the grace period, SIGKILL. Idempotent.
   */
  stop(): Promise<void> {
    this.#stopping ??= (async () => {
      this.#ready.reject(new ClusterError("CLUSTER_STOPPED", "The cluster was stopped"));
      // Nodes still starting (a restart under way) will not report any more; stop waiting for them.
      for (const [name, waiting] of this.#waiting)
        waiting.reject(new ClusterError("CLUSTER_STOPPED", `The cluster was stopped while '${name}' was starting`));
      const done = new Set<string>();
      for (const inPhase of stopPhases(this.file)) {
        const phase = [...this.#nodes.values()].filter((n) => !done.has(n.name) && inPhase(n.name));
        for (const n of phase) done.add(n.name);
        for (const n of phase) if (running(n.proc)) n.proc.kill("SIGTERM");
        const exited = Promise.all(phase.map((n) => n.proc.exited));
        if (!(await within(exited, this.#o.graceMs))) {
          for (const n of phase) if (running(n.proc)) n.proc.kill("SIGKILL");
          await exited;
        }
      }
      const dir = this.#environments.privateDir;
      if (dir) rmSync(dir, { recursive: true, force: true });
    })();
    return this.#stopping;
  }
}

/**
 * Launches a cluster, waits until it is ready, runs `fn`, and stops the cluster again, also when `fn`
 * throws: every child process is gone when this returns.
 *
 * @example Scraping the manager's metrics from a throwaway cluster
 * ```ts
 * import { withCluster } from "zeek-zmq-cluster/launcher";
 *
 * const cluster = { nodes: { manager: { type: "manager", ip: "127.0.0.1", port: 27762 }, "worker-1": { type: "worker", ip: "127.0.0.1" } } } as const;
 * const text = await withCluster(cluster, async ({ nodes }) => {
 *   const res = await fetch(new URL("/metrics", nodes.get("manager")!.metricsUrl));
 *   return await res.text();
 * }, { isolated: true, output: "silent" });
 * console.log(text.match(/^zeek_cluster_nodes_up\{.*$/m)?.[0]); // 'zeek_cluster_nodes_up{node="manager"} 1'
 * ```
 */
export async function withCluster<T>(
  source: string | ClusterFile,
  fn: (cluster: Cluster) => Promise<T>,
  options: LaunchOptions = {},
): Promise<T> {
  const cluster = await Cluster.launch(source, options);
  try {
    await cluster.ready();
    return await fn(cluster);
  } finally {
    await cluster.stop();
  }
}
