/**
 * @module Typed events: `defineEvent(name, params)` declares an event's parameters with Zeek's type
 * names, so that publishing checks and encodes each argument exactly as Zeek expects it (a `count` as a
 * count, a `time` as a timestamp) and handlers get typed values. Events without a declaration keep
 * working between this library's nodes with the default mapping of `_broker-convert.ts`.
 */

import { fromBroker, plainFromBroker, toBroker } from "./_broker-convert.ts";
import { type BrokerEventFormat, metadataToBroker, type Payload } from "./_broker-event.ts";
import type { BrokerValue } from "./_broker-value.ts";
import type { ClusterEvent, EventFormat, EventMetadata } from "./serializer.ts";
import {
  checkName,
  parseZeekType,
  type TypeSpec,
  typeName,
  type ZeekInput,
  type ZeekType,
  type ZeekValue,
} from "./zeek-types.ts";

declare const PARAMS: unique symbol;

/** Parameters by name, in order, each with its Zeek type. */
export type ParamSpec = Readonly<Record<string, TypeSpec>>;

/** A declared event: its name and parameters. Made by {@linkcode defineEvent}. */
export interface EventType<P extends ParamSpec = ParamSpec> {
  /** The event name, e.g. `Intel::insert`. */
  readonly name: string;
  /** The parameters in order. */
  readonly params: readonly { readonly name: string; readonly type: ZeekType }[];
  /** The parameter types in order. */
  readonly types: readonly ZeekType[];
  /** Keeps the declaration for TypeScript. */
  readonly [PARAMS]?: P;
}

/** The arguments a handler of `E` gets, by parameter name. */
export type EventArgs<E> = E extends EventType<infer P> ? { -readonly [K in keyof P]: ZeekValue<P[K]> } : never;
/** The arguments `publish` takes for `E`, by parameter name. */
export type EventInput<E> = E extends EventType<infer P> ? { readonly [K in keyof P]: ZeekInput<P[K]> } : never;

/**
 * Declares an event's parameters with Zeek's type names, as in Zeek's
 * `global ping: event(who: string, n: count)`.
 *
 * @example Publishing and handling a typed event
 * ```ts
 * import { defineEvent } from "./events.ts";
 *
 * const Ping = defineEvent("ping", { who: "string", n: "count", seen: "set[addr]" });
 * console.log(Ping.params.map((p) => p.name)); // ["who", "n", "seen"]
 * // node.on(Ping, ({ who, n, seen }) => …) gets a string, a number and a Set<string>;
 * // node.publish(topic, Ping, { who: "w1", n: 1, seen: ["10.0.0.1"] }) checks each against its type.
 * ```
 *
 * @throws {TypeError} a name that is not a string, or params that are not an object.
 * @throws {RangeError} an unknown type, naming the event and the parameter.
 */
export function defineEvent<const P extends ParamSpec>(name: string, params: P): EventType<P> {
  if (typeof name !== "string" || name === "")
    throw new TypeError(`Invalid event: expected a name, got ${String(name)}`);
  if (typeof params !== "object" || params === null || Array.isArray(params)) {
    throw new TypeError(`Invalid event '${name}': expected parameters by name, e.g. { who: "string", n: "count" }`);
  }
  const list = Object.entries(params).map(([param, spec]) => {
    checkName(param, `parameter of event '${name}': parameter`);
    return Object.freeze({ name: param, type: parseZeekType(spec, `type of parameter '${param}' of event '${name}'`) });
  });
  return Object.freeze({
    name,
    params: Object.freeze(list),
    types: Object.freeze(list.map((p) => p.type)),
  }) as EventType<P>;
}

/** Whether two declarations describe the same event (same name, parameter names and types). */
export function sameEvent(a: EventType, b: EventType): boolean {
  return (
    a.name === b.name &&
    a.params.length === b.params.length &&
    a.params.every((p, i) => p.name === b.params[i]!.name && typeName(p.type) === typeName(b.params[i]!.type))
  );
}

/** Whether a value is a declared event. */
export function isEventType(v: unknown): v is EventType {
  return (
    typeof v === "object" &&
    v !== null &&
    typeof (v as EventType).name === "string" &&
    Array.isArray((v as EventType).params)
  );
}

function isBrokerFormat(f: EventFormat): f is BrokerEventFormat {
  return typeof (f as BrokerEventFormat).encodeArgs === "function";
}

/**
 * Encodes an event in `format`. With a declaration, `args` are by parameter name (or in parameter
 * order) and each is checked and encoded with its Zeek type; without, `args` is the positional list and
 * the default mapping applies.
 *
 * @throws {TypeError} `Cannot publish '<event>': argument '<param>' expects …, got …`; nothing is encoded.
 */
export function encodeEvent(
  format: EventFormat,
  name: string,
  args: readonly unknown[] | Readonly<Record<string, unknown>>,
  type: EventType | undefined,
  metadata?: EventMetadata,
): Payload {
  try {
    if (!type) {
      if (isBrokerFormat(format)) return format.encodeArgs(name, args as unknown[], undefined, metadata);
      return encodeUntyped(
        format,
        metadata ? { name, args: args as unknown[], metadata } : { name, args: args as unknown[] },
      );
    }
    const values = typedArgs(type, args);
    if (isBrokerFormat(format)) return format.encodeData({ name, args: values, metadata: metadataToBroker(metadata) });
    return encodeUntyped(format, { name, args: values.map(plainFromBroker), ...(metadata ? { metadata } : {}) });
  } catch (err: unknown) {
    if (err instanceof TypeError) throw new TypeError(`Cannot publish '${name}': ${err.message}`);
    throw err;
  }
}

function encodeUntyped(format: EventFormat, event: ClusterEvent): Payload {
  const shared = format.encodeShared?.(event.name, event.args, event.metadata);
  if (shared) return shared;
  const bytes = format.encode(event);
  return { bytes, length: bytes.length };
}

function typedArgs(type: EventType, given: readonly unknown[] | Readonly<Record<string, unknown>>): BrokerValue[] {
  let args = given as Readonly<Record<string, unknown>>;
  if (Array.isArray(given)) {
    // Positional arguments (a declared event published by its name) are taken in parameter order.
    if (given.length !== type.params.length)
      throw new TypeError(`it has ${type.params.length} parameters, got ${given.length} arguments`);
    args = Object.fromEntries(type.params.map((p, i) => [p.name, given[i]]));
  }
  if (typeof args !== "object" || args === null || Array.isArray(args)) {
    throw new TypeError(
      `expected the arguments by name (${type.params.map((p) => p.name).join(", ")}), got ${Array.isArray(args) ? "an array" : String(args)}`,
    );
  }
  for (const key in args) {
    if (!type.params.some((p) => p.name === key)) throw new TypeError(`has no parameter '${key}'`);
  }
  return type.params.map((p) => {
    const v = args[p.name];
    if (v === undefined) throw new TypeError(`argument '${p.name}' is missing (${typeName(p.type)})`);
    return toBroker(p.type, v, `argument '${p.name}'`);
  });
}

/** A received event: positional arguments, and by name when the event is declared. */
export interface DecodedEvent {
  readonly name: string;
  readonly args: unknown[];
  /** The arguments by parameter name, for declared events. */
  readonly named: Record<string, unknown> | undefined;
  readonly metadata: EventMetadata | undefined;
}

/**
 * Decodes `bytes[start, end)` in `format`; a declared event's arguments are converted strictly with
 * their types (as Zeek does: a count only from a count), others with the default mapping.
 *
 * @throws {TypeError} a malformed payload, or arguments that do not match the declaration.
 */
export function decodeEvent(
  format: EventFormat,
  bytes: Uint8Array,
  start: number,
  end: number,
  typeOf: (name: string) => EventType | undefined,
): DecodedEvent {
  if (isBrokerFormat(format)) {
    const event = format.decodeArgs(bytes, start, end, (name) => typeOf(name)?.types);
    const type = typeOf(event.name);
    return {
      name: event.name,
      args: event.args,
      named: type ? named(type, event.args) : undefined,
      metadata: event.metadata,
    };
  }
  const event = format.decodeRange ? format.decodeRange(bytes, start, end) : format.decode(bytes.subarray(start, end));
  const type = typeOf(event.name);
  if (!type) return { name: event.name, args: event.args, named: undefined, metadata: event.metadata };
  if (event.args.length !== type.params.length)
    throw new TypeError(`'${type.name}' has ${type.params.length} parameters, got ${event.args.length} arguments`);
  const args = type.params.map((p, i) => {
    const path = `argument '${p.name}'`;
    return fromBroker(p.type, toBroker(p.type, event.args[i], path, true), path);
  });
  return { name: event.name, args, named: named(type, args), metadata: event.metadata };
}

function named(type: EventType, args: readonly unknown[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [i, p] of type.params.entries()) out[p.name] = args[i];
  return out;
}
