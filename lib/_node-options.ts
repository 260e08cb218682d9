/**
 * @module A node's options: its identity, Zeek's options (checked and completed by `config.ts` and,
 * with a layout, derived from it by `layout.ts`), its event and log formats, and what its features
 * take. Not part of the public API beyond the {@linkcode NodeOptions} type; `ClusterNode` resolves them.
 */

import { checkOptionGroups } from "./_config-rules.ts";
import type { LoggingOptions } from "./_node-logging.ts";
import { resolveConfig, type ZeroMQConfig, type ZeroMQOptions } from "./config.ts";
import { type ClusterLayout, type NodeType, nodeConfig, type ValidLayout, validateLayout } from "./layout.ts";
import type { Reporter } from "./node-bus.ts";
import { type EventFormat, getFormat } from "./serializer.ts";
import type { MetricsOptions } from "./telemetry.ts";

/** Options of a {@linkcode ClusterNode}: its identity plus any of Zeek's options. */
export interface NodeOptions extends ZeroMQOptions {
  /** The node's name (Zeek's `Cluster::node`). */
  name: string;
  /** The layout the node belongs to: settings are derived from it and discovery runs. @default {undefined: a pub/sub participant that is not a cluster node} */
  layout?: ClusterLayout;
  /** The role when there is no layout, for its role and pool topics. @default {the layout's type, else none} */
  type?: NodeType;
  /**
   * The format published events are encoded in (Zeek's `Cluster::event_serializer`): `broker-bin-v1`,
   * `broker-json-v1`, `msgpack-v1`, or one registered with `registerFormat`. Events arriving in any
   * known format are decoded whatever this says. @default {"broker-bin-v1"}
   */
  eventSerializer?: string;
  /**
   * The format log batches are sent in (Zeek's `Cluster::log_serializer`): `zeek-bin-serializer`, which
   * Zeek loggers read, or `msgpack-log-v1`. Loggers accept both. @default {"zeek-bin-serializer"}
   */
  logSerializer?: string;
  /** How long `start()` waits until the node can publish (the broker echoed its subscription), in ms. @default {10000} */
  readyTimeout?: number;
  /** Where warnings and errors go. @default {lines on stderr prefixed with "[zeromq] "} */
  reporter?: Reporter;
  /** Where environment overrides are read from. @default {process.env} */
  env?: Record<string, string | undefined>;
  /** Logging: how this node writes logs and, on a logger, where received records go. @default {Zeek's defaults; files in ./logs} */
  logging?: LoggingOptions;
  /** Metrics: what to count and where to serve `/metrics` (a `port`, 0 for a free one, or the layout's `metricsPort`). @default {counted; served only with a port} */
  metrics?: MetricsOptions;
}

/** The options of a node, checked and completed. */
export interface ResolvedNodeOptions {
  readonly name: string;
  readonly layout: ValidLayout | undefined;
  readonly type: NodeType | undefined;
  readonly config: ZeroMQConfig;
  readonly format: EventFormat;
  readonly logSerializer: string | undefined;
  readonly readyTimeout: number;
  readonly reporter: Reporter;
  readonly logging: LoggingOptions;
  readonly metrics: MetricsOptions;
}

const NODE_OPTIONS = new Set([
  "name",
  "layout",
  "type",
  "eventSerializer",
  "logSerializer",
  "readyTimeout",
  "reporter",
  "env",
  "logging",
  "metrics",
]);
const defaultReporter: Reporter = (level, message) => console.error(`[zeromq] ${level}: ${message}`);

/**
 * Checks a node's options and completes them with Zeek's defaults and what the layout implies.
 *
 * @example A worker of a layout gets its role and its log endpoints from it
 * ```ts
 * import { resolveNodeOptions } from "./_node-options.ts";
 *
 * const layout = { nodes: { manager: { type: "manager", ip: "127.0.0.1", port: 27762 }, "worker-1": { type: "worker", ip: "127.0.0.1" } } } as const;
 * const node = resolveNodeOptions({ name: "worker-1", layout });
 * console.log(node.type, node.config.connectLogEndpoints, node.format.name); // "worker" ["tcp://127.0.0.1:27762"] "broker-bin-v1"
 * ```
 *
 * @throws {TypeError} an option of the wrong type, naming it.
 * @throws {RangeError} an option with a bad value, naming it and the value.
 */
export function resolveNodeOptions(options: NodeOptions): ResolvedNodeOptions {
  if (typeof options !== "object" || options === null)
    throw new TypeError(`Invalid options: expected an object, got ${options}`);
  const {
    name,
    layout,
    type,
    eventSerializer = "broker-bin-v1",
    logSerializer,
    readyTimeout = 10_000,
    reporter = defaultReporter,
    env = process.env,
    logging = {},
    metrics = {},
  } = options;
  checkOptionGroups(options.logging, options.metrics);
  if (typeof name !== "string") throw new TypeError(`Invalid option 'name': expected a string, got ${typeof name}`);
  if (name === "" || /[\s\0-\x1f]/.test(name))
    throw new RangeError(`Invalid option 'name': expected a name without spaces, got '${name}'`);
  if (!Number.isInteger(readyTimeout) || readyTimeout <= 0) {
    throw new RangeError(`Invalid option 'readyTimeout': expected a positive integer of ms, got ${readyTimeout}`);
  }
  const zeromq: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(options)) if (!NODE_OPTIONS.has(key)) zeromq[key] = value;
  const valid = layout ? validateLayout(layout) : undefined;
  const config = layout ? nodeConfig(layout, name, zeromq, env) : resolveConfig(zeromq, env);
  const layoutType = valid?.nodes[name]?.type;
  if (type !== undefined && layoutType !== undefined && type !== layoutType) {
    throw new RangeError(`Invalid option 'type': node '${name}' is a ${layoutType} in the layout, got '${type}'`);
  }
  const format = getFormat(eventSerializer);
  if (!format)
    throw new RangeError(`Invalid option 'eventSerializer': no format named '${eventSerializer}' is registered`);
  return {
    name,
    layout: valid,
    type: layoutType ?? type,
    config,
    format,
    logSerializer,
    readyTimeout,
    reporter,
    logging,
    metrics,
  };
}
