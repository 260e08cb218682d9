/**
 * @module Broker values read from `broker-json-v1` text by Broker's rules (see `decodeBrokerJson` in
 * `_broker-json.ts`), on the JSON cursor of `_json-reader.ts`: `BrokerReader` builds each value as it
 * reads, checks numbers against their type's range by their text, and rejects duplicate set elements
 * and table keys. Not part of the public API.
 */

import { formatAddr, formatSubnet, isV4Mapped, maskAddr, parseAddr } from "./_addr.ts";
import { parseTimespan, parseTimestamp } from "./_broker-json-time.ts";
import { BROKER_TAGS, type BrokerType, type BrokerValue, compareBroker, NONE, textOrBytes } from "./_broker-value.ts";
import { JsonReader, show } from "./_json-reader.ts";

/**
 * The smallest int64: the bound of Broker's integer, and of timestamp and timespan in nanoseconds.
 *
 * @example Checking an integer
 * ```ts
 * import { INT64_MAX, INT64_MIN } from "./_broker-json-reader.ts";
 *
 * const fits = (n: bigint) => n >= INT64_MIN && n <= INT64_MAX;
 * console.log(fits(-(2n ** 63n)), fits(2n ** 63n)); // true false
 * ```
 */
export const INT64_MIN: bigint = -(1n << 63n);

/**
 * The largest int64.
 *
 * @example Its value
 * ```ts
 * import { INT64_MAX } from "./_broker-json-reader.ts";
 *
 * console.log(INT64_MAX); // 9223372036854775807n
 * ```
 */
export const INT64_MAX: bigint = (1n << 63n) - 1n;

/**
 * The largest uint64: the bound of Broker's count.
 *
 * @example Its value
 * ```ts
 * import { UINT64_MAX } from "./_broker-json-reader.ts";
 *
 * console.log(UINT64_MAX); // 18446744073709551615n
 * ```
 */
export const UINT64_MAX: bigint = (1n << 64n) - 1n;

type Entry = readonly [BrokerValue, BrokerValue];

const TYPES: ReadonlyMap<string, BrokerType> = new Map(Object.keys(BROKER_TAGS).map((t) => [t, t as BrokerType]));
/** The type names by length, first and last letter (one each), to find them without slicing the text. */
const TYPE_KEYS: ReadonlyMap<number, BrokerType> = new Map(
  [...TYPES.values()].map((t) => [t.length * 65536 + t.charCodeAt(0) * 256 + t.charCodeAt(t.length - 1), t]),
);
const TRUE: BrokerValue = Object.freeze({ type: "boolean", value: true });
const FALSE: BrokerValue = Object.freeze({ type: "boolean", value: false });

/**
 * The index of a set element or table key equal to an earlier one, or -1.
 *
 * @example The third element repeats the first
 * ```ts
 * import { duplicateAt } from "./_broker-json-reader.ts";
 *
 * const one = { type: "count", value: 1n } as const;
 * console.log(duplicateAt("set", [one, { type: "count", value: 2n }, one])); // 2
 * ```
 */
export function duplicateAt(type: "set" | "table", items: readonly BrokerValue[] | readonly Entry[]): number {
  if (items.length < 2) return -1;
  const keys = type === "set" ? (items as readonly BrokerValue[]) : (items as readonly Entry[]).map((e) => e[0]);
  const order = keys.map((_, i) => i).sort((a, b) => compareBroker(keys[a]!, keys[b]!) || a - b);
  for (let k = 1; k < order.length; k++)
    if (compareBroker(keys[order[k - 1]!]!, keys[order[k]!]!) === 0) return order[k]!;
  return -1;
}

/**
 * Reads Broker values by Broker's rules (see `decodeBrokerJson`).
 *
 * @example A set with a duplicate element
 * ```ts
 * import { BrokerReader } from "./_broker-json-reader.ts";
 *
 * const one = '{"@data-type":"count","data":1}';
 * try {
 *   new BrokerReader(`{"@data-type":"set","data":[${one},${one}]}`, false, 64).value(0);
 * } catch (err) {
 *   console.log((err as TypeError).message); // "broker-json-v1: duplicate set element at $.data[1] (offset 60)"
 * }
 * ```
 */
export class BrokerReader extends JsonReader {
  constructor(
    text: string,
    binary: boolean,
    readonly maxDepth: number,
  ) {
    super(text, binary, 3 * maxDepth + 4);
  }

  /** A value object inside `depth` containers. */
  value(depth: number): BrokerValue {
    const at = this.i;
    this.expect(123, 'an object {"@data-type":…,"data":…}');
    let type: BrokerType | undefined;
    let result: BrokerValue | undefined;
    let dataAt = -1;
    // Broker's own layout first, {"@data-type":"<type>","data":<data>}, without slicing the text.
    const close = this.matches(this.i, '"@data-type":"') ? this.text.indexOf('"', this.i + 14) : -1;
    const known =
      close > 0
        ? TYPE_KEYS.get(
            (close - this.i - 14) * 65536 + this.text.charCodeAt(this.i + 14) * 256 + this.text.charCodeAt(close - 1),
          )
        : undefined;
    if (known && this.matches(this.i + 14, known) && this.matches(close + 1, ',"data":')) {
      this.i = dataAt = close + 9;
      result = this.data((type = known), depth);
      if (!this.next(125)) return result;
    } else if (this.ws() === 125) this.fail('missing "@data-type"', at);
    do {
      const name = this.memberName();
      if (name === "@data-type") {
        if (type !== undefined) this.fail('duplicate "@data-type"');
        const t = this.ws() === 34 ? this.string() : this.fail('"@data-type" must be a string');
        type = TYPES.get(t) ?? this.fail(`unknown @data-type ${show(t)}`);
      } else if (name === "data") {
        if (dataAt >= 0) this.fail('duplicate "data"');
        dataAt = this.i;
        if (type === undefined)
          this.skip(); // read below, once the type is known
        else result = this.data(type, depth);
      } else this.skip();
    } while (this.next(125));
    if (type === undefined) return this.fail('missing "@data-type"', at);
    if (result !== undefined || type === "none") return result ?? NONE;
    if (dataAt < 0) return this.fail('missing "data"', at);
    const end = this.i;
    this.seek(dataAt);
    result = this.data(type, depth);
    this.seek(end);
    return result;
  }

  data(type: BrokerType, depth: number): BrokerValue {
    this.path.push("data");
    const c = this.ws();
    const at = this.i;
    let result: BrokerValue;
    if (type === "none") {
      this.skip();
      result = NONE;
    } else if (type === "boolean") {
      result = this.word("true") ? TRUE : this.word("false") ? FALSE : this.fail("boolean data must be true or false");
    } else if (type === "count" || type === "integer" || type === "real") {
      if (c !== 45 && !(c >= 48 && c <= 57)) this.fail(`${type} data must be a JSON number`);
      const text = this.number();
      if (type === "real") {
        if (!this.fraction) this.fail(`real ${show(text)} needs a fraction or an exponent (1.0, not 1)`, at);
        const value = Number(text);
        result = Number.isFinite(value) ? { type, value } : this.fail(`real ${show(text)} beyond the double range`, at);
      } else {
        if (this.fraction) this.fail(`${type} data must be a JSON integer, not ${show(text)}`, at);
        const value = text.length < 16 ? BigInt(+text) : text.length > 20 ? INT64_MIN - 1n : BigInt(text);
        const ok = type === "count" ? value >= 0n && value <= UINT64_MAX : value >= INT64_MIN && value <= INT64_MAX;
        result = ok ? { type, value } : this.fail(`${type} out of range`, at);
      }
    } else if (type === "vector" || type === "set" || type === "table") {
      result = this.container(type, depth);
    } else {
      if (c !== 34) this.fail(`${type} data must be a JSON string`);
      result = this.textData(type, this.string(), at);
    }
    this.path.pop();
    return result;
  }

  container(type: "vector" | "set" | "table", depth: number): BrokerValue {
    if (this.ws() !== 91) this.fail(`${type} data must be a JSON array`);
    if (depth >= this.maxDepth) this.fail(`values nested deeper than ${this.maxDepth}`);
    this.i++;
    const items: (BrokerValue | Entry)[] = [];
    const starts: number[] = []; // where set elements and table entries start, for error messages
    if (this.ws() === 93) this.i++;
    else {
      this.path.push(0);
      do {
        this.path[this.path.length - 1] = items.length;
        this.ws();
        if (type !== "vector") starts.push(this.i);
        items.push(type === "table" ? this.entry(depth + 1) : this.value(depth + 1));
      } while (this.next(93));
      this.path.pop();
    }
    const dup = type === "vector" ? -1 : duplicateAt(type, items as BrokerValue[] | Entry[]);
    if (dup >= 0) this.path.push(dup);
    return dup < 0
      ? ({ type, value: items } as BrokerValue)
      : this.fail(`duplicate ${type === "set" ? "set element" : "table key"}`, starts[dup]);
  }

  entry(depth: number): Entry {
    const at = this.i;
    this.expect(123, 'a table entry {"key":…,"value":…}');
    const kv: (BrokerValue | undefined)[] = [];
    if (this.ws() === 125) this.i++;
    else {
      do {
        const name = this.memberName();
        const k = name === "key" ? 0 : name === "value" ? 1 : -1;
        if (k < 0) this.skip();
        else if (kv[k] !== undefined) this.fail(`duplicate "${name}"`);
        else {
          this.path.push(name);
          kv[k] = this.value(depth);
          this.path.pop();
        }
      } while (this.next(125));
    }
    const [key, value] = kv;
    return key && value ? [key, value] : this.fail(`table entry without "${key ? "value" : "key"}"`, at);
  }

  textData(type: BrokerType, raw: string, at: number): BrokerValue {
    let bad: string | undefined;
    if (type === "string" || type === "enum-value") {
      const value = this.binary ? textOrBytes(Uint8Array.from(raw, (ch) => ch.charCodeAt(0))) : raw;
      if (typeof value === "string" ? value.isWellFormed() : type === "string") return { type, value } as BrokerValue;
      bad = `${type} that is not valid Unicode`;
    } else if (type === "address") {
      const bytes = parseAddr(raw);
      if (bytes) return { type, value: formatAddr(bytes) };
    } else if (type === "subnet") {
      // Broker's rule: the length counts from the IPv4 address when the bytes are IPv4-mapped.
      const slash = raw.indexOf("/");
      const addr = slash > 0 ? parseAddr(raw.slice(0, slash)) : undefined;
      const length = raw.slice(slash + 1);
      const bits = /^\d{1,3}$/.test(length) ? Number(length) + (addr && isV4Mapped(addr) ? 96 : 0) : 999;
      if (addr && bits <= 128) return { type, value: formatSubnet(maskAddr(addr, bits), bits) };
    } else if (type === "port") {
      const m = /^(\d{1,5})(?:\/(.*))?$/s.exec(raw);
      const proto = m?.[2] === undefined ? "tcp" : ["tcp", "udp", "icmp"].includes(m[2]) ? m[2] : "?";
      if (m && Number(m[1]) <= 65535) return { type, value: `${Number(m[1])}/${proto}` };
    } else {
      const ns = type === "timestamp" ? parseTimestamp(raw) : parseTimespan(raw);
      if (ns !== undefined && ns >= INT64_MIN && ns <= INT64_MAX) return { type, value: ns } as BrokerValue;
      if (ns !== undefined) bad = `${type} ${show(raw)} beyond the int64 nanosecond range`;
    }
    return this.fail(bad ?? `invalid ${type} ${show(raw)}`, at);
  }
}
