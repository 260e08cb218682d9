/**
 * @module Log streams (Zeek's `Log::create_stream`): typed fields, record validation, and the batches
 * writers PUSH to loggers, in Zeek's `zeek-bin-serializer` (see `_zeek-log-format.ts`) or this library's
 * `msgpack-log-v1` (see `_log-msgpack.ts`); both are re-exported here.
 */

import { formatAddr, formatSubnet, isIPv4, parseAddr, parseSubnet } from "./_addr.ts";
import { checkerOf } from "./_log-check.ts";
import type { LogFields } from "./_log-record.ts";

export { decodeBatch, encodeBatch } from "./_log-msgpack.ts";
export type { LogFields, LogFieldValue, LogRecord, LogRecordOf, LogScalarValue } from "./_log-record.ts";
export {
  decodeZeekBatch,
  decodeZeekValue,
  encodeZeekBatch,
  encodeZeekValue,
  ZEEK_LOG_FORMAT,
  ZeekValue,
} from "./_zeek-log-format.ts";
export type { LogReceiver, LogReceiverOptions, LogReceiverStats } from "./logpull.ts";
// zeek-zmq-cluster/logging: streams, both batch formats, and the writer and receiver a node builds.
export type { LogWriter, LogWriterOptions, LogWriterStats } from "./logpush.ts";

/**
 * Zeek's scalar log types. `func` and `file` columns (a function's description, a file's name) are
 * text; Zeek logs them rarely.
 */
export type LogScalarType =
  | "string"
  | "count"
  | "int"
  | "double"
  | "bool"
  | "time"
  | "interval"
  | "addr"
  | "subnet"
  | "port"
  | "enum"
  | "func"
  | "file";
/** A log field's type: a scalar, or a set or vector of one. */
export type LogFieldType = LogScalarType | `set[${LogScalarType}]` | `vector[${LogScalarType}]`;
/** A field in a stream definition: its type, or `{ type, optional }` (Zeek's `&optional`). */
export type LogFieldSpec = LogFieldType | { type: LogFieldType; optional?: boolean };

/** What {@linkcode defineStream} takes. */
export interface LogStreamOptions<F extends LogFields = LogFields> {
  /** The stream's id: Zeek's `Log::ID` name, e.g. `Conn::LOG`, which a Zeek logger looks up. */
  id: string;
  /** Zeek's writer (`Log::Writer` name); a Zeek logger's filter must use the same. @default {"Log::WRITER_ASCII"} */
  writer?: string;
  /** The name of Zeek's filter on the stream that the records belong to. @default {"default"} */
  filter?: string;
  /** The path: the file name without extension, e.g. `conn`. */
  path: string;
  /** The fields in log order, by name (dots allowed: `id.orig_h`). */
  fields: F;
}

/** One field of a stream. */
export interface LogField {
  /** The field name. */
  readonly name: string;
  /** Its type. */
  readonly type: LogFieldType;
  /** Whether records may leave it unset. */
  readonly optional: boolean;
}

/** Names the type-only member that carries a stream's field declaration (never set at run time). */
declare const FIELDS: unique symbol;

/** A defined log stream; `F`, its field declaration, types the records `log()` takes ({@linkcode LogRecord}). */
export interface LogStream<F extends LogFields = LogFields> {
  /** The stream's id. */
  readonly id: string;
  /** Zeek's writer name. */
  readonly writer: string;
  /** Zeek's filter name. */
  readonly filter: string;
  /** The path (file name without extension). */
  readonly path: string;
  /** The fields, in order. */
  readonly fields: readonly LogField[];
  /** Type-only: the declaration the stream was defined with. */
  readonly [FIELDS]?: F;
}

/**
 * A batch of records of one stream and path, as it travels from a writer to a logger. Values are as
 * {@linkcode checkValue} returns them; a string that is not valid UTF-8 (from a Zeek node) is a
 * `Uint8Array` of its bytes, and counts or ints beyond 2^53 are bigints.
 */
export interface LogBatch {
  /** The stream's id. */
  stream: string;
  /** Zeek's writer name. @default {"Log::WRITER_ASCII"} */
  writer?: string;
  /** Zeek's filter name. @default {"default"} */
  filter?: string;
  /** The path. */
  path: string;
  /** The fields, in order. */
  fields: LogField[];
  /** The records, one array of values per record, aligned with `fields`; `null` for unset. */
  records: unknown[][];
  /** The writer's sequence number, present when the writer wants an acknowledgment. */
  seq?: number;
}

/**
 * The format name in frame 2 of a log message.
 *
 * @example Log batches have a format of their own, apart from the event formats
 * ```ts
 * import { LOG_FORMAT } from "./logformat.ts";
 * import { getFormat } from "./serializer.ts";
 *
 * console.log(LOG_FORMAT); // "msgpack-log-v1"
 * console.log(getFormat(LOG_FORMAT)); // undefined
 * ```
 */
export const LOG_FORMAT = "msgpack-log-v1";

// Zeek's defaults: the ASCII writer, and the filter every stream has.
const DEFAULT_WRITER = "Log::WRITER_ASCII";
const DEFAULT_FILTER = "default";

const SCALARS = new Set<string>([
  "string",
  "count",
  "int",
  "double",
  "bool",
  "time",
  "interval",
  "addr",
  "subnet",
  "port",
  "enum",
  "func",
  "file",
]);

/**
 * Splits `set[addr]` into its container and element type.
 *
 * @example A container type, and one that is no log type
 * ```ts
 * import { parseFieldType } from "./logformat.ts";
 *
 * console.log(parseFieldType("set[addr]")); // { container: "set", scalar: "addr" }
 * console.log(parseFieldType("table[addr]")); // undefined
 * ```
 */
export function parseFieldType(
  type: string,
): { container: "set" | "vector" | undefined; scalar: LogScalarType } | undefined {
  const known = parsedTypes.get(type);
  if (known !== undefined || parsedTypes.has(type)) return known;
  const m = /^(set|vector)\[(\w+)\]$/.exec(type);
  const scalar = m ? m[2]! : type;
  const parsed = SCALARS.has(scalar)
    ? Object.freeze({ container: m?.[1] as "set" | "vector" | undefined, scalar: scalar as LogScalarType })
    : undefined;
  // Checked once per value on both sides: remember the answer (there are few distinct types).
  if (parsedTypes.size < 1024) parsedTypes.set(type, parsed);
  return parsed;
}

const parsedTypes = new Map<string, { container: "set" | "vector" | undefined; scalar: LogScalarType } | undefined>();

/**
 * Defines a log stream.
 *
 * @example Part of Zeek's conn.log
 * ```ts
 * import { defineStream } from "./logformat.ts";
 *
 * const CONN = defineStream({
 *   id: "Conn::LOG",
 *   path: "conn",
 *   fields: { ts: "time", uid: "string", "id.orig_h": "addr", "id.orig_p": "port", service: { type: "string", optional: true } },
 * });
 * console.log(CONN.fields.map((f) => f.name)); // ["ts", "uid", "id.orig_h", "id.orig_p", "service"]
 * ```
 *
 * @throws {TypeError} a definition of the wrong shape.
 * @throws {RangeError} an unknown field type, naming the stream and the field.
 */
export function defineStream<const F extends LogFields>(options: LogStreamOptions<F>): LogStream<F> {
  const { id, path, fields, writer = DEFAULT_WRITER, filter = DEFAULT_FILTER } = options ?? ({} as LogStreamOptions<F>);
  if (typeof id !== "string" || id === "")
    throw new TypeError(`Invalid log stream: expected an id string, got ${JSON.stringify(id)}`);
  for (const [name, v] of [
    ["writer", writer],
    ["filter", filter],
  ] as const) {
    if (typeof v !== "string" || v === "")
      throw new TypeError(
        `Invalid log stream '${id}': option '${name}' must be a non-empty string, got ${JSON.stringify(v)}`,
      );
  }
  if (typeof path !== "string" || !/^[\w.-]+$/.test(path))
    throw new RangeError(`Invalid log stream '${id}': path must be a file name, got ${JSON.stringify(path)}`);
  if (typeof fields !== "object" || fields === null || Object.keys(fields).length === 0) {
    throw new TypeError(`Invalid log stream '${id}': expected fields by name`);
  }
  const list = Object.entries(fields).map(([name, spec]): LogField => {
    const type = typeof spec === "string" ? spec : spec?.type;
    if (typeof type !== "string" || !parseFieldType(type)) {
      throw new RangeError(`Invalid log stream '${id}': field '${name}' has unknown type ${JSON.stringify(type)}`);
    }
    return Object.freeze({ name, type, optional: typeof spec === "object" && spec.optional === true });
  });
  return Object.freeze({ id, writer, filter, path, fields: Object.freeze(list) });
}

const MAX_COUNT = 0xffffffffffffffffn;
const isInt = (v: unknown) => (typeof v === "number" && Number.isInteger(v)) || typeof v === "bigint";
const PORT = /^(\d{1,5})\/(tcp|udp|icmp|unknown)$/;
const isText = (v: unknown) => typeof v === "string" || v instanceof Uint8Array;

/** Checks one scalar value; returns it as sent on the wire, or `undefined` if it does not fit. */
function scalar(type: LogScalarType, v: unknown): unknown {
  switch (type) {
    case "string":
    case "enum":
    case "func":
    case "file":
      return isText(v) ? v : undefined;
    case "count":
      return isInt(v) &&
        (v as number | bigint) >= 0 &&
        (typeof v === "bigint" ? v <= MAX_COUNT : (v as number) < 2 ** 64)
        ? v
        : undefined;
    case "int":
      return isInt(v) &&
        (typeof v === "bigint" ? BigInt.asIntN(64, v) === v : (v as number) >= -(2 ** 63) && (v as number) < 2 ** 63)
        ? v
        : undefined;
    case "double":
      return typeof v === "number" ? v : undefined;
    case "time":
      return v instanceof Date ? v.getTime() / 1000 : typeof v === "number" && Number.isFinite(v) ? v : undefined;
    case "interval":
      return typeof v === "number" && Number.isFinite(v) ? v : undefined;
    case "bool":
      return typeof v === "boolean" ? v : undefined;
    case "addr":
      // As Zeek prints it: IPv6 compressed and lower-case, IPv4-mapped as a dotted quad.
      if (typeof v !== "string") return undefined;
      if (isIPv4(v)) return v;
      return canonical(v, () => {
        const bytes = parseAddr(v);
        return bytes && formatAddr(bytes);
      });
    case "subnet":
      // Masked to the prefix, as Zeek stores it.
      return typeof v !== "string"
        ? undefined
        : canonical(v, () => {
            const net = parseSubnet(v);
            return net && formatSubnet(net.network, net.length);
          });
    case "port": {
      if (typeof v === "string") return Number(PORT.exec(v)?.[1] ?? NaN) <= 65535 ? v : undefined;
      return Number.isInteger(v) && (v as number) >= 0 && (v as number) <= 65535 ? v : undefined;
    }
  }
}

// Addresses and subnets repeat: remember the canonical text of the last few.
const canonicals = new Map<string, string | undefined>();
function canonical(text: string, make: () => string | undefined): string | undefined {
  let known = canonicals.get(text);
  if (known === undefined && !canonicals.has(text)) {
    known = make();
    if (canonicals.size >= 4096) canonicals.clear();
    canonicals.set(text, known);
  }
  return known;
}

const EXPECTED: Record<LogScalarType, string> = {
  string: "a string",
  enum: "an enum name (string)",
  count: "a non-negative 64-bit integer",
  int: "a 64-bit integer",
  double: "a number",
  time: "a time (seconds since the epoch, or a Date)",
  interval: "an interval in seconds",
  bool: "a boolean",
  addr: "an IP address string",
  subnet: "a subnet like 10.0.0.0/8",
  port: "a port number 0-65535 (or like '80/tcp')",
  func: "a string",
  file: "a string",
};

/**
 * Checks a value against a field; returns the wire value, or throws a TypeError naming stream and field.
 *
 * @example A time given as a Date travels as seconds
 * ```ts
 * import { checkValue, type LogField } from "./logformat.ts";
 *
 * const ts: LogField = { name: "ts", type: "time", optional: false };
 * console.log(checkValue("Conn::LOG", ts, new Date(1_700_000_000_500))); // 1700000000.5
 * ```
 */
export function checkValue(stream: string, field: LogField, value: unknown): unknown {
  const { container, scalar: type } = parseFieldType(field.type)!;
  if (!container) return scalar(type, value) ?? mismatch(stream, field, EXPECTED[type], value);
  if (!Array.isArray(value) && !(value instanceof Set))
    mismatch(stream, field, `a ${container} of ${type} (an array)`, value);
  // A vector may have holes, as Zeek's do (written as unset elements).
  const hole = (v: unknown) => container === "vector" && (v === null || v === undefined);
  return Array.from(value as Iterable<unknown>, (v) =>
    hole(v)
      ? null
      : (scalar(type, v) ?? mismatch(stream, field, `${container} elements that are ${EXPECTED[type]}`, value)),
  );
}

function mismatch(stream: string, field: LogField, expected: string, value: unknown): never {
  throw new TypeError(`Log stream '${stream}': field '${field.name}' expects ${expected}, got ${describe(value)}`);
}

function describe(v: unknown): string {
  if (v === null || v === undefined || typeof v !== "object") return typeof v === "string" ? `'${v}'` : String(v);
  return Array.isArray(v) ? `an array` : v instanceof Date ? "a Date" : v instanceof Uint8Array ? "bytes" : "an object";
}

/**
 * Validates a record against a stream and returns its values in field order (`null` for unset).
 *
 * @example Field order comes from the stream, not the record
 * ```ts
 * import { defineStream, recordValues } from "./logformat.ts";
 *
 * const PING = defineStream({ id: "Ping::LOG", path: "ping", fields: { ts: "time", peer: "string", rtt: { type: "interval", optional: true } } });
 * console.log(recordValues(PING, { peer: "worker-1", ts: 1700000000 })); // [1700000000, "worker-1", null]
 * ```
 *
 * @throws {TypeError} a missing required field, an unknown field, or a value of the wrong type,
 * naming the stream and the field.
 */
export function recordValues(stream: LogStream, record: Readonly<Record<string, unknown>>): unknown[] {
  if (typeof record !== "object" || record === null)
    throw new TypeError(`Log stream '${stream.id}': expected a record object, got ${describe(record)}`);
  // A stream from defineStream has a checker compiled for it; this loop checks any other the same way.
  const compiled = checkerOf(stream);
  if (compiled !== undefined) return compiled(record);
  let known = 0;
  const fields = stream.fields;
  const values = new Array<unknown>(fields.length);
  for (let i = 0; i < fields.length; i++) {
    const field = fields[i]!;
    const value = record[field.name];
    if (value === undefined || value === null) {
      if (!field.optional) throw new TypeError(`Log stream '${stream.id}': field '${field.name}' is required`);
      if (field.name in record) known++;
      values[i] = null;
    } else {
      known++;
      values[i] = checkValue(stream.id, field, value);
    }
  }
  let keys = 0;
  for (const _ in record) keys++;
  if (known !== keys) {
    const names = new Set(stream.fields.map((f) => f.name));
    const unknown = Object.keys(record).find((k) => !names.has(k));
    throw new TypeError(`Log stream '${stream.id}': has no field '${unknown}'`);
  }
  return values;
}
