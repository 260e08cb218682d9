/**
 * @module JavaScript values to Broker values and back: typed (checked against a Zeek type, exactly as
 * Zeek converts: a count only from a count, a time only from a timestamp) and untyped (a documented
 * default mapping for events without a declaration). Not part of the public API; the event formats
 * use it. Errors are `TypeError`s that name where in the value the problem is.
 */

import { formatAddr, formatSubnet, parseAddr, parseSubnet } from "./_addr.ts";
import { type BrokerValue, compareBroker, NONE, PORT_PROTOCOLS, parsePort } from "./_broker-value.ts";
import { type RecordField, typeName, type ZeekType } from "./zeek-types.ts";

const MAX_U64 = (1n << 64n) - 1n;
const MIN_I64 = -(1n << 63n);
const MAX_I64 = (1n << 63n) - 1n;
const lossyDecoder = new TextDecoder();

/** The one Broker type each Zeek scalar type is read from (Zeek converts nothing implicitly). */
const BROKER_TYPE_OF: Readonly<Record<string, string>> = {
  bool: "boolean",
  count: "count",
  int: "integer",
  double: "real",
  time: "timestamp",
  interval: "timespan",
  string: "string",
  enum: "enum-value",
  addr: "address",
  subnet: "subnet",
  port: "port",
};

/** A TypeError for the value at `path` that is not what `expected` says. */
export function mismatch(path: string, expected: string, got: unknown): TypeError {
  return new TypeError(`${path} expects ${expected}, got ${describe(got)}`);
}

/** A short description of a value for error messages. */
export function describe(v: unknown): string {
  if (typeof v === "string") return `'${v.length > 40 ? `${v.slice(0, 40)}…` : v}'`;
  if (typeof v === "bigint") return `${v}n`;
  if (v === null || typeof v !== "object") return String(v);
  if (Array.isArray(v)) return `an array of ${v.length}`;
  if (v instanceof Set) return `a Set of ${v.size}`;
  if (v instanceof Map) return `a Map of ${v.size}`;
  if (v instanceof Date) return "a Date";
  if (v instanceof Uint8Array) return `${v.length} bytes`;
  return "an object";
}

const EXPECTED: Record<string, string> = {
  bool: "a boolean",
  count: "a count (an integer 0 … 2^64−1; a bigint beyond 2^53)",
  int: "an int (an integer −2^63 … 2^63−1; a bigint beyond 2^53)",
  double: "a number",
  time: "a time (seconds since the epoch, or a Date)",
  interval: "an interval in seconds",
  string: "a string",
  enum: "an enum name",
  addr: "an IP address like '10.0.0.1'",
  subnet: "a subnet like '10.0.0.0/8'",
  port: "a port like '80/tcp'",
};

function expected(t: ZeekType): string {
  return EXPECTED[t.kind] ?? typeName(t);
}

function integer(v: unknown): bigint | undefined {
  if (typeof v === "bigint") return v;
  return Number.isSafeInteger(v) ? BigInt(v as number) : undefined;
}

/** Seconds (a double) to nanoseconds as Zeek converts them: multiplied, then truncated toward zero. */
export function secondsToNs(seconds: number): bigint | undefined {
  const ns = Math.trunc(seconds * 1e9);
  if (!Number.isFinite(ns)) return undefined;
  const big = BigInt(ns);
  return big >= MIN_I64 && big <= MAX_I64 ? big : undefined;
}

/** A count or int as a number when it is exact, else a bigint. */
export function numberOrBig(v: bigint): number | bigint {
  return v >= -9007199254740991n && v <= 9007199254740991n ? Number(v) : v;
}

/** A Broker table or set built from entries: sorted by Broker's order, duplicates refused. */
function sorted<T>(items: T[], key: (item: T) => BrokerValue, path: string): T[] {
  items.sort((a, b) => compareBroker(key(a), key(b)));
  for (let i = 1; i < items.length; i++) {
    if (compareBroker(key(items[i - 1]!), key(items[i]!)) === 0)
      throw new TypeError(`${path} holds the same element twice`);
  }
  return items;
}

function keyToBroker(index: readonly ZeekType[], v: unknown, path: string, plain: boolean): BrokerValue {
  if (index.length === 1) return toBroker(index[0]!, v, path, plain);
  if (!Array.isArray(v) || v.length !== index.length)
    throw mismatch(path, `a tuple of ${index.length} (${index.map(typeName).join(", ")})`, v);
  return { type: "vector", value: index.map((t, i) => toBroker(t, v[i], `${path}[${i}]`, plain)) };
}

/**
 * A JavaScript value of Zeek type `t` as a Broker value. With `plain`, also the forms a format without
 * types brings back (records and tables as arrays, times as seconds).
 */
export function toBroker(t: ZeekType, v: unknown, path: string, plain = false): BrokerValue {
  switch (t.kind) {
    case "bool":
      if (typeof v === "boolean") return { type: "boolean", value: v };
      break;
    case "count": {
      const n = integer(v);
      if (n !== undefined && n >= 0n && n <= MAX_U64) return { type: "count", value: n };
      break;
    }
    case "int": {
      const n = integer(v);
      if (n !== undefined && n >= MIN_I64 && n <= MAX_I64) return { type: "integer", value: n };
      break;
    }
    case "double":
      if (typeof v === "number") return { type: "real", value: v };
      break;
    case "time": {
      const ns =
        v instanceof Date
          ? Number.isNaN(v.getTime())
            ? undefined
            : BigInt(v.getTime()) * 1_000_000n
          : typeof v === "number"
            ? secondsToNs(v)
            : undefined;
      if (ns !== undefined) return { type: "timestamp", value: ns };
      break;
    }
    case "interval": {
      const ns = typeof v === "number" ? secondsToNs(v) : undefined;
      if (ns !== undefined) return { type: "timespan", value: ns };
      break;
    }
    case "string":
      if (typeof v === "string" || v instanceof Uint8Array) return { type: "string", value: v };
      break;
    case "enum":
      if (typeof v === "string" && v !== "") return { type: "enum-value", value: v };
      break;
    case "addr": {
      const bytes = typeof v === "string" ? parseAddr(v) : undefined;
      if (bytes) return { type: "address", value: formatAddr(bytes) };
      break;
    }
    case "subnet": {
      const net = typeof v === "string" ? parseSubnet(v) : undefined;
      if (net) return { type: "subnet", value: formatSubnet(net.network, net.length) };
      break;
    }
    case "port": {
      const port = typeof v === "string" ? parsePort(v) : undefined;
      if (port) return { type: "port", value: `${port.port}/${PORT_PROTOCOLS[port.protocol]}` };
      break;
    }
    case "vector":
      if (Array.isArray(v))
        return { type: "vector", value: v.map((x, i) => toBroker(t.of, x, `${path}[${i}]`, plain)) };
      break;
    case "set":
      if (v instanceof Set || Array.isArray(v)) {
        const items = Array.from(v as Iterable<unknown>, (x, i) => keyToBroker(t.index, x, `${path}[${i}]`, plain));
        return { type: "set", value: sorted(items, (x) => x, path) };
      }
      break;
    case "table": {
      const entries =
        v instanceof Map
          ? [...v]
          : plain && Array.isArray(v)
            ? v
            : isPlainObject(v) && t.index.length === 1 && t.index[0]!.kind === "string"
              ? Object.entries(v)
              : undefined;
      if (!entries) break;
      const pairs = entries.map((e: unknown, i): [BrokerValue, BrokerValue] => {
        if (!Array.isArray(e) || e.length !== 2) throw mismatch(`${path}[${i}]`, "a [key, value] pair", e);
        return [
          keyToBroker(t.index, e[0], `${path} key`, plain),
          toBroker(t.yield, e[1], `${path}[${describe(e[0])}]`, plain),
        ];
      });
      return { type: "table", value: sorted(pairs, (p) => p[0], path) };
    }
    case "record":
      if (plain && Array.isArray(v))
        return { type: "vector", value: t.fields.map((f, i) => fieldToBroker(f, v[i], path, plain)) };
      if (isPlainObject(v)) {
        for (const key in v) {
          if (!t.fields.some((f) => f.name === key))
            throw new TypeError(`${path} has no field '${key}' (${typeName(t)})`);
        }
        return {
          type: "vector",
          value: t.fields.map((f) => fieldToBroker(f, (v as Record<string, unknown>)[f.name], path, plain)),
        };
      }
      break;
  }
  throw mismatch(path, expected(t), v);
}

function fieldToBroker(f: RecordField, v: unknown, path: string, plain: boolean): BrokerValue {
  if (v === undefined || v === null) {
    if (f.optional) return NONE;
    throw new TypeError(`${path}.${f.name} is required (${typeName(f.type)})`);
  }
  return toBroker(f.type, v, `${path}.${f.name}`, plain);
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (typeof v !== "object" || v === null) return false;
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

/**
 * A Broker value as the JavaScript value of Zeek type `t`, converted as strictly as Zeek does (no
 * implicit conversions); a record accepts extra trailing elements, as Zeek does.
 */
export function fromBroker(t: ZeekType, b: BrokerValue, path: string): unknown {
  if (b.type === BROKER_TYPE_OF[t.kind]) {
    switch (b.type) {
      case "count":
      case "integer":
        return numberOrBig(b.value);
      case "timestamp":
      case "timespan":
        return Number(b.value) / 1e9;
      case "string":
        // Zeek strings are bytes; a typed string gets text (bytes that are not UTF-8 become U+FFFD).
        return typeof b.value === "string" ? b.value : lossyDecoder.decode(b.value);
      case "boolean":
      case "real":
      case "enum-value":
      case "address":
      case "subnet":
      case "port":
        return b.value;
    }
  }
  switch (t.kind) {
    case "vector":
      if (b.type === "vector") return b.value.map((x, i) => fromBroker(t.of, x, `${path}[${i}]`));
      break;
    case "set":
      if (b.type === "set") return new Set(b.value.map((x, i) => keyFromBroker(t.index, x, `${path}[${i}]`)));
      break;
    case "table":
      if (b.type === "table")
        return new Map(
          b.value.map(([k, v], i) => [
            keyFromBroker(t.index, k, `${path} key ${i}`),
            fromBroker(t.yield, v, `${path}[${i}]`),
          ]),
        );
      break;
    case "record":
      if (b.type === "vector" && b.value.length >= t.fields.length) {
        const out: Record<string, unknown> = {};
        t.fields.forEach((f, i) => {
          const x = b.value[i]!;
          if (x.type === "none") {
            if (!f.optional) throw new TypeError(`${path}.${f.name} is unset but not optional (${typeName(f.type)})`);
          } else out[f.name] = fromBroker(f.type, x, `${path}.${f.name}`);
        });
        return out;
      }
      break;
  }
  throw new TypeError(
    `${path} expects ${typeName(t)}, got a Broker ${b.type}${b.type === "vector" ? ` of ${b.value.length}` : ""}`,
  );
}

function keyFromBroker(index: readonly ZeekType[], b: BrokerValue, path: string): unknown {
  if (index.length === 1) return fromBroker(index[0]!, b, path);
  if (b.type !== "vector" || b.value.length !== index.length)
    throw new TypeError(`${path} expects a tuple of ${index.length}, got a Broker ${b.type}`);
  return index.map((t, i) => fromBroker(t, b.value[i]!, `${path}[${i}]`));
}

/**
 * The default mapping for events without a declaration: `null`/`undefined` → none, boolean, a safe
 * integer → integer, other numbers → real, bigint → integer (count beyond 2^63), string and
 * `Uint8Array` → string, `Date` → timestamp, array → vector, `Set` → set, `Map` and plain objects →
 * table. Anything else (functions, symbols, class instances) is a `TypeError`.
 */
export function untypedToBroker(v: unknown, path: string, depth = 0): BrokerValue {
  if (depth > 64) throw new TypeError(`${path} is nested deeper than 64 levels`);
  switch (typeof v) {
    case "undefined":
      return NONE;
    case "boolean":
      return { type: "boolean", value: v };
    case "number":
      return Number.isSafeInteger(v) && !Object.is(v, -0)
        ? { type: "integer", value: BigInt(v) }
        : { type: "real", value: v };
    case "bigint":
      if (v >= MIN_I64 && v <= MAX_I64) return { type: "integer", value: v };
      if (v > MAX_I64 && v <= MAX_U64) return { type: "count", value: v };
      throw mismatch(path, "an integer −2^63 … 2^64−1", v);
    case "string":
      return { type: "string", value: v };
    case "object":
      if (v === null) return NONE;
      if (Array.isArray(v))
        return { type: "vector", value: v.map((x, i) => untypedToBroker(x, `${path}[${i}]`, depth + 1)) };
      if (v instanceof Uint8Array) return { type: "string", value: v };
      if (v instanceof Date) {
        if (Number.isNaN(v.getTime())) throw mismatch(path, "a valid Date", v);
        return { type: "timestamp", value: BigInt(v.getTime()) * 1_000_000n };
      }
      if (v instanceof Set)
        return {
          type: "set",
          value: sorted(
            [...v].map((x, i) => untypedToBroker(x, `${path}[${i}]`, depth + 1)),
            (x) => x,
            path,
          ),
        };
      if (v instanceof Map || isPlainObject(v)) {
        const entries = v instanceof Map ? [...v] : Object.entries(v);
        const pairs = entries.map(([k, x]): [BrokerValue, BrokerValue] => [
          untypedToBroker(k, `${path} key`, depth + 1),
          untypedToBroker(x, `${path}[${describe(k)}]`, depth + 1),
        ]);
        return { type: "table", value: sorted(pairs, (p) => p[0], path) };
      }
  }
  throw mismatch(path, "a value with a Zeek type (declare the event with defineEvent for exact types)", v);
}

/**
 * The default mapping back: none → `null`, count and integer → number (bigint beyond 2^53), real →
 * number, string → string (a `Uint8Array` when not UTF-8), address, subnet, port and enum → their
 * text, timestamp → `Date` (milliseconds), timespan → seconds, vector → array, set → `Set`, table → `Map`.
 */
export function untypedFromBroker(b: BrokerValue): unknown {
  switch (b.type) {
    case "none":
      return null;
    case "count":
    case "integer":
      return numberOrBig(b.value);
    case "timestamp":
      return new Date(Number(b.value / 1_000_000n));
    case "timespan":
      return Number(b.value) / 1e9;
    case "vector":
      return b.value.map(untypedFromBroker);
    case "set":
      return new Set(b.value.map(untypedFromBroker));
    case "table":
      return new Map(b.value.map(([k, v]) => [untypedFromBroker(k), untypedFromBroker(v)]));
    default:
      return b.value;
  }
}

/** A Broker value in the plain form formats without types carry (times as seconds, tables as pairs). */
export function plainFromBroker(b: BrokerValue): unknown {
  switch (b.type) {
    case "none":
      return null;
    case "count":
    case "integer":
      return numberOrBig(b.value);
    case "timestamp":
    case "timespan":
      return Number(b.value) / 1e9;
    case "vector":
    case "set":
      return b.value.map(plainFromBroker);
    case "table":
      return b.value.map(([k, v]) => [plainFromBroker(k), plainFromBroker(v)]);
    default:
      return b.value;
  }
}
