/**
 * @module What the `zeek-bin-serializer` decoder (`_zeek-log-format.ts`) and encoder
 * (`_zeek-log-encode.ts`) share: the format's name, Zeek's type tags, and values exactly as they travel.
 */

import type { LogField, LogScalarType } from "./logformat.ts";

/**
 * The format name in frame 2 of a log message, as Zeek names it.
 *
 * @example Zeek's default `Cluster::log_serializer`, and this library's
 * ```ts
 * import { ZEEK_LOG_FORMAT } from "./_zeek-log-format.ts";
 *
 * console.log(ZEEK_LOG_FORMAT); // "zeek-bin-serializer"
 * ```
 */
export const ZEEK_LOG_FORMAT = "zeek-bin-serializer";

/**
 * Zeek's TypeTags (`src/Type.h`) of the scalar types logging carries.
 *
 * @example The tag of a time field
 * ```ts
 * import { TAG } from "./_zeek-log-types.ts";
 *
 * console.log(TAG.time); // 5
 * ```
 */
export const TAG: Readonly<Record<LogScalarType, number>> = Object.freeze({
  bool: 1,
  int: 2,
  count: 3,
  double: 4,
  time: 5,
  interval: 6,
  string: 7,
  enum: 9,
  port: 10,
  addr: 11,
  subnet: 12,
  func: 17,
  file: 18,
});
/**
 * The tags of a (logged) set, Zeek's TYPE_TABLE, and of a vector; their subtype names the elements' type.
 *
 * @example A set of addresses is a field of type 14, subtype 11
 * ```ts
 * import { CONTAINER_TAG, TAG } from "./_zeek-log-types.ts";
 *
 * console.log(CONTAINER_TAG.set, TAG.addr); // 14 11
 * ```
 */
export const CONTAINER_TAG: Readonly<{ set: 14; vector: 19 }> = Object.freeze({ set: 14, vector: 19 });

/**
 * One `threading::Value` exactly as it travels: Zeek's type tag, its subtype (which nothing checks),
 * and the value, `null` when not present, an array of `ZeekValue`s for a set (14) or vector (19).
 * {@linkcode decodeZeekValue} and `decodeZeekBatch(…, { exact: true })` return these, and the encoders
 * write them back byte for byte.
 *
 * @example A set of two booleans, as in Zeek's unit test
 * ```ts
 * import { ZeekValue, encodeZeekValue } from "./_zeek-log-format.ts";
 *
 * const set = new ZeekValue(14, 1, [new ZeekValue(1, 0, true), new ZeekValue(1, 0, false)]);
 * console.log(encodeZeekValue(set).length); // 51
 * ```
 */
export class ZeekValue {
  constructor(
    /** Zeek's TypeTag. */
    readonly type: number,
    /** The subtype tag as sent. */
    readonly subtype: number,
    /** The value; `null` for `present = 0`. */
    readonly value: unknown,
  ) {}
}

/** A field as `decodeZeekBatch(…, { exact: true })` returns it: with the subtype and secondary name as sent. */
export interface ZeekField extends LogField {
  readonly subtype: number;
  readonly secondary?: string;
}
