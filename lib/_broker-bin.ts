/**
 * @module Broker's binary format (`format::bin::v1`), the payload of Zeek's default event serializer
 * `broker-bin-v1`: each value a one-byte tag and its payload, big-endian, lengths and counts as LEB128
 * varints of at most 32 bits. Reals go through CAF's `pack754`, which is IEEE-754 for normal numbers
 * only: ±∞ and NaN have patterns of their own (JavaScript's own bits would reach Zeek as the opposite
 * infinity), and subnormal numbers cannot be carried at all. One value at a time here; the writer and
 * the reader the event envelope is built on are `_broker-bin-writer.ts` and `_broker-bin-reader.ts`,
 * and the envelope itself is in `_broker-event.ts`.
 */

import { BinReader } from "./_broker-bin-reader.ts";
import { BinWriter } from "./_broker-bin-writer.ts";
import type { BrokerValue } from "./_broker-value.ts";

/**
 * One Broker value as bytes.
 *
 * @example A count, and the three kinds of reals Zeek and JavaScript disagree on
 * ```ts
 * import { encodeBrokerBin } from "./_broker-bin.ts";
 *
 * const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");
 * console.log(hex(encodeBrokerBin({ type: "count", value: 42n }))); // "02000000000000002a"
 * console.log(hex(encodeBrokerBin({ type: "real", value: Infinity }))); // "04fff0000000000000"
 * ```
 *
 * @throws {TypeError} a value the format cannot carry (a subnormal real, a length beyond 2^32).
 */
export function encodeBrokerBin(value: BrokerValue): Uint8Array {
  const w = new BinWriter();
  w.value(value);
  return w.bytes.slice(0, w.length);
}

/**
 * Exactly one Broker value from bytes; trailing bytes, truncation, unknown tags, duplicate set
 * elements and nesting deeper than `MAX_DEPTH` (32, in `_broker-bin-reader.ts`) are rejected.
 *
 * @example Broker's own test vector for `[T, "abc", [1, 2]]`
 * ```ts
 * import { decodeBrokerBin } from "./_broker-bin.ts";
 *
 * const bytes = Buffer.from("0e03010105036162630e02030000000000000001030000000000000002", "hex");
 * console.log(decodeBrokerBin(bytes).type); // "vector"
 * ```
 *
 * @throws {TypeError} bytes that are not exactly one well-formed value, saying what and where.
 */
export function decodeBrokerBin(bytes: Uint8Array, start = 0, end: number = bytes.length): BrokerValue {
  if (end <= start) throw new TypeError("broker-bin-v1: empty payload");
  const r = new BinReader(bytes, start, end);
  const value = r.value();
  if (r.pos !== end) r.fail(`${end - r.pos} trailing bytes`);
  return value;
}
