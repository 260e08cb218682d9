/**
 * @module Broker's data model (`broker::data`), one tagged JavaScript value per Broker type, with the
 * type names of Broker's JSON format. Both Broker formats (`broker-bin-v1`, `broker-json-v1`) read and
 * write it; typed and untyped JavaScript values are converted to and from it. Broker's total order
 * (by type, then by value) is here too: Zeek sends sets and tables sorted by it.
 */

import { formatAddr, parseAddr, parseSubnet } from "./_addr.ts";

/** The port protocols Broker knows, by the byte it sends. */
export const PORT_PROTOCOLS = ["?", "tcp", "udp", "icmp"] as const;

/** A Broker value: Broker's type (by its JSON name) and its value. */
export type BrokerValue =
  | { readonly type: "none" }
  | { readonly type: "boolean"; readonly value: boolean }
  /** 0 … 2^64−1 */
  | { readonly type: "count"; readonly value: bigint }
  /** −2^63 … 2^63−1 */
  | { readonly type: "integer"; readonly value: bigint }
  | { readonly type: "real"; readonly value: number }
  /** Text, or raw bytes when they are not UTF-8 (Zeek strings are bytes). */
  | { readonly type: "string"; readonly value: string | Uint8Array }
  /** `1.2.3.4`, `2001:db8::1`. */
  | { readonly type: "address"; readonly value: string }
  /** `10.0.0.0/8` (the length as users write it). */
  | { readonly type: "subnet"; readonly value: string }
  /** `80/tcp`; protocols `tcp`, `udp`, `icmp`, `?`. */
  | { readonly type: "port"; readonly value: string }
  /** Nanoseconds since 1970-01-01 UTC. */
  | { readonly type: "timestamp"; readonly value: bigint }
  /** Nanoseconds. */
  | { readonly type: "timespan"; readonly value: bigint }
  /** An enum value by its Zeek name, e.g. `Cluster::WORKER` or `tcp`. */
  | { readonly type: "enum-value"; readonly value: string }
  | { readonly type: "set"; readonly value: readonly BrokerValue[] }
  | { readonly type: "table"; readonly value: readonly (readonly [BrokerValue, BrokerValue])[] }
  | { readonly type: "vector"; readonly value: readonly BrokerValue[] };

/** A Broker type name. */
export type BrokerType = BrokerValue["type"];

/** Broker's type tags (`variant_tag.hh`), by type; the binary format's first byte and the sort order. */
export const BROKER_TAGS: Readonly<Record<BrokerType, number>> = Object.freeze({
  none: 0,
  boolean: 1,
  count: 2,
  integer: 3,
  real: 4,
  string: 5,
  address: 6,
  subnet: 7,
  port: 8,
  timestamp: 9,
  timespan: 10,
  "enum-value": 11,
  set: 12,
  table: 13,
  vector: 14,
});

/** The `none` value. */
export const NONE: BrokerValue = Object.freeze({ type: "none" });

const encoder = new TextEncoder();
const strictDecoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/** Bytes as text when they are valid UTF-8, else the bytes themselves. */
export function textOrBytes(bytes: Uint8Array): string | Uint8Array {
  try {
    return strictDecoder.decode(bytes);
  } catch {
    return bytes.slice();
  }
}

/** The bytes of a string value. */
export function stringBytes(value: string | Uint8Array): Uint8Array {
  return typeof value === "string" ? encoder.encode(value) : value;
}

/** Splits `80/tcp` into number and protocol byte; `undefined` when it is no port. */
export function parsePort(text: string): { port: number; protocol: number } | undefined {
  const m = /^(\d{1,5})\/(tcp|udp|icmp|\?)$/.exec(text);
  if (!m) return undefined;
  const port = Number(m[1]);
  return port > 65535 ? undefined : { port, protocol: PORT_PROTOCOLS.indexOf(m[2] as (typeof PORT_PROTOCOLS)[number]) };
}

/** Broker's order on two byte strings: unsigned bytes, a prefix first. */
function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return a.length - b.length;
}

const cmp = <T extends number | bigint>(a: T, b: T): number => (a < b ? -1 : a > b ? 1 : 0);

function compareSeq(a: readonly BrokerValue[], b: readonly BrokerValue[]): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const c = compareBroker(a[i]!, b[i]!);
    if (c !== 0) return c;
  }
  return a.length - b.length;
}

/**
 * Broker's total order on data (the order of `std::variant` and of each type's `operator<`): by type
 * tag, then by value. Zeek's sets and tables are `std::set`/`std::map` over it, so what Zeek sends is
 * sorted this way.
 */
export function compareBroker(a: BrokerValue, b: BrokerValue): number {
  if (a.type !== b.type) return BROKER_TAGS[a.type] - BROKER_TAGS[b.type];
  switch (a.type) {
    case "none":
      return 0;
    case "boolean":
      return Number(a.value) - Number((b as typeof a).value);
    case "count":
    case "integer":
    case "timestamp":
    case "timespan":
      return cmp(a.value, (b as typeof a).value);
    case "real":
      return cmp(a.value, (b as typeof a).value);
    case "string":
      return compareBytes(stringBytes(a.value), stringBytes((b as typeof a).value));
    case "enum-value":
      return compareBytes(encoder.encode(a.value), encoder.encode((b as typeof a).value));
    case "address":
      return compareBytes(
        parseAddr(a.value) ?? new Uint8Array(0),
        parseAddr((b as typeof a).value) ?? new Uint8Array(0),
      );
    case "subnet": {
      const [x, y] = [parseSubnet(a.value), parseSubnet((b as typeof a).value)];
      if (!x || !y) return a.value < (b as typeof a).value ? -1 : 1;
      return compareBytes(x.network, y.network) || x.length - y.length;
    }
    case "port": {
      const [x, y] = [parsePort(a.value), parsePort((b as typeof a).value)];
      if (!x || !y) return a.value < (b as typeof a).value ? -1 : 1;
      return x.port - y.port || x.protocol - y.protocol;
    }
    case "set":
    case "vector":
      return compareSeq(a.value, (b as typeof a).value);
    case "table": {
      const [x, y] = [a.value, (b as typeof a).value];
      const n = Math.min(x.length, y.length);
      for (let i = 0; i < n; i++) {
        const c = compareBroker(x[i]![0], y[i]![0]) || compareBroker(x[i]![1], y[i]![1]);
        if (c !== 0) return c;
      }
      return x.length - y.length;
    }
  }
}

/** Text of 16 address bytes, for codecs that read bytes. */
export function addressText(bytes: Uint8Array, offset = 0): string {
  return formatAddr(bytes, offset);
}
