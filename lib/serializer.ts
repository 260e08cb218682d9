/**
 * @module Event serializers, looked up by the format name carried in frame 2 of every message (Zeek's
 * `Cluster::event_serializer`): Zeek's `broker-bin-v1` (the default) and `broker-json-v1`, and
 * `msgpack-v1`, plain MessagePack that any language can read. More register under their own names.
 */

import { BROKER_BIN_V1, BROKER_JSON_V1 } from "./_broker-event.ts";
import { decodeRange, type Encoded, encodeEventShared } from "./_msgpack.ts";

export { decodeBrokerBin, encodeBrokerBin } from "./_broker-bin.ts";
export type { BrokerEvent, BrokerEventFormat } from "./_broker-event.ts";
// zeek-zmq-cluster/wire: the event formats, and Broker's value codecs for tools that read Zeek's bytes.
export { BROKER_BIN_V1, BROKER_JSON_V1 } from "./_broker-event.ts";
export { decodeBrokerJson, encodeBrokerJson } from "./_broker-json.ts";
export type { BrokerValue } from "./_broker-value.ts";

/** Event metadata: `[id, value]` pairs; ids 1–199 are Zeek's (1 = network timestamp), 200+ the user's. */
export type EventMetadata = [number, unknown][];

/** One cluster event: a name, its arguments, optional metadata. */
export interface ClusterEvent {
  /** The event name, e.g. `Cluster::hello` or `ping`. */
  name: string;
  /** The arguments, in order. */
  args: unknown[];
  /** Optional metadata entries. */
  metadata?: EventMetadata;
}

/** A way to turn events into payload bytes and back. */
export interface EventFormat {
  /** The name sent in frame 2, e.g. `msgpack-v1`. */
  readonly name: string;
  /** Encodes an event. Throws `TypeError` for a value the format cannot carry. */
  encode(event: ClusterEvent): Uint8Array;
  /** Decodes a payload. Throws for bytes that are not a well-formed event. */
  decode(payload: Uint8Array): ClusterEvent;
  /** Optionally, decodes `bytes[start, end)` without a view being made; nodes use it when present. */
  decodeRange?(bytes: Uint8Array, start: number, end: number): ClusterEvent;
  /**
   * Optionally, encodes an event into a buffer the format reuses: the payload is `bytes[0, length)`,
   * valid until the next call. Nodes use it to skip a copy (and an event object) per publish.
   */
  encodeShared?(
    name: string,
    args: unknown[],
    metadata?: EventMetadata,
  ): { readonly bytes: Uint8Array; readonly length: number };
}

/**
 * `msgpack-v1`: the payload is the MessagePack encoding of `[name, args]`, or `[name, args, metadata]`
 * with metadata a list of `[id, value]` pairs. Integers up to 32 bits travel as MessagePack integers,
 * other numbers as float64, `bigint` as 64-bit integers, `Uint8Array` as bin, objects as maps.
 *
 * @example Encoding Zeek's hello
 * ```ts
 * import { MSGPACK_V1 } from "./serializer.ts";
 *
 * const payload = MSGPACK_V1.encode({ name: "Cluster::hello", args: ["worker-1", "zeromq_worker-1_host_42_Nabc"] });
 * console.log(MSGPACK_V1.decode(payload).name); // "Cluster::hello"
 * ```
 */
export const MSGPACK_V1: EventFormat = Object.freeze({
  name: "msgpack-v1",
  encode(event: ClusterEvent): Uint8Array {
    const { bytes, length } = encodeEventShared(event.name, event.args, event.metadata);
    return bytes.slice(0, length);
  },
  encodeShared(name: string, args: unknown[], metadata?: EventMetadata): Encoded {
    return encodeEventShared(name, args, metadata);
  },
  decode(payload: Uint8Array): ClusterEvent {
    return this.decodeRange!(payload, 0, payload.length);
  },
  decodeRange(bytes: Uint8Array, start: number, end: number): ClusterEvent {
    const value: unknown = decodeRange(bytes, start, end);
    if (!Array.isArray(value) || (value.length !== 2 && value.length !== 3)) {
      throw new TypeError("Invalid msgpack-v1 event: expected [name, args] or [name, args, metadata]");
    }
    const [name, args, metadata] = value as [unknown, unknown, unknown];
    if (typeof name !== "string" || name === "")
      throw new TypeError("Invalid msgpack-v1 event: the name is not a string");
    if (!Array.isArray(args)) throw new TypeError(`Invalid msgpack-v1 event '${name}': args is not an array`);
    if (metadata === undefined) return { name, args };
    if (
      !Array.isArray(metadata) ||
      !metadata.every((m) => Array.isArray(m) && m.length === 2 && typeof m[0] === "number")
    ) {
      throw new TypeError(`Invalid msgpack-v1 event '${name}': metadata is not a list of [id, value] pairs`);
    }
    return { name, args, metadata: metadata as EventMetadata };
  },
});

const formats = new Map<string, EventFormat>([BROKER_BIN_V1, BROKER_JSON_V1, MSGPACK_V1].map((f) => [f.name, f]));

/**
 * Makes a format available to every node of this process under its name.
 *
 * @example A JSON format
 * ```ts
 * import { registerFormat } from "./serializer.ts";
 *
 * registerFormat({
 *   name: "json-v1",
 *   encode: (e) => new TextEncoder().encode(JSON.stringify([e.name, e.args])),
 *   decode: (p) => {
 *     const [name, args] = JSON.parse(new TextDecoder().decode(p));
 *     return { name, args };
 *   },
 * });
 * ```
 *
 * @throws {TypeError} a format without a name or the two functions.
 * @throws {RangeError} a name that is already registered.
 */
export function registerFormat(format: EventFormat): void {
  if (
    typeof format?.name !== "string" ||
    format.name === "" ||
    typeof format.encode !== "function" ||
    typeof format.decode !== "function"
  ) {
    throw new TypeError("Invalid format: expected { name, encode, decode }");
  }
  if (formats.has(format.name)) throw new RangeError(`Invalid format: '${format.name}' is already registered`);
  formats.set(format.name, format);
}

/**
 * The format registered under `name`, or `undefined`.
 *
 * @example Looking up the default
 * ```ts
 * import { getFormat } from "./serializer.ts";
 *
 * console.log(getFormat("msgpack-v1")?.name); // "msgpack-v1"
 * ```
 */
export function getFormat(name: string): EventFormat | undefined {
  return formats.get(name);
}
