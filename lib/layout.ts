/**
 * @module The cluster layout (Zeek's `Cluster::nodes`) and the settings Zeek derives from it for one
 * node: the manager runs the broker, a logger listens for log writes on its port, and every other node
 * connects its PUSH socket to every logger.
 */

import { isIP } from "node:net";
import { invalid } from "./_invalid.ts";
import { didYouMean } from "./_suggest.ts";
import { DEFAULT_CONFIG, resolveConfig, type ZeroMQConfig, type ZeroMQOptions } from "./config.ts";

/** The role of a node (Zeek's `Cluster::NodeType`). */
export type NodeType = "manager" | "logger" | "proxy" | "worker";

/**
 * Every node type, in Zeek's order.
 *
 * @example Checking a type given on the command line
 * ```ts
 * import { NODE_TYPES, type NodeType } from "./layout.ts";
 *
 * const arg: string = process.argv[2] ?? "proxy";
 * console.log(NODE_TYPES.includes(arg as NodeType)); // true
 * ```
 */
export const NODE_TYPES: readonly NodeType[] = Object.freeze(["manager", "logger", "proxy", "worker"]);

/** One node of a layout (Zeek's `Cluster::Node`). */
export interface LayoutNode {
  /** The node's role. */
  type: NodeType;
  /** The node's IP address, IPv4 or IPv6 without brackets. */
  ip: string;
  /** On a logger, or on the manager when it is the logger: the PULL port that receives log writes. */
  port?: number;
  /** Where the node serves `/metrics` (Zeek's `metrics_port`). */
  metricsPort?: number;
}

/** A cluster layout: nodes by name. */
export interface ClusterLayout {
  /** The nodes, keyed by name (Zeek's `Cluster::node`, `CLUSTER_NODE`). */
  nodes: Readonly<Record<string, LayoutNode>>;
  /** The manager receives the logs (Zeek's `Cluster::manager_is_logger`). @default {true when the layout has no logger} */
  managerIsLogger?: boolean;
}

/** A validated layout, with `managerIsLogger` decided. */
export interface ValidLayout {
  /** The nodes, keyed by name, in layout order. */
  readonly nodes: Readonly<Record<string, Readonly<LayoutNode>>>;
  /** Whether the manager receives the logs. */
  readonly managerIsLogger: boolean;
}

const NODE_FIELDS = new Set(["type", "ip", "port", "metricsPort"]);

/**
 * Checks a layout and decides `managerIsLogger`.
 *
 * @example Zeek's simple test layout
 * ```ts
 * import { validateLayout } from "./layout.ts";
 *
 * const layout = validateLayout({
 *   nodes: {
 *     manager: { type: "manager", ip: "127.0.0.1" },
 *     logger: { type: "logger", ip: "127.0.0.1", port: 27762 },
 *     "worker-1": { type: "worker", ip: "127.0.0.1" },
 *   },
 * });
 * console.log(layout.managerIsLogger); // false: there is a logger
 * ```
 *
 * @throws {TypeError} a field of the wrong type, or an unknown field.
 * @throws {RangeError} a bad value, naming the node and the field.
 */
export function validateLayout(layout: ClusterLayout): ValidLayout {
  if (typeof layout !== "object" || layout === null) throw invalid(TypeError, "layout: layout", "an object", layout);
  const { nodes, managerIsLogger } = layout;
  if (typeof nodes !== "object" || nodes === null || Array.isArray(nodes)) {
    throw invalid(TypeError, "layout: nodes", "an object of nodes by name", nodes);
  }
  for (const key of Object.keys(layout)) {
    if (key !== "nodes" && key !== "managerIsLogger")
      throw new TypeError(`Invalid layout: unknown field '${key}'${didYouMean(key, ["nodes", "managerIsLogger"])}`);
  }
  if (managerIsLogger !== undefined && typeof managerIsLogger !== "boolean") {
    throw invalid(TypeError, "layout: managerIsLogger", "a boolean", managerIsLogger);
  }
  const names = Object.keys(nodes);
  if (names.length === 0) throw invalid(RangeError, "layout: nodes", "at least one node", nodes);
  const out: Record<string, Readonly<LayoutNode>> = {};
  const at = (name: string) => `layout: nodes[${JSON.stringify(name)}]`;
  for (const name of names) {
    const node = nodes[name];
    if (name === "" || /[\s\0-\x1f]/.test(name)) {
      throw invalid(RangeError, "layout: node name", "a name without spaces", name);
    }
    if (typeof node !== "object" || node === null) throw invalid(TypeError, at(name), "an object", node);
    for (const field of Object.keys(node)) {
      if (!NODE_FIELDS.has(field))
        throw new TypeError(`Invalid ${at(name)} has unknown field '${field}'${didYouMean(field, [...NODE_FIELDS])}`);
    }
    const types = NODE_TYPES.join(" | ");
    if (typeof node.type !== "string") throw invalid(TypeError, `${at(name)}.type`, types, node.type);
    if (!NODE_TYPES.includes(node.type)) throw invalid(RangeError, `${at(name)}.type`, types, node.type);
    if (typeof node.ip !== "string") throw invalid(TypeError, `${at(name)}.ip`, "an IP address", node.ip);
    if (isIP(node.ip) === 0)
      throw invalid(RangeError, `${at(name)}.ip`, "an IPv4 or IPv6 address (no brackets)", node.ip);
    for (const field of ["port", "metricsPort"] as const) {
      const port = node[field];
      if (port === undefined) continue;
      if (typeof port !== "number") throw invalid(TypeError, `${at(name)}.${field}`, "a port number", port);
      if (!Number.isInteger(port) || port < 1 || port > 65535) {
        throw invalid(RangeError, `${at(name)}.${field}`, "a port from 1 to 65535", port);
      }
    }
    out[name] = Object.freeze({ ...node });
  }
  const taken = new Map<string, string>();
  for (const name of names) {
    for (const field of ["port", "metricsPort"] as const) {
      const port = out[name]![field];
      if (port === undefined) continue;
      const where = `${out[name]!.ip} port ${port}`;
      const other = taken.get(where);
      if (other) {
        throw invalid(
          RangeError,
          `${at(name)}.${field}`,
          `a port no other node uses on ${out[name]!.ip} (${other} has it)`,
          port,
        );
      }
      taken.set(where, `nodes[${JSON.stringify(name)}].${field}`);
    }
  }
  const managers = names.filter((n) => out[n]!.type === "manager");
  if (managers.length > 1) throw invalid(RangeError, "layout: nodes", "at most one manager", managers);
  const hasLogger = names.some((n) => out[n]!.type === "logger");
  const valid = { nodes: Object.freeze(out), managerIsLogger: managerIsLogger ?? !hasLogger };
  for (const name of names) {
    if (isLogSink(valid, name) && out[name]!.port === undefined) {
      throw invalid(RangeError, `${at(name)}.port`, "a port: this node receives the logs", undefined);
    }
  }
  return Object.freeze(valid);
}

/**
 * Zeek's `addr_to_uri`: IPv6 addresses in brackets, IPv4 as is.
 *
 * @example Building an endpoint from a layout address
 * ```ts
 * import { addrToUri } from "./layout.ts";
 *
 * console.log(`tcp://${addrToUri("::1")}:27762`); // "tcp://[::1]:27762"
 * console.log(`tcp://${addrToUri("127.0.0.1")}:27762`); // "tcp://127.0.0.1:27762"
 * ```
 */
export function addrToUri(ip: string): string {
  return isIP(ip) === 6 ? `[${ip}]` : ip;
}

/**
 * Whether the named node receives log writes: a logger, or the manager when `managerIsLogger`.
 *
 * @example Without a logger, the manager receives the logs
 * ```ts
 * import { isLogSink, validateLayout } from "./layout.ts";
 *
 * const layout = validateLayout({
 *   nodes: { manager: { type: "manager", ip: "127.0.0.1", port: 27762 }, "worker-1": { type: "worker", ip: "127.0.0.1" } },
 * });
 * console.log(isLogSink(layout, "manager"), isLogSink(layout, "worker-1")); // true false
 * ```
 */
export function isLogSink(layout: ValidLayout, name: string): boolean {
  const type = layout.nodes[name]?.type;
  return type === "logger" || (type === "manager" && layout.managerIsLogger);
}

const TCP = /^tcp:\/\/(.+):(\d+)$/;
const WILDCARD = new Set(["*", "0.0.0.0", "[::]"]);

/** Where to connect to a broker that listens on `listen`: its host, or the manager's for a wildcard one. */
function connectTo(listen: string, managerAt: string): string | undefined {
  const m = TCP.exec(listen);
  if (!m) return listen.startsWith("tcp://") ? undefined : listen; // a free port (`*`) is not known in advance
  return `tcp://${WILDCARD.has(m[1]!) ? managerAt : m[1]}:${m[2]}`;
}

/**
 * The configuration of one node of a layout, derived as Zeek's `main.zeek` does: the manager runs the
 * broker; a log sink binds its PULL socket on `tcp://<ip>:<port>`; every other node connects its PUSH
 * socket to every log sink (IPv6 addresses bracketed, also for the manager-as-logger, which Zeek
 * forgets). As zeekctl does, the broker listens on the manager's ip (Zeek's ports 5556 and 5555) and
 * every node connects there, so that a cluster spans hosts; a broker listening elsewhere (`options`)
 * is connected to there, a wildcard host meaning the manager's ip. Explicit `options` and
 * environment overrides win over what is derived.
 *
 * @example The worker of a two-logger layout
 * ```ts
 * import { nodeConfig } from "./layout.ts";
 *
 * const layout = {
 *   nodes: {
 *     manager: { type: "manager", ip: "127.0.0.1" },
 *     "logger-1": { type: "logger", ip: "127.0.0.1", port: 27762 },
 *     "logger-2": { type: "logger", ip: "::1", port: 27763 },
 *     "worker-1": { type: "worker", ip: "127.0.0.1" },
 *   },
 * } as const;
 * console.log(nodeConfig(layout, "worker-1", {}, {}).connectLogEndpoints);
 * // ["tcp://127.0.0.1:27762", "tcp://[::1]:27763"]
 * ```
 *
 * @throws {RangeError} an unknown node name, or a node that writes logs with nowhere to send them.
 */
export function nodeConfig(
  layout: ClusterLayout,
  name: string,
  options: ZeroMQOptions = {},
  env: Record<string, string | undefined> = process.env,
): ZeroMQConfig {
  const valid = validateLayout(layout);
  const node = valid.nodes[name];
  if (!node) throw invalid(RangeError, "layout: node name", `one of ${Object.keys(valid.nodes).join(", ")}`, name);
  const derived: ZeroMQOptions = { runProxyThread: node.type === "manager" };
  const names = Object.keys(valid.nodes);
  if (names.some((n) => isIP(valid.nodes[n]!.ip) === 6)) derived.ipv6 = true;
  const manager = names.find((n) => valid.nodes[n]!.type === "manager");
  if (manager) {
    const at = addrToUri(valid.nodes[manager]!.ip);
    const onManager = (endpoint: string) => endpoint.replace(TCP, (_, _host, port) => `tcp://${at}:${port}`);
    derived.listenXsubEndpoint = onManager(DEFAULT_CONFIG.listenXsubEndpoint);
    derived.listenXpubEndpoint = onManager(DEFAULT_CONFIG.listenXpubEndpoint);
    const broker = resolveConfig(options, env, derived);
    const [xsub, xpub] = [connectTo(broker.listenXsubEndpoint, at), connectTo(broker.listenXpubEndpoint, at)];
    if (xsub) derived.connectXpubEndpoint = xsub;
    if (xpub) derived.connectXsubEndpoint = xpub;
  }
  if (isLogSink(valid, name)) {
    derived.listenLogEndpoint = `tcp://${addrToUri(node.ip)}:${node.port}`;
  } else {
    derived.connectLogEndpoints = names
      .filter((n) => isLogSink(valid, n))
      .map((n) => `tcp://${addrToUri(valid.nodes[n]!.ip)}:${valid.nodes[n]!.port}`);
  }
  const config = resolveConfig(options, env, derived);
  if (!isLogSink(valid, name) && config.connectLogEndpoints.length === 0 && names.length > 1) {
    throw new RangeError(
      `Invalid layout: node '${name}' has no logger to send logs to; add a logger node with a port, or set managerIsLogger and a port on the manager, or pass connectLogEndpoints`,
    );
  }
  return config;
}
