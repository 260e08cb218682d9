/**
 * @module Zeek's event envelope in Broker's formats, and the two event serializers Zeek offers:
 * `broker-bin-v1` (Zeek's default) and `broker-json-v1`. The envelope is
 * `[count 1 (protocol), count 1 (event), [name, [args…], [[id, value]…]?]]`; the metadata element is
 * sent only when there is metadata (as Zeek 8.0.1 and later do), and what every Zeek version sends is
 * accepted: 7.1/7.2 always add a network timestamp, 8.0.0 an empty metadata vector. Zeek indexes into
 * a payload of the wrong shape without checking; here the shape is checked first.
 */

import { BinReader } from "./_broker-bin-reader.ts";
import { BinWriter } from "./_broker-bin-writer.ts";
import { fromBroker, toBroker, untypedFromBroker, untypedToBroker } from "./_broker-convert.ts";
import { decodeBrokerJson, encodeBrokerJson } from "./_broker-json.ts";
import { type BrokerValue, NONE } from "./_broker-value.ts";
import type { ClusterEvent, EventFormat, EventMetadata } from "./serializer.ts";
import { parseZeekType, type ZeekType } from "./zeek-types.ts";

const TIME = parseZeekType("time");

/** An event with its arguments and metadata as Broker values. */
export interface BrokerEvent {
  /** The event name. */
  readonly name: string;
  /** The arguments. */
  readonly args: readonly BrokerValue[];
  /** Metadata entries `[id, value]`; id 1 is the network timestamp. Absent when there is none. */
  readonly metadata?: readonly (readonly [number, BrokerValue])[] | undefined;
}

/** An encoded payload: `bytes[0, length)`, possibly in a buffer the format reuses until its next call. */
export interface Payload {
  readonly bytes: Uint8Array;
  readonly length: number;
}

/** The parameter types of a declared event, by its name; `undefined` for events without a declaration. */
export type ParamTypes = (name: string) => readonly ZeekType[] | undefined;

/** A format that carries Zeek's types: events go in and out as Broker values. */
export interface BrokerEventFormat extends EventFormat {
  /** Encodes an event whose arguments are Broker values. */
  encodeData(event: BrokerEvent): Payload;
  /** Decodes `bytes[start, end)` into Broker values; throws a `TypeError` saying what is wrong. */
  decodeData(bytes: Uint8Array, start: number, end: number): BrokerEvent;
  /** Encodes JavaScript arguments: with `params`, each checked against its type; else by the default mapping. */
  encodeArgs(
    name: string,
    args: readonly unknown[],
    params: readonly ZeekType[] | undefined,
    metadata?: EventMetadata,
  ): Payload;
  /** Decodes into JavaScript arguments: typed when `paramsOf` knows the event, else by the default mapping. */
  decodeArgs(bytes: Uint8Array, start: number, end: number, paramsOf: ParamTypes): ClusterEvent;
}

/** Zeek's metadata id of the network timestamp. */
export const NETWORK_TIMESTAMP = 1;

/** Builds the envelope as one Broker value (the JSON format renders it whole). */
export function envelope(event: BrokerEvent): BrokerValue {
  const content: BrokerValue[] = [
    { type: "string", value: event.name },
    { type: "vector", value: event.args },
  ];
  if (event.metadata?.length) {
    content.push({
      type: "vector",
      value: event.metadata.map(([id, v]) => ({ type: "vector", value: [{ type: "count", value: BigInt(id) }, v] })),
    });
  }
  return { type: "vector", value: [ONE, ONE, { type: "vector", value: content }] };
}

const ONE: BrokerValue = Object.freeze({ type: "count", value: 1n });

/** Reads the envelope from a Broker value, checking its shape. */
export function fromEnvelope(value: BrokerValue): BrokerEvent {
  const bad = (what: string): never => {
    throw new TypeError(`not a Zeek event: ${what}`);
  };
  if (value.type !== "vector" || value.value.length !== 3) return bad("expected [version, type, content]");
  const [version, kind, content] = value.value as [BrokerValue, BrokerValue, BrokerValue];
  if (version.type !== "count" || version.value !== 1n) return bad("protocol version is not count 1");
  if (kind.type !== "count" || kind.value !== 1n)
    return bad(`message type is not count 1 (event), got ${kind.type === "count" ? kind.value : kind.type}`);
  if (content.type !== "vector" || (content.value.length !== 2 && content.value.length !== 3))
    return bad("expected [name, args] or [name, args, metadata]");
  const [name, args, metadata] = content.value as [BrokerValue, BrokerValue, BrokerValue | undefined];
  if (name.type !== "string" || typeof name.value !== "string" || name.value === "")
    return bad("the name is not a string");
  if (args.type !== "vector") return bad(`the arguments of '${name.value}' are not a vector`);
  if (!metadata) return { name: name.value, args: args.value };
  if (metadata.type !== "vector") return bad(`the metadata of '${name.value}' is not a vector`);
  const entries = metadata.value.map((m): [number, BrokerValue] => {
    if (m.type !== "vector" || m.value.length !== 2 || m.value[0]!.type !== "count")
      return bad(`metadata of '${name.value}' is not [count, value]`);
    const id = m.value[0]!.value as bigint;
    return [id > 0xffffffffn ? bad(`metadata id ${id}`) : Number(id), m.value[1]!];
  });
  return { name: name.value, args: args.value, ...(entries.length ? { metadata: entries } : {}) };
}

const writer = new BinWriter();

/** Writes the envelope straight into the writer, the arguments by `writeArgs`. */
function writeEnvelope(
  w: BinWriter,
  name: string,
  argc: number,
  metadata: BrokerEvent["metadata"],
  writeArgs: (w: BinWriter) => void,
): void {
  const meta = metadata?.length ? metadata : undefined;
  w.byte(0x0e);
  w.byte(3);
  w.int64(2, 1);
  w.int64(2, 1);
  w.byte(0x0e);
  w.byte(meta ? 3 : 2);
  w.text(5, name);
  w.byte(0x0e);
  w.varint(argc);
  writeArgs(w);
  if (!meta) return;
  w.byte(0x0e);
  w.varint(meta.length);
  for (const [id, v] of meta) {
    w.byte(0x0e);
    w.byte(2);
    w.u64(2, BigInt(id));
    w.value(v);
  }
}

/**
 * Reads the envelope straight from the bytes, with the same checks as {@linkcode fromEnvelope}. The
 * arguments are read once the name is known: typed when `paramsOf` knows the event, else untyped
 * (`paramsOf` undefined: as Broker values).
 */
function readEnvelope(
  r: BinReader,
  paramsOf: ParamTypes | undefined,
): { name: string; args: unknown[]; metadata: BrokerEvent["metadata"] } {
  r.tag(0x0e, "the envelope vector");
  if (r.varint() !== 3) r.fail("not a Zeek event: expected [version, type, content]");
  r.tag(2, "the protocol version");
  if (!r.small64(1)) r.fail("not a Zeek event: protocol version is not 1");
  r.tag(2, "the message type");
  if (!r.small64(1)) r.fail(`not a Zeek event: message type ${r.u64("type")} (1 is an event)`);
  r.tag(0x0e, "the content vector");
  const parts = r.varint();
  if (parts !== 2 && parts !== 3) r.fail("not a Zeek event: expected [name, args] or [name, args, metadata]");
  r.tag(5, "the event name");
  const name = r.text();
  if (name === "") r.fail("not a Zeek event: empty name");
  if (r.pos >= r.end || r.bytes[r.pos] !== 0x0e) r.fail(`the arguments of '${name}' are not a vector`);
  const params = paramsOf?.(name);
  const args = params
    ? argsFrom(name, vectorItems(r.value(1)), params)
    : paramsOf
      ? (r.untyped(0) as unknown[])
      : vectorItems(r.value(1));
  if (parts === 2) return { name, args, metadata: undefined };
  const meta = r.value(1);
  const { metadata } = fromEnvelope({
    type: "vector",
    value: [
      ONE,
      ONE,
      { type: "vector", value: [{ type: "string", value: name }, { type: "vector", value: [] }, meta] },
    ],
  });
  return { name, args, metadata };
}

function vectorItems(v: BrokerValue): BrokerValue[] {
  return (v as Extract<BrokerValue, { type: "vector" }>).value as BrokerValue[];
}

const noParams: ParamTypes = () => undefined;

function readBin(bytes: Uint8Array, start: number, end: number): BinReader {
  if (end <= start) throw new TypeError("broker-bin-v1: empty payload");
  return new BinReader(bytes, start, end);
}

function done(r: BinReader): void {
  if (r.pos !== r.end) r.fail(`${r.end - r.pos} trailing bytes`);
}

/** Metadata values: the network timestamp as a timestamp from seconds or a Date; others untyped. */
export function metadataToBroker(metadata: EventMetadata | undefined): [number, BrokerValue][] | undefined {
  if (!metadata?.length) return undefined;
  return metadata.map(([id, v], i) => {
    if (!Number.isInteger(id) || id < 0 || id > 0xffffffff)
      throw new TypeError(`metadata[${i}]: expected an id 0 … 2^32−1, got ${id}`);
    if (id === NETWORK_TIMESTAMP && typeof v === "number") return [id, toBroker(TIME, v, `metadata[${i}]`)];
    return [id, untypedToBroker(v, `metadata[${i}]`)];
  });
}

/** Metadata back: the network timestamp as seconds, others by the untyped mapping. */
export function metadataFromBroker(metadata: BrokerEvent["metadata"]): EventMetadata | undefined {
  if (!metadata) return undefined;
  return metadata.map(([id, v]) => [
    id,
    id === NETWORK_TIMESTAMP && v.type === "timestamp" ? Number(v.value) / 1e9 : untypedFromBroker(v),
  ]);
}

/** Untyped arguments as Broker values. */
export function argsToBroker(args: readonly unknown[]): BrokerValue[] {
  return args.map((a, i) => (a === undefined ? NONE : untypedToBroker(a, `argument ${i + 1}`)));
}

function untyped(event: BrokerEvent): ClusterEvent {
  const metadata = metadataFromBroker(event.metadata);
  return { name: event.name, args: event.args.map(untypedFromBroker), ...(metadata ? { metadata } : {}) };
}

/** Arguments as Broker values: checked against `params` when given, else by the default mapping. */
function argValues(name: string, args: readonly unknown[], params: readonly ZeekType[] | undefined): BrokerValue[] {
  if (!params) return argsToBroker(args);
  if (args.length !== params.length)
    throw new TypeError(`'${name}' has ${params.length} parameters, got ${args.length} arguments`);
  return params.map((t, i) => toBroker(t, args[i], `argument ${i + 1}`));
}

/** Typed arguments from Broker values, strictly, or untyped ones. */
function argsFrom(name: string, values: readonly BrokerValue[], params: readonly ZeekType[] | undefined): unknown[] {
  if (!params) return values.map(untypedFromBroker);
  if (values.length !== params.length)
    throw new TypeError(`'${name}' has ${params.length} parameters, got ${values.length} arguments`);
  return params.map((t, i) => fromBroker(t, values[i]!, `argument ${i + 1}`));
}

function withMetadata(name: string, args: unknown[], metadata: BrokerEvent["metadata"]): ClusterEvent {
  const meta = metadataFromBroker(metadata);
  return meta ? { name, args, metadata: meta } : { name, args };
}

/**
 * `broker-bin-v1`, Zeek's default event serializer. Values without a declaration use the default
 * mapping of `_broker-convert.ts`; declared events (`defineEvent`) carry Zeek's exact types.
 *
 * @example Zeek's own test vector: `Supervisor::node_status("TEST", 42)` without metadata
 * ```ts
 * import { BROKER_BIN_V1 } from "./_broker-event.ts";
 *
 * const { bytes, length } = BROKER_BIN_V1.encodeData({ name: "Supervisor::node_status", args: [{ type: "string", value: "TEST" }, { type: "count", value: 42n }] });
 * console.log(length); // 64
 * console.log(BROKER_BIN_V1.decode(bytes.slice(0, length)).args); // ["TEST", 42]
 * ```
 */
export const BROKER_BIN_V1: BrokerEventFormat = Object.freeze({
  name: "broker-bin-v1",
  encodeData(event: BrokerEvent): Payload {
    writeEnvelope(writer.reset(), event.name, event.args.length, event.metadata, (w) => {
      for (const arg of event.args) w.value(arg);
    });
    return writer;
  },
  decodeData(bytes: Uint8Array, start: number, end: number): BrokerEvent {
    const r = readBin(bytes, start, end);
    const event = readEnvelope(r, undefined);
    done(r);
    return {
      name: event.name,
      args: event.args as BrokerValue[],
      ...(event.metadata ? { metadata: event.metadata } : {}),
    };
  },
  encodeArgs(
    name: string,
    args: readonly unknown[],
    params: readonly ZeekType[] | undefined,
    metadata?: EventMetadata,
  ): Payload {
    const meta = metadataToBroker(metadata);
    if (params) return this.encodeData({ name, args: argValues(name, args, params), metadata: meta });
    writeEnvelope(writer.reset(), name, args.length, meta, (w) => {
      for (let i = 0; i < args.length; i++) w.untyped(args[i], `argument ${i + 1}`);
    });
    return writer;
  },
  decodeArgs(bytes: Uint8Array, start: number, end: number, paramsOf: ParamTypes): ClusterEvent {
    const r = readBin(bytes, start, end);
    const event = readEnvelope(r, paramsOf);
    done(r);
    return withMetadata(event.name, event.args, event.metadata);
  },
  encode(event: ClusterEvent): Uint8Array {
    const { bytes, length } = this.encodeArgs(event.name, event.args, undefined, event.metadata);
    return bytes.slice(0, length);
  },
  encodeShared(name: string, args: unknown[], metadata?: EventMetadata): Payload {
    return this.encodeArgs(name, args, undefined, metadata);
  },
  decode(payload: Uint8Array): ClusterEvent {
    return this.decodeArgs(payload, 0, payload.length, noParams);
  },
  decodeRange(bytes: Uint8Array, start: number, end: number): ClusterEvent {
    return this.decodeArgs(bytes, start, end, noParams);
  },
});

const textEncoder = new TextEncoder();

/**
 * `broker-json-v1`, Zeek's JSON event serializer: the same envelope in Broker's JSON format. Unlike
 * Broker's encoder, reals and timestamps are written without losing precision (see `_broker-json.ts`).
 *
 * @example An event as Zeek's JSON
 * ```ts
 * import { BROKER_JSON_V1 } from "./_broker-event.ts";
 *
 * const payload = BROKER_JSON_V1.encode({ name: "ping", args: ["hi"] });
 * console.log(new TextDecoder().decode(payload).slice(0, 45)); // '{"@data-type":"vector","data":[{"@data-type":'
 * ```
 */
export const BROKER_JSON_V1: BrokerEventFormat = Object.freeze({
  name: "broker-json-v1",
  encodeData(event: BrokerEvent): Payload {
    const bytes = textEncoder.encode(encodeBrokerJson(envelope(event)));
    return { bytes, length: bytes.length };
  },
  decodeData(bytes: Uint8Array, start: number, end: number): BrokerEvent {
    return fromEnvelope(decodeBrokerJson(bytes.subarray(start, end)));
  },
  encodeArgs(
    name: string,
    args: readonly unknown[],
    params: readonly ZeekType[] | undefined,
    metadata?: EventMetadata,
  ): Payload {
    return this.encodeData({ name, args: argValues(name, args, params), metadata: metadataToBroker(metadata) });
  },
  decodeArgs(bytes: Uint8Array, start: number, end: number, paramsOf: ParamTypes): ClusterEvent {
    const event = this.decodeData(bytes, start, end);
    return withMetadata(event.name, argsFrom(event.name, event.args, paramsOf(event.name)), event.metadata);
  },
  encode(event: ClusterEvent): Uint8Array {
    return this.encodeArgs(event.name, event.args, undefined, event.metadata).bytes;
  },
  decode(payload: Uint8Array): ClusterEvent {
    return untyped(this.decodeData(payload, 0, payload.length));
  },
  decodeRange(bytes: Uint8Array, start: number, end: number): ClusterEvent {
    return untyped(this.decodeData(bytes, start, end));
  },
});
