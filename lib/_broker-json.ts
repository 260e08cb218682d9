/**
 * @module Broker's JSON format (`format::json::v1`), the payload of Zeek's event serializer
 * `broker-json-v1`: every value an object `{"@data-type":"<type>","data":<data>}`, table entries
 * `{"key":…,"value":…}`. The encoder writes Broker's text byte for byte where Zeek reads that text back
 * as the same value, and differs where Broker's encoder loses or breaks data (each case is explained
 * where it is made). The decoder follows Broker's reader (`internal/json.cc` on CAF's JSON parser), and
 * is stricter where Broker would misread a value or silently change it.
 *
 * The reader is hand-written, not `JSON.parse`: a count must keep all 64 bits (`JSON.parse` rounds
 * 2^64−1 to a double), a real must be told from an integer by its text (Broker takes `1.0` as a real
 * and rejects `1`; `JSON.parse` gives the same number for both), and hostile input must fail with a
 * `TypeError` within a nesting depth the caller sets instead of exhausting the stack. It also builds
 * the Broker values in the same pass.
 */

import { formatAddr, formatSubnet, parseAddr, parseSubnet } from "./_addr.ts";
import { BrokerReader, duplicateAt, INT64_MAX, INT64_MIN, UINT64_MAX } from "./_broker-json-reader.ts";
import { timespanText, timestampText } from "./_broker-json-time.ts";
import {
  BROKER_TAGS,
  type BrokerType,
  type BrokerValue,
  PORT_PROTOCOLS,
  parsePort,
  textOrBytes,
} from "./_broker-value.ts";
import { pathText, show } from "./_json-reader.ts";

type Path = (string | number)[];

/** The deepest nesting either direction accepts, so that recursion stays far from the stack's end. */
const MAX_NESTING = 1000;

const HEAD = Object.fromEntries(Object.keys(BROKER_TAGS).map((t) => [t, `{"@data-type":"${t}","data":`])) as Record<
  BrokerType,
  string
>;
const cannot = (path: Path, what: string): never => {
  throw new TypeError(`broker-json-v1: cannot encode ${what} at ${pathText(path)}`);
};

/**
 * A Broker value as `broker-json-v1` text: Broker's text, except that reals and timestamps keep every
 * digit, reals from 2^63 on have an exponent, and strings are always valid JSON. Set elements and table
 * entries are written in the order given (Zeek's are sorted, by `compareBroker`).
 *
 * @example A real that Broker's `%f` would print as 0.123457
 * ```ts
 * import { encodeBrokerJson } from "./_broker-json.ts";
 *
 * const text = encodeBrokerJson({ type: "vector", value: [{ type: "count", value: 42n }, { type: "real", value: 0.1234567 }] });
 * console.log(text); // '{"@data-type":"vector","data":[{"@data-type":"count","data":42},{"@data-type":"real","data":0.1234567}]}'
 * ```
 *
 * @throws {TypeError} a value the format cannot carry (±∞, NaN, subnormals, a string of bytes that are not UTF-8 or
 * with an unpaired surrogate, a number beyond its type's range, a malformed address, subnet or port, a
 * duplicate set element or table key, nesting deeper than 1000), naming where.
 */
export function encodeBrokerJson(value: BrokerValue): string {
  const out = { text: "" };
  encode(value, out, [], 0);
  return out.text;
}

function encode(v: BrokerValue, out: { text: string }, path: Path, depth: number): void {
  let text: string;
  switch (v?.type) {
    case "none":
      text = "{}";
      break;
    case "boolean":
      text =
        v.value === true ? "true" : v.value === false ? "false" : cannot(path, "a boolean that is not true or false");
      break;
    case "count":
    case "integer":
    case "timestamp":
    case "timespan": {
      const x = v.value;
      const ok =
        typeof x === "bigint" && (v.type === "count" ? x >= 0n && x <= UINT64_MAX : x >= INT64_MIN && x <= INT64_MAX);
      const range =
        v.type === "count" ? "0 to 2^64-1" : v.type === "timestamp" ? "int64 ns, 1677-09-21 to 2262-04-11" : "int64";
      if (!ok) cannot(path, `a ${v.type} out of range (${range})`);
      text =
        v.type === "timestamp" ? `"${timestampText(x)}"` : v.type === "timespan" ? `"${timespanText(x)}"` : String(x);
      break;
    }
    case "real":
      text = realText(v.value, path);
      break;
    case "string":
    case "enum-value": {
      const s = typeof v.value === "string" ? v.value : v.value instanceof Uint8Array ? textOrBytes(v.value) : 0;
      if (typeof s !== "string")
        return cannot(path, `a ${v.type} of bytes that are not UTF-8: JSON text cannot hold them`);
      if (!s.isWellFormed()) cannot(path, `a ${v.type} with an unpaired surrogate`);
      // \" \\ \b \f \n \r \t, other control characters as \u00XX (CAF reads \u and four hex digits of
      // either case). Broker writes \v and raw control bytes, which are not JSON.
      text = JSON.stringify(s);
      break;
    }
    case "address": {
      const bytes = parseAddr(v.value);
      text = bytes ? `"${formatAddr(bytes)}"` : cannot(path, `the address ${show(String(v.value))}`);
      break;
    }
    case "subnet": {
      const net = parseSubnet(v.value);
      text = net ? `"${formatSubnet(net.network, net.length)}"` : cannot(path, `the subnet ${show(String(v.value))}`);
      break;
    }
    case "port": {
      const p = parsePort(String(v.value));
      text = p ? `"${p.port}/${PORT_PROTOCOLS[p.protocol]}"` : cannot(path, `the port ${show(String(v.value))}`);
      break;
    }
    case "vector":
    case "set":
    case "table": {
      const items: readonly unknown[] = v.value;
      if (!Array.isArray(items)) cannot(path, `a ${v.type} whose value is not an array`);
      if (depth >= MAX_NESTING) cannot(path, `values nested deeper than ${MAX_NESTING}`);
      out.text += `${HEAD[v.type]}[`;
      path.push("data", 0);
      for (let n = 0; n < items.length; n++) {
        path[path.length - 1] = n;
        if (n > 0) out.text += ",";
        const e = items[n];
        if (v.type !== "table") encode(e as BrokerValue, out, path, depth + 1);
        else if (!Array.isArray(e) || e.length !== 2) cannot(path, "a table entry that is not a [key, value] pair");
        else {
          out.text += '{"key":';
          encode(e[0], out, [...path, "key"], depth + 1);
          out.text += ',"value":';
          encode(e[1], out, [...path, "value"], depth + 1);
          out.text += "}";
        }
      }
      path.length -= 2;
      const dup = v.type === "vector" ? -1 : duplicateAt(v.type, v.value);
      if (dup >= 0) cannot([...path, "data", dup], `a duplicate ${v.type === "set" ? "set element" : "table key"}`);
      out.text += "]}";
      return;
    }
    default:
      return cannot(path, `an unknown type ${show(String((v as { type?: unknown } | undefined)?.type))}`);
  }
  out.text += `${HEAD[v.type]}${text}}`;
}

/**
 * Broker prints reals with `%f`: six decimals, so 0.1234567 and 1e-7 lose digits, and CAF's number
 * reader collects the integer part in an int64 (a uint64 since 2023), so that Zeek rejects Broker's own
 * `1234567890123456824475648.000000`. We print `%f` where it is exact and below 2^63 in magnitude,
 * otherwise the shortest text that reads back as the same double, which always has a `.` or an
 * exponent (CAF reads `1e-7`, `1e+24`, `1.5E-07`; without either, a number is an integer to Broker).
 * CAF's reader is not correctly rounded, though: a real that needs 17 digits may reach Zeek one unit
 * in the last place off, and 1.7976931348623157e308 as infinity (broker-bin-v1 is exact).
 * ±∞ and NaN have no JSON (Broker writes `inf`, `-inf`, `nan`, `-nan`; CAF reads back only `nan`).
 * Subnormals are valid JSON, but Zeek turns the JSON into Broker's binary form, whose `pack754`
 * mangles them (a Zeek 9.1 node reads 5e-324 as -1.5966722476277758e+293): refused, as in broker-bin-v1.
 */
function realText(x: number, path: Path): string {
  if (typeof x !== "number") cannot(path, "a real that is not a number");
  if (!Number.isFinite(x)) cannot(path, `the real ${x}: broker-json-v1 cannot carry infinities or NaN (JSON has none)`);
  if (x !== 0 && Math.abs(x) < 2 ** -1022) cannot(path, `the subnormal real ${x}: Zeek would read a different number`);
  if (x >= -(2 ** 63) && x < 2 ** 63) {
    const neg = x < 0 || Object.is(x, -0);
    const abs = neg ? -x : x;
    let fixed = abs.toFixed(6);
    // A tie at the seventh decimal (odd multiples of 1/128): printf rounds to even, toFixed upwards.
    const last = fixed.charCodeAt(fixed.length - 1);
    if (last & 1 && (abs * 128) % 2 === 1) fixed = fixed.slice(0, -1) + String.fromCharCode(last - 1);
    if (neg) fixed = `-${fixed}`;
    // What %f loses here are fractions, and String() writes them with a "." or "e-".
    return Number(fixed) === x ? fixed : String(x);
  }
  return x.toExponential();
}

/**
 * Exactly one Broker value from `broker-json-v1` text or its bytes, read as Broker reads it: members in
 * any order, others (the `"type"` and `"topic"` of WebSocket messages) ignored; a count a JSON integer
 * from 0 to 2^64−1, an integer one in the int64 range, a real one with a fraction or an exponent (`1.0`,
 * not `1`); `none`'s data ignored; duplicate set elements and table keys rejected; a port without
 * `/protocol` TCP and one with an unknown protocol `?`; `\v` escapes, raw control characters and bytes
 * that are not UTF-8 (a string of bytes then) read, since Broker writes them. Stricter than Broker:
 * numbers follow JSON's grammar (CAF also reads `+1`, `.5`, `0x1f`, and `010` as octal), and a subnet
 * length beyond 32 (IPv4) or 128, a port beyond 65535, a real beyond the double range and a timestamp
 * or timespan beyond int64 nanoseconds are rejected where Broker makes them `::/0`, wraps or overflows.
 * Set elements and table entries keep the order they arrive in (Zeek sends them sorted).
 *
 * @example A count beyond 2^53 and a real written as an integer
 * ```ts
 * import { decodeBrokerJson } from "./_broker-json.ts";
 *
 * console.log(decodeBrokerJson('{"@data-type":"count","data":18446744073709551615}')); // { type: "count", value: 18446744073709551615n }
 * try {
 *   decodeBrokerJson('{"type":"data-message","topic":"/t","@data-type":"real","data":1}');
 * } catch (e) {
 *   console.log((e as Error).message); // 'broker-json-v1: real "1" needs a fraction or an exponent (1.0, not 1) at $.data (offset 63)'
 * }
 * ```
 *
 * @throws {TypeError} input that is not exactly one well-formed value, or with vectors, sets and tables
 * nested deeper than `maxDepth` (default 64, about as deep as CAF's 128 JSON levels allow), saying what
 * and where.
 * @throws {RangeError} a `maxDepth` that is not an integer from 0 to 1000.
 */
export function decodeBrokerJson(text: string | Uint8Array, options?: { maxDepth?: number }): BrokerValue {
  const maxDepth = options?.maxDepth ?? 64;
  if (!Number.isInteger(maxDepth) || maxDepth < 0 || maxDepth > MAX_NESTING) {
    throw new RangeError(`broker-json-v1: maxDepth must be an integer from 0 to ${MAX_NESTING}`);
  }
  if (typeof text !== "string" && !(text instanceof Uint8Array))
    throw new TypeError("broker-json-v1: input must be a string or a Uint8Array");
  // Bytes that are not UTF-8 are read as Latin-1, and their strings turned back into bytes.
  const t = typeof text === "string" ? text : textOrBytes(text);
  const binary = typeof t !== "string";
  const reader = new BrokerReader(
    binary ? Buffer.from(t.buffer, t.byteOffset, t.byteLength).toString("latin1") : t,
    binary,
    maxDepth,
  );
  const value = reader.value(0);
  reader.end();
  return value;
}
