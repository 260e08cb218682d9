/**
 * @module Cluster files: a Zeek-style layout (nodes by name with type, ip, log port, metrics port) plus
 * what a launcher needs to run it: the script each node runs (per node or per type), extra
 * environment, and options shared by every node. JSON, or a TS/JS module exporting it.
 */

import { existsSync } from "node:fs";
import { dirname, isAbsolute, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { checkOptionGroups } from "./_config-rules.ts";
import { invalid } from "./_invalid.ts";
import { findJsonSyntaxError } from "./_json-syntax.ts";
import type { LogFilesOptions } from "./_logfiles.ts";
import { didYouMean } from "./_suggest.ts";
import { resolveConfig, type ZeroMQOptions } from "./config.ts";
import {
  type ClusterLayout,
  type LayoutNode,
  NODE_TYPES,
  type NodeType,
  type ValidLayout,
  validateLayout,
} from "./layout.ts";
import { getFormat } from "./serializer.ts";

/** A node of a cluster file: a layout node, plus its script and environment. */
export interface ClusterFileNode extends LayoutNode {
  /** The script this node runs, relative to the cluster file. @default {the type's script, else a plain node} */
  script?: string;
  /** Extra environment variables for this node's process. @default {{}} */
  env?: Record<string, string>;
  /**
   * The name of the machine the node runs on, for `cluster up --host <name>` (which also matches `ip`,
   * and a name that resolves to `ip`). @default {none: the node is matched by its ip}
   */
  host?: string;
}

const LOG_SERIALIZERS: readonly string[] = ["zeek-bin-serializer", "msgpack-log-v1"];

/** Options for every node of a cluster file: Zeek's options, and Zeek's `Cluster::event_serializer` and `Cluster::log_serializer`. */
export interface ClusterOptions extends ZeroMQOptions {
  /** The format nodes publish events in. @default {"broker-bin-v1"} */
  eventSerializer?: string;
  /** The format nodes send log batches in. @default {"zeek-bin-serializer"} */
  logSerializer?: string;
}

/** A cluster file. */
export interface ClusterFile {
  /** The JSON Schema editors check the file against (`node_modules/zeek-zmq-cluster/schema/cluster.schema.json`); ignored here. */
  $schema?: string;
  /** The nodes, by name. */
  nodes: Record<string, ClusterFileNode>;
  /** The manager receives the logs (Zeek's `Cluster::manager_is_logger`). @default {true when there is no logger} */
  managerIsLogger?: boolean;
  /** The script of every node of a type, relative to the cluster file. @default {{}} */
  scripts?: Partial<Record<NodeType, string>>;
  /** Extra environment variables for every node. @default {{}} */
  env?: Record<string, string>;
  /** Zeek's options for every node (endpoints, HWMs, policies, the event and log serializers …). @default {{}} */
  options?: ClusterOptions;
  /** Where and how loggers write files; `dir` is relative to the cluster file. @default {{ dir: "logs" }} */
  logging?: LogFilesOptions;
}

/** A checked cluster file, with scripts resolved to absolute paths. */
export interface ValidClusterFile {
  /** The layout part. */
  layout: ValidLayout;
  /** Each node's script (absolute), or undefined for a plain node. */
  scripts: Readonly<Record<string, string | undefined>>;
  /** Each node's environment: the file's `env`, then the node's. */
  env: Readonly<Record<string, Readonly<Record<string, string>>>>;
  /** Each node's `host` name, where the file gives one. */
  hosts: Readonly<Record<string, string | undefined>>;
  /** Options for every node. */
  options: ClusterOptions;
  /** Log file options, `dir` absolute. */
  logging: LogFilesOptions;
  /** The definition as given (for passing on to nodes). */
  source: ClusterFile;
}

/**
 * Types a cluster definition in a TS module (`export default defineCluster({ … })`).
 *
 * @example A cluster.ts whose workers run their own script
 * ```ts
 * import { defineCluster } from "./cluster-file.ts";
 *
 * export default defineCluster({
 *   nodes: {
 *     manager: { type: "manager", ip: "127.0.0.1", metricsPort: 9991 },
 *     logger: { type: "logger", ip: "127.0.0.1", port: 27762 },
 *     "worker-1": { type: "worker", ip: "127.0.0.1" },
 *   },
 *   scripts: { worker: "./worker.ts" },
 * });
 * ```
 */
export function defineCluster(file: ClusterFile): ClusterFile {
  return file;
}

// A cluster file is JSON (or what a module exports in its place): values are shown as JSON.
const AS_JSON = { json: true };

function checkEnv(what: string, env: unknown): Record<string, string> {
  if (env === undefined) return {};
  if (typeof env !== "object" || env === null || Array.isArray(env)) {
    throw invalid(TypeError, `cluster file: ${what}`, "an object of strings", env, AS_JSON);
  }
  for (const [k, v] of Object.entries(env)) {
    if (typeof v !== "string") throw invalid(TypeError, `cluster file: ${what}.${k}`, "a string", v, AS_JSON);
  }
  return env as Record<string, string>;
}

// "$schema" names the JSON Schema an editor checks the file against; the launcher ignores it.
const TOP_FIELDS = new Set(["$schema", "nodes", "managerIsLogger", "scripts", "env", "options", "logging"]);

/**
 * Checks a cluster file and resolves its paths against `baseDir`.
 *
 * @example Paths end up relative to the cluster file, not to the current directory
 * ```ts
 * import { validateClusterFile } from "./cluster-file.ts";
 *
 * const cluster = validateClusterFile({
 *   nodes: { manager: { type: "manager", ip: "127.0.0.1", port: 27762 }, "worker-1": { type: "worker", ip: "127.0.0.1" } },
 *   logging: { dir: "logs", format: "tsv" },
 * }, "/srv/cluster");
 * console.log(cluster.logging.dir); // "/srv/cluster/logs"
 * ```
 *
 * @throws {TypeError} a field of the wrong type or an unknown field, naming the node and the field.
 * @throws {RangeError} a bad value (unknown node type, bad port, missing script file …).
 */
export function validateClusterFile(file: ClusterFile, baseDir: string): ValidClusterFile {
  if (typeof file !== "object" || file === null) {
    throw invalid(TypeError, "cluster file: the file", "an object", file, AS_JSON);
  }
  for (const key of Object.keys(file))
    if (!TOP_FIELDS.has(key))
      throw new TypeError(`Invalid cluster file: unknown field '${key}'${didYouMean(key, [...TOP_FIELDS])}`);
  const nodes: Record<string, LayoutNode> = {};
  const scripts: Record<string, string | undefined> = {};
  const env: Record<string, Record<string, string>> = {};
  const hosts: Record<string, string | undefined> = {};
  const typeScripts = file.scripts ?? {};
  if (typeof typeScripts !== "object" || typeScripts === null) {
    throw invalid(TypeError, "cluster file: scripts", "an object of scripts by node type", typeScripts, AS_JSON);
  }
  for (const [type, script] of Object.entries(typeScripts)) {
    const at = `cluster file: scripts.${type}`;
    if (!NODE_TYPES.includes(type as NodeType)) throw invalid(RangeError, at, NODE_TYPES.join(" | "), type, AS_JSON);
    if (typeof script !== "string") throw invalid(TypeError, at, "a file path", script, AS_JSON);
  }
  const shared = checkEnv("env", file.env);
  if (typeof file.nodes !== "object" || file.nodes === null) {
    throw invalid(TypeError, "cluster file: nodes", "an object of nodes by name", file.nodes, AS_JSON);
  }
  for (const [name, node] of Object.entries(file.nodes)) {
    const at = `cluster file: nodes["${name}"]`;
    if (typeof node !== "object" || node === null) throw invalid(TypeError, at, "an object", node, AS_JSON);
    const { script, env: nodeEnv, host, ...layoutNode } = node;
    nodes[name] = layoutNode;
    if (host !== undefined && (typeof host !== "string" || !/^[^\s\0-\x1f]+$/.test(host)))
      throw invalid(typeof host === "string" ? RangeError : TypeError, `${at}.host`, "a host name", host, AS_JSON);
    hosts[name] = host;
    const chosen = script ?? typeScripts[node.type];
    if (chosen !== undefined) {
      if (typeof chosen !== "string") throw invalid(TypeError, `${at}.script`, "a file path", chosen, AS_JSON);
      const path = isAbsolute(chosen) ? chosen : resolve(baseDir, chosen);
      if (!existsSync(path)) throw invalid(RangeError, `${at}.script`, "an existing file", path, AS_JSON);
      scripts[name] = path;
    }
    env[name] = { ...shared, ...checkEnv(`nodes["${name}"].env`, nodeEnv) };
  }
  const layout = validateLayout({
    nodes,
    ...(file.managerIsLogger === undefined ? {} : { managerIsLogger: file.managerIsLogger }),
  } as ClusterLayout);
  try {
    // Checked here so a bad option fails the launch, not every node.
    const { eventSerializer, logSerializer, ...zeromq } = file.options ?? {};
    if (eventSerializer !== undefined && !getFormat(eventSerializer))
      throw new RangeError(`option 'eventSerializer': no format named '${eventSerializer}'`);
    if (logSerializer !== undefined && !LOG_SERIALIZERS.includes(logSerializer))
      throw new RangeError(`option 'logSerializer': expected ${LOG_SERIALIZERS.join(" or ")}, got '${logSerializer}'`);
    resolveConfig(zeromq, {});
  } catch (err: unknown) {
    throw new (err instanceof RangeError ? RangeError : TypeError)(
      `Invalid cluster file: options: ${(err as Error).message}`,
    );
  }
  if (file.logging !== undefined && (typeof file.logging !== "object" || file.logging === null)) {
    throw invalid(TypeError, "cluster file: logging", "an object", file.logging, AS_JSON);
  }
  checkOptionGroups(file.logging, undefined); // a typo in a key is refused here, before any node starts
  const logging = { ...file.logging };
  logging.dir = resolve(baseDir, logging.dir ?? "logs");
  return { layout, scripts, env, hosts, options: file.options ?? {}, logging, source: file };
}

/** A JSON syntax error as `file:line:column: what was expected` (editors jump there), with the usual cause. */
function jsonError(path: string, text: string, err: unknown): TypeError {
  const at = findJsonSyntaxError(text);
  if (!at) return new TypeError(`Invalid cluster file: ${path} is not valid JSON: ${(err as Error).message}`);
  const rest = text.slice(at.offset);
  const hint =
    rest.startsWith("//") || rest.startsWith("/*")
      ? " (JSON has no comments: use a .ts cluster file for them)"
      : /^[}\]]/.test(rest) && text.slice(0, at.offset).trimEnd().endsWith(",")
        ? " (a trailing comma: JSON allows none after the last item)"
        : "";
  return new TypeError(`Invalid cluster file: ${path}:${at.line}:${at.column}: not valid JSON: ${at.reason}${hint}`);
}

/**
 * Loads a cluster file: JSON, or a module whose default export (or `cluster` export) is the definition.
 *
 * @example A JSON cluster file with no logger
 * ```ts
 * import { tmpdir } from "node:os";
 * import { join } from "node:path";
 * import { loadClusterFile } from "./cluster-file.ts";
 *
 * const path = join(tmpdir(), "cluster.json");
 * await Bun.write(path, JSON.stringify({ nodes: { manager: { type: "manager", ip: "127.0.0.1", port: 27762 } } }));
 * const cluster = await loadClusterFile(path);
 * console.log(cluster.layout.managerIsLogger); // true
 * ```
 *
 * @throws {TypeError} a missing or unreadable file, or one that is not a cluster definition.
 */
export async function loadClusterFile(path: string): Promise<ValidClusterFile> {
  const abs = resolve(path);
  if (!existsSync(abs)) throw new TypeError(`Invalid cluster file: '${abs}' does not exist`);
  let file: unknown;
  if (abs.endsWith(".json")) {
    const text = await Bun.file(abs).text();
    try {
      file = JSON.parse(text);
    } catch (err: unknown) {
      throw jsonError(abs, text, err);
    }
  } else {
    const mod = (await import(pathToFileURL(abs).href)) as { default?: unknown; cluster?: unknown };
    file = mod.default ?? mod.cluster;
  }
  return validateClusterFile(file as ClusterFile, dirname(abs));
}
