/**
 * @module The JSON Schema of cluster files (`schema/cluster.schema.json`), made from the same sources
 * the parser checks against: the option rules of `_config-rules.ts` with Zeek's defaults and names,
 * and the fields of the cluster file types (listed here with `satisfies`, so that a field added to a
 * type fails the type check until it is described). `scripts/cluster-schema.ts` writes the file; a
 * test fails when the file and this module disagree. Editors use it through `"$schema"` to complete
 * and check cluster files; the parser stays the authority (it also checks ports for clashes, ips,
 * that scripts exist …).
 */

import { type Key, RULES } from "./_config-rules.ts";
import type { LogFilesOptions } from "./_logfiles.ts";
import type { LogWriterOptions } from "./_logpush-types.ts";
import type { ClusterFile, ClusterFileNode, ClusterOptions } from "./cluster-file.ts";
import { DEFAULT_CONFIG, ZEEK_OPTION_NAMES } from "./config.ts";
import { NODE_TYPES } from "./layout.ts";

type Schema = Record<string, unknown>;

const INT_MAX = 2 ** 31 - 1;
const ENDPOINT: Schema = {
  type: "string",
  pattern: "^(tcp://.+:(\\*|!|\\d{1,5})|ipc://.+|inproc://.+)$",
  examples: ["tcp://127.0.0.1:5556", "ipc:///run/zeek/xsub"],
};
const PORT: Schema = { type: "integer", minimum: 1, maximum: 65535 };
const STRINGS: Schema = { type: "object", additionalProperties: { type: "string" } };

/** One option's schema from its rule, with Zeek's name and default in the description. */
function option(key: Key): Schema {
  const [kind, min = 0, max = INT_MAX] = RULES[key];
  const description = `Zeek: Cluster::Backend::ZeroMQ::${ZEEK_OPTION_NAMES[key]}`;
  const base = { description, default: DEFAULT_CONFIG[key] };
  switch (kind) {
    case "policy":
      return { ...base, enum: ["BLOCK", "DROP"] };
    case "engine":
      return { ...base, enum: ["libzmq", "bun"] };
    case "bool":
      return { ...base, type: "boolean" };
    case "int":
      return { ...base, type: "integer", minimum: min, maximum: max };
    case "prefix":
      return { ...base, type: "string", pattern: "^\\S+$" };
    case "curve":
      return { ...base, type: "string", pattern: "^([0-9a-zA-Z.\\-:+=^!/*?&<>()[\\]{}@%$#]{40})?$" };
    case "endpoints":
      return { ...base, type: "array", items: ENDPOINT };
    case "endpoint?":
      return { ...base, anyOf: [ENDPOINT, { const: "" }] };
    case "endpoint":
      return { ...base, ...ENDPOINT };
  }
}

/** The options of a cluster file: every rule, and the two serializers. */
function options(): Schema {
  const properties: Record<string, Schema> = {};
  for (const key of Object.keys(RULES) as Key[]) properties[key] = option(key);
  const serializers = {
    eventSerializer: {
      description: "Zeek: Cluster::event_serializer; a format registered with registerFormat also works",
      default: "broker-bin-v1",
      anyOf: [{ enum: ["broker-bin-v1", "broker-json-v1", "msgpack-v1"] }, { type: "string" }],
    },
    logSerializer: {
      description: "Zeek: Cluster::log_serializer",
      default: "zeek-bin-serializer",
      enum: ["zeek-bin-serializer", "msgpack-log-v1"],
    },
  } satisfies Record<Exclude<keyof ClusterOptions, Key>, Schema>;
  return { type: "object", additionalProperties: false, properties: { ...properties, ...serializers } };
}

const NODE = {
  type: { description: "The node's role", enum: [...NODE_TYPES] },
  ip: { description: "The node's IPv4 or IPv6 address (no brackets)", type: "string", examples: ["127.0.0.1"] },
  port: { ...PORT, description: "On a logger (or the manager as logger): the PULL port that receives logs" },
  metricsPort: { ...PORT, description: "Where the node serves /metrics (Zeek's metrics_port)" },
  script: { description: "The script this node runs, relative to the cluster file", type: "string" },
  env: { ...STRINGS, description: "Extra environment variables for this node's process" },
  host: { description: "The machine's name, for `cluster up --host <name>`", type: "string", pattern: "^\\S+$" },
} satisfies Record<keyof ClusterFileNode, Schema>;

const LOGGING = {
  dir: { description: "The directory for log files, relative to the cluster file", type: "string", default: "logs" },
  format: { description: "JSON lines (LogAscii::use_json=T) or Zeek's TSV", enum: ["json", "tsv"], default: "json" },
  rotateInterval: { description: "Rotate every file after this many ms; 0 never", type: "integer", minimum: 0 },
  rotateSize: { description: "Rotate a file at this many bytes; 0 never", type: "integer", minimum: 0 },
  maxOpenFiles: { description: "Files open at once, at most", type: "integer", minimum: 1, default: 256 },
} satisfies Record<keyof LogFilesOptions, Schema>;

/** The writer's settings, which every node of the cluster gets with the rest of `logging`. */
const LOG_WRITER = {
  writeBufferSize: {
    description: "Records per batch (Log::write_buffer_size)",
    type: "integer",
    minimum: 1,
    default: 1000,
  },
  flushInterval: {
    description: "Send buffered records every this many ms (Log::flush_interval); 0 only by size",
    type: "integer",
    minimum: 0,
    default: 1000,
  },
  overflowPolicy: {
    description: "When no logger can take a batch: wait or drop it, counted",
    enum: ["BLOCK", "DROP"],
    default: "BLOCK",
  },
  acknowledge: { description: "Ask loggers to acknowledge written batches", type: "boolean", default: true },
  maxInFlight: {
    description: "Unacknowledged batches beyond which the writer waits or drops",
    type: "integer",
    minimum: 1,
    default: 64,
  },
  resendAfter: {
    description: "Send an unacknowledged batch again after this many ms",
    type: "integer",
    minimum: 0,
    default: 30000,
  },
} satisfies Record<keyof LogWriterOptions, Schema>;

/**
 * The JSON Schema (draft-07, what editors support best) of a cluster file.
 *
 * @example The options a cluster file may set
 * ```ts
 * import { clusterSchema } from "./_cluster-schema.ts";
 *
 * const options = (clusterSchema().properties as Record<string, { properties: object }>).options;
 * console.log(Object.keys(options!.properties).includes("overflowPolicy")); // true
 * ```
 */
export function clusterSchema(): Schema {
  const file = {
    $schema: { description: "This schema, for editors; ignored when the cluster runs", type: "string" },
    nodes: {
      description: "The nodes by name, as in Zeek's cluster layout",
      type: "object",
      minProperties: 1,
      propertyNames: { pattern: "^[^\\s\\u0000-\\u001f]+$" },
      additionalProperties: { type: "object", additionalProperties: false, required: ["type", "ip"], properties: NODE },
    },
    managerIsLogger: {
      description: "The manager receives the logs (Zeek's Cluster::manager_is_logger)",
      type: "boolean",
    },
    scripts: {
      description: "The script of every node of a type, relative to the cluster file",
      type: "object",
      additionalProperties: false,
      properties: Object.fromEntries(NODE_TYPES.map((t) => [t, { type: "string" }])),
    },
    env: { ...STRINGS, description: "Extra environment variables for every node" },
    options: { ...options(), description: "Zeek's ZeroMQ options for every node, in camelCase" },
    logging: {
      description: "Where and how loggers write files",
      type: "object",
      additionalProperties: false,
      properties: { ...LOGGING, ...LOG_WRITER },
    },
  } satisfies Record<keyof ClusterFile, Schema>;
  return {
    $schema: "http://json-schema.org/draft-07/schema#",
    title: "zeek-zmq-cluster cluster file",
    description: "A Zeek-style cluster layout and what the launcher needs to run it (`zeek-zmq-cluster cluster up`).",
    type: "object",
    additionalProperties: false,
    required: ["nodes"],
    properties: file,
  };
}
