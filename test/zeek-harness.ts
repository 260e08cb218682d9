/**
 * Runs real Zeek nodes (the /opt/zeek build of ../shared/zeek) next to this library's Bun nodes.
 *
 * A {@linkcode MixedCluster} describes one cluster: which node is Zeek and which is Bun, and the
 * endpoints, all `ipc://` sockets in a fresh temp dir (no TCP port is ever fixed or shared between
 * tests). {@linkcode startZeek} runs a Zeek node of it; {@linkcode MixedCluster.bunOptions} gives a
 * Bun `ClusterNode` the same endpoints. Test files register `afterEach(stopZeekClusters)`.
 */

import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import type { ZeroMQOptions } from "../lib/config.ts";
import type { ClusterLayout, NodeType } from "../lib/layout.ts";
import type { NodeOptions } from "../lib/pubsub.ts";
import { type Child, spawnChild } from "./helpers.ts";

// The project's shared material sits next to the checkout: ../shared/zeek/install.sh.
const INSTALL_SH = process.env.ZEEK_INSTALL_SH ?? join(import.meta.dir, "..", "..", "shared", "zeek", "install.sh");
// apt-get may run on the first call; when Zeek is installed the script returns in milliseconds.
const INSTALL_TIMEOUT_MS = 180_000;

// Where install.sh puts it; used as it is when the install script is not next to this checkout.
const INSTALLED = "/opt/zeek/bin/zeek";

function findZeek(): { zeek?: string; missing: string } {
  if (!existsSync(INSTALL_SH)) {
    const ok =
      existsSync(INSTALLED) &&
      Bun.spawnSync([INSTALLED, "--version"], { stdout: "ignore", stderr: "ignore", timeout: 10_000 }).exitCode === 0;
    return ok ? { zeek: INSTALLED, missing: "" } : { missing: `${INSTALL_SH} not found and no runnable ${INSTALLED}` };
  }
  const run = Bun.spawnSync(["bash", INSTALL_SH], {
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
    timeout: INSTALL_TIMEOUT_MS,
  });
  const path = run.stdout.toString().trim().split("\n").pop() ?? "";
  if (run.exitCode === 0 && existsSync(path)) return { zeek: path, missing: "" };
  const why =
    run.stderr.toString().trim() ||
    (run.signalCode ? `killed by ${run.signalCode} after ${INSTALL_TIMEOUT_MS} ms` : `exit code ${run.exitCode}`);
  return { missing: `${INSTALL_SH} failed: ${why}` };
}

const found = findZeek();
/** The zeek binary when `install.sh` made it run (checked once per process), else undefined. */
export const ZEEK: string | undefined = found.zeek;
/** Why {@linkcode ZEEK} is undefined ("" when it is set), for skip messages. */
export const ZEEK_MISSING: string = found.missing;
// Said once per process, so a skipped Zeek test is never silent.
if (!ZEEK) console.warn(`Zeek tests are skipped: ${ZEEK_MISSING}`);

/** One node of a mixed cluster. */
export interface MixedNode {
  /** Its role (Zeek's `Cluster::NodeType`). */
  type: NodeType;
  /** Who runs it: a real Zeek process ({@linkcode startZeek}) or a Bun `ClusterNode` ({@linkcode MixedCluster.bunOptions}). */
  impl: "zeek" | "bun";
}

/** What {@linkcode mixedCluster} builds a cluster from. All nodes are on 127.0.0.1. */
export interface MixedClusterSpec {
  /** The nodes by name, in layout order. */
  nodes: Record<string, MixedNode>;
  /** The manager receives the logs (`Cluster::manager_is_logger`). @default {true when there is no logger} */
  managerIsLogger?: boolean;
  /** Who runs the XPUB/XSUB broker: the manager node (Zeek's default), or the test with `new Broker(cluster.brokerOptions())`. @default {"manager"} */
  broker?: "manager" | "external";
  /** A Zeek node terminates itself after this many seconds, should a test forget it. @default {60} */
  safetyTimeoutSec?: number;
}

/** The endpoints of a mixed cluster. */
export interface MixedEndpoints {
  /** The broker's XSUB (nodes connect their XPUB here). */
  xsub: string;
  /** The broker's XPUB (nodes connect their XSUB here). */
  xpub: string;
  /** The log PULL endpoint of each log sink (loggers, or the manager when it is the logger), by node name. */
  logs: Record<string, string>;
}

/** A cluster of Zeek and Bun nodes sharing endpoints in a temp dir; see {@linkcode mixedCluster}. */
export interface MixedCluster {
  /** The spec, with defaults filled in. */
  readonly spec: Required<MixedClusterSpec>;
  /** The temp dir: the ipc sockets, `cluster-layout.zeek`, and one working dir per node. */
  readonly dir: string;
  readonly endpoints: MixedEndpoints;
  /**
   * The layout for Bun nodes. Log sinks carry placeholder ports (1, 2, ...) because the library demands
   * a port there; they are never bound, since {@linkcode bunOptions} sets the ipc log endpoints instead.
   */
  readonly layout: ClusterLayout;
  /** Options for `new Broker(...)` when `broker` is "external". */
  brokerOptions(): ZeroMQOptions;
  /**
   * Options for `new ClusterNode(...)` (`name` and `layout` included) that make Bun node `name` join
   * with this cluster's endpoints; a log sink writes its files to its node dir. Stopping the node is
   * the test's job (e.g. create it with `makeNode` of cluster-helpers.ts).
   */
  bunOptions(name: string): NodeOptions;
  /** The Zeek script text that makes Zeek node `name` join (endpoints, proxy, logging, safety timeout). */
  zeekPreamble(name: string): string;
  /** The working dir of node `name` (created): a Zeek node runs and writes its logs there. */
  nodeDir(name: string): string;
  /** Stops its Zeek nodes (SIGTERM, then SIGKILL) and deletes {@linkcode dir} unless `ZEEK_HARNESS_KEEP` is set. */
  stop(): Promise<void>;
}

/** A running Zeek node. Its output is in `lines` (stdout and stderr). */
export interface ZeekNode extends Child {
  readonly name: string;
  /** Its working dir (its logs, e.g. `cluster.log`, land here). */
  readonly dir: string;
  /** Its node id, `zeromq_<name>_<host>_<pid>_N...`. */
  readonly id: string;
  /** Milliseconds from spawning to `zeek_init` having run (Cluster::init done). */
  readonly startMs: number;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves with how it ended once it has. */
  stop(graceMs?: number): Promise<{ code: number | null; signal: NodeJS.Signals | number | null }>;
}

const clusters = new Set<MixedCluster>();
// Every Zeek process of a cluster, from spawning on, so stop() also covers one that failed to start.
const zeekChildren = new WeakMap<MixedCluster, Child[]>();

/** SIGTERM (Zeek then flushes its logs and exits), SIGKILL after `graceMs`; resolves once it ended. */
async function stopChild(
  child: Child,
  graceMs: number,
): Promise<{ code: number | null; signal: NodeJS.Signals | number | null }> {
  const { proc } = child;
  if (proc.exitCode === null && proc.signalCode === null) {
    proc.kill("SIGTERM");
    const ended = await Promise.race([proc.exited.then(() => true), Bun.sleep(graceMs).then(() => false)]);
    if (!ended) proc.kill("SIGKILL");
  }
  await child.exited(5000);
  return { code: proc.exitCode, signal: proc.signalCode };
}

/** Stops every cluster made by {@linkcode mixedCluster}; register it with `afterEach`. */
export async function stopZeekClusters(): Promise<void> {
  await Promise.all([...clusters].map((c) => c.stop()));
}

// Zeek string literal; the paths come from mkdtemp, the escaping is only a safety net.
const zstr = (s: string): string => `"${s.replace(/[\\"]/g, (c) => `\\${c}`)}"`;

/** Builds a mixed cluster in a fresh temp dir (nothing runs yet). */
export function mixedCluster(spec: MixedClusterSpec): MixedCluster {
  const names = Object.keys(spec.nodes);
  const hasLogger = names.some((n) => spec.nodes[n]!.type === "logger");
  const full: Required<MixedClusterSpec> = {
    managerIsLogger: !hasLogger,
    broker: "manager",
    safetyTimeoutSec: 60,
    ...spec,
  };
  const sinks = names.filter(
    (n) => spec.nodes[n]!.type === "logger" || (spec.nodes[n]!.type === "manager" && full.managerIsLogger),
  );
  if (sinks.length === 0 && names.length > 1)
    throw new Error("mixedCluster: no node receives logs; add a logger or set managerIsLogger with a manager");
  if (full.broker === "manager" && !names.some((n) => spec.nodes[n]!.type === "manager"))
    throw new Error("mixedCluster: broker 'manager' needs a manager node");

  const dir = mkdtempSync(join(tmpdir(), "zeek-harness-"));
  // A unix socket path is limited to 107 bytes; fail here rather than with a bind error in Zeek.
  const longest = join(dir, `log-${sinks.reduce((a, b) => (b.length > a.length ? b : a), "")}`);
  if (longest.length > 100)
    throw new Error(`mixedCluster: ${longest} is too long for an ipc endpoint; set TMPDIR shorter`);
  const endpoints: MixedEndpoints = {
    xsub: `ipc://${join(dir, "xsub")}`,
    xpub: `ipc://${join(dir, "xpub")}`,
    logs: Object.fromEntries(sinks.map((n) => [n, `ipc://${join(dir, `log-${n}`)}`])),
  };
  const layout: ClusterLayout = {
    nodes: Object.fromEntries(
      names.map((n) => [
        n,
        { type: spec.nodes[n]!.type, ip: "127.0.0.1", ...(sinks.includes(n) ? { port: sinks.indexOf(n) + 1 } : {}) },
      ]),
    ),
    managerIsLogger: full.managerIsLogger,
  };

  // Loaded by Zeek's cluster framework through ZEEKPATH. Bun nodes are listed too: Zeek raises
  // node_up only for names in Cluster::nodes. No `$p`: main.zeek would add tcp:// log endpoints for it.
  const zeekType = (t: NodeType) => `Cluster::${t.toUpperCase()}`;
  writeFileSync(
    join(dir, "cluster-layout.zeek"),
    [
      `redef Cluster::manager_is_logger = ${full.managerIsLogger ? "T" : "F"};`,
      "redef Cluster::nodes = {",
      ...names.map((n) => `\t[${zstr(n)}] = [$node_type=${zeekType(spec.nodes[n]!.type)}, $ip=127.0.0.1],`),
      "};",
      "",
    ].join("\n"),
  );

  const node = (name: string, impl: "zeek" | "bun") => {
    const n = spec.nodes[name];
    if (!n) throw new Error(`mixedCluster: no node '${name}' (nodes: ${names.join(", ")})`);
    if (n.impl !== impl) throw new Error(`mixedCluster: node '${name}' is a ${n.impl} node`);
    return n;
  };
  const runsProxy = (name: string) => full.broker === "manager" && spec.nodes[name]!.type === "manager";
  const nodeDir = (name: string) => {
    const d = join(dir, name);
    mkdirSync(d, { recursive: true });
    return d;
  };

  const cluster: MixedCluster = {
    spec: full,
    dir,
    endpoints,
    layout,
    nodeDir,
    brokerOptions: () => ({ listenXsubEndpoint: endpoints.xsub, listenXpubEndpoint: endpoints.xpub }),
    bunOptions: (name) => {
      node(name, "bun");
      const log = endpoints.logs[name];
      return {
        name,
        layout,
        // A node's XPUB connects to the broker's XSUB, and its XSUB to the broker's XPUB.
        connectXpubEndpoint: endpoints.xsub,
        connectXsubEndpoint: endpoints.xpub,
        listenXsubEndpoint: endpoints.xsub,
        listenXpubEndpoint: endpoints.xpub,
        runProxyThread: runsProxy(name),
        ...(log
          ? { listenLogEndpoint: log, logging: { dir: nodeDir(name) } }
          : { connectLogEndpoints: Object.values(endpoints.logs) }),
      };
    },
    zeekPreamble: (name) => {
      node(name, "zeek");
      const zeromq = "Cluster::Backend::ZeroMQ";
      const log = endpoints.logs[name];
      return [
        `# Generated by test/zeek-harness.ts: node ${name} of the cluster in ${dir}.`,
        "@load frameworks/cluster/backend/zeromq",
        `redef ${zeromq}::connect_xpub_endpoint = ${zstr(endpoints.xsub)};`,
        `redef ${zeromq}::connect_xsub_endpoint = ${zstr(endpoints.xpub)};`,
        `redef ${zeromq}::listen_xsub_endpoint = ${zstr(endpoints.xsub)};`,
        `redef ${zeromq}::listen_xpub_endpoint = ${zstr(endpoints.xpub)};`,
        // options.zeek sets it to "is the manager"; an external broker needs it off.
        `redef ${zeromq}::run_proxy_thread = ${runsProxy(name) ? "T" : "F"};`,
        // Non-empty here, so main.zeek (which finds no `$p`) does not report a missing log endpoint.
        log
          ? `redef ${zeromq}::listen_log_endpoint = ${zstr(log)};`
          : `redef ${zeromq}::connect_log_endpoints = vector(${Object.values(endpoints.logs).map(zstr).join(", ")});`,
        // main.zeek also adds tcp://<ip>:0 for every log sink (a layout node's $p defaults to 0/unknown), and
        // PUSH would deal every other batch into that dead pipe: keep only the ipc endpoints (before Cluster::init).
        log
          ? ""
          : `event zeek_init() &priority=99 { local keep: vector of string = vector(); for ( _, e in ${zeromq}::connect_log_endpoints ) if ( ! ends_with(e, ":0") ) keep += e; resize(${zeromq}::connect_log_endpoints, 0); for ( _, e in keep ) ${zeromq}::connect_log_endpoints += e; }`,
        "redef exit_only_after_terminate = T;",
        // One file per log, never renamed, and no archive-log command at exit.
        "redef Log::default_rotation_interval = 0secs;",
        `redef Log::default_rotation_postprocessor_cmd = "";`,
        'event zeek_harness_timeout() { if ( zeek_is_terminating() ) return; print "zeek-harness: safety timeout"; terminate(); }',
        // Priority -100: after Cluster::init (10) and the subscriptions (-5); startZeek waits for this line.
        "event zeek_init() &priority=-100",
        `\t{ print fmt("zeek-harness: up %s %s", Cluster::node, Cluster::node_id()); schedule ${full.safetyTimeoutSec}sec { zeek_harness_timeout() }; }`,
        "",
      ].join("\n");
    },
    stop: async () => {
      clusters.delete(cluster);
      await Promise.all((zeekChildren.get(cluster) ?? []).map((z) => stopChild(z, 3000)));
      if (!process.env.ZEEK_HARNESS_KEEP) rmSync(dir, { recursive: true, force: true });
    },
  };
  clusters.add(cluster);
  zeekChildren.set(cluster, []);
  return cluster;
}

let zeekPath: string | undefined;
/** Zeek's default script path plus the dirs given (as smoke/run.sh does). */
function zeekPathWith(extra: string): string {
  if (!zeekPath) {
    const config = Bun.spawnSync([join(dirname(ZEEK!), "zeek-config"), "--zeekpath"], {
      stdout: "pipe",
      stderr: "ignore",
      timeout: 5000,
    });
    const root = join(dirname(ZEEK!), "..", "share", "zeek");
    zeekPath =
      config.exitCode === 0
        ? config.stdout.toString().trim()
        : [".", root, `${root}/policy`, `${root}/site`, `${root}/builtin-plugins`].join(":");
  }
  return `${zeekPath}:${extra}`;
}

/** Options of {@linkcode startZeek}. */
export interface StartZeekOptions {
  /** How long to wait for the node's `zeek_init` to have run, in ms. @default {15000} */
  timeoutMs?: number;
  /** Extra environment variables for the Zeek process. */
  env?: Record<string, string>;
}

/**
 * Runs Zeek node `name` of `cluster`: `zeek -b` on the {@linkcode MixedCluster.zeekPreamble} followed by
 * `script`, with `CLUSTER_NODE=name`, in the node's working dir. Resolves once its `zeek_init` ran;
 * rejects with its output if it exits or times out first. The global afterEach kills it by pid; the
 * cluster's `stop()` stops it gently first.
 */
export async function startZeek(
  name: string,
  script: string,
  cluster: MixedCluster,
  options: StartZeekOptions = {},
): Promise<ZeekNode> {
  if (!ZEEK) throw new Error(`Zeek is not available: ${ZEEK_MISSING}`);
  const dir = cluster.nodeDir(name);
  const file = join(dir, `${name}.zeek`);
  writeFileSync(file, `${cluster.zeekPreamble(name)}\n${script}\n`);
  const began = performance.now();
  // `env -C` sets the working dir (spawnChild has no cwd) and `stdbuf -oL` makes Zeek's `print`
  // output line-buffered (else a pipe gets it only at exit); both exec, so the pid stays Zeek's.
  const child = spawnChild(["env", "-C", dir, "stdbuf", "-oL", ZEEK, "-b", file], {
    CLUSTER_NODE: name,
    ZEEKPATH: zeekPathWith(cluster.dir),
    // Zeek otherwise collects doc comments of every script it parses: about 40 ms per start.
    ZEEK_DISABLE_ZEEKYGEN: "1",
    ...options.env,
  });
  zeekChildren.get(cluster)?.push(child);
  const exited = child.proc.exited.then((code) => {
    throw new Error(`Zeek node ${name} exited (${code}) before it was up:\n${child.lines.join("\n")}`);
  });
  exited.catch(() => {}); // only the race below reports it
  const up = await Promise.race([
    child.waitForLine(/^zeek-harness: up \S+ (\S+)$/, options.timeoutMs ?? 15_000),
    exited,
  ]);
  const startMs = performance.now() - began;
  return Object.assign(child, { name, dir, id: up[1]!, startMs, stop: (graceMs = 3000) => stopChild(child, graceMs) });
}
