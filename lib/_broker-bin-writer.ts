/**
 * @module The writing half of Broker's binary format (see `_broker-bin.ts`): `BinWriter` appends
 * values to one growable buffer that is reused between messages, scalars and short ASCII strings
 * written in place, and `pack754` packs the reals that are not normal numbers as CAF does. Not part
 * of the public API.
 */

import { parseAddr, parseSubnet } from "./_addr.ts";
import { untypedToBroker } from "./_broker-convert.ts";
import { BROKER_TAGS, type BrokerValue, parsePort } from "./_broker-value.ts";

const encoder = new TextEncoder();
// CAF's patterns for ±∞ and NaN (`unpack754` in _broker-bin-reader.ts reads them back).
const PACKED_NAN = 0xffffffffffffffffn;
const PACKED_POS_INF = 0xfff0000000000000n;
const PACKED_NEG_INF = 0x7ff0000000000000n;
const scratch = new DataView(new ArrayBuffer(8));

/**
 * A growable output buffer, reused between messages.
 *
 * @example A count, then a JavaScript array by the default mapping
 * ```ts
 * import { BinWriter } from "./_broker-bin-writer.ts";
 *
 * const w = new BinWriter();
 * w.value({ type: "count", value: 42n });
 * w.untyped(["abc", 1.5], "example");
 * console.log(Buffer.from(w.bytes.subarray(0, w.length)).toString("hex")); // "02000000000000002a0e020503616263043ff8000000000000"
 * ```
 */
export class BinWriter {
  bytes: Uint8Array = new Uint8Array(1024);
  view: DataView = new DataView(this.bytes.buffer);
  length = 0;

  /** Starts a new message in the same buffer. */
  reset(): this {
    this.length = 0;
    return this;
  }

  ensure(n: number): void {
    if (this.length + n <= this.bytes.length) return;
    const grown = new Uint8Array(Math.max(this.bytes.length * 2, this.length + n));
    grown.set(this.bytes.subarray(0, this.length));
    this.bytes = grown;
    this.view = new DataView(grown.buffer);
  }

  byte(b: number): void {
    this.ensure(1);
    this.bytes[this.length++] = b;
  }

  varint(n: number): void {
    if (n >= 0 && n < 0x80) return this.byte(n);
    if (!(n >= 0 && n <= 0xffffffff))
      throw new TypeError(`broker-bin-v1 cannot carry a length of ${n} (at most 2^32−1)`);
    this.ensure(5);
    while (n >= 0x80) {
      this.bytes[this.length++] = (n & 0x7f) | 0x80;
      n = Math.floor(n / 128);
    }
    this.bytes[this.length++] = n;
  }

  u64(tag: number, v: bigint): void {
    this.ensure(9);
    this.bytes[this.length] = tag;
    this.view.setBigUint64(this.length + 1, BigInt.asUintN(64, v));
    this.length += 9;
  }

  raw(b: Uint8Array): void {
    this.ensure(b.length);
    this.bytes.set(b, this.length);
    this.length += b.length;
  }

  text(tag: number, s: string | Uint8Array): void {
    if (typeof s === "string" && s.length < 128) {
      // Most names and strings are short ASCII: write them in place, their length in one byte.
      this.ensure(2 + s.length);
      const b = this.bytes;
      let i = 0;
      for (; i < s.length; i++) {
        const c = s.charCodeAt(i);
        if (c >= 0x80) break;
        b[this.length + 2 + i] = c;
      }
      if (i === s.length) {
        b[this.length] = tag;
        b[this.length + 1] = s.length;
        this.length += 2 + s.length;
        return;
      }
    }
    const bytes = typeof s === "string" ? encoder.encode(s) : s;
    this.byte(tag);
    this.varint(bytes.length);
    this.raw(bytes);
  }

  /** A real as CAF packs it; normal numbers straight as their IEEE bits. */
  real(d: number): void {
    const abs = Math.abs(d);
    if (!(abs >= 2.2250738585072014e-308 && abs <= Number.MAX_VALUE)) return this.u64(4, pack754(d));
    this.ensure(9);
    this.bytes[this.length] = 4;
    this.view.setFloat64(this.length + 1, d);
    this.length += 9;
  }

  /** A safe integer as an int64 with `tag`, without going through a bigint. */
  int64(tag: number, n: number): void {
    this.ensure(9);
    const high = Math.floor(n / 4294967296);
    this.bytes[this.length] = tag;
    this.view.setInt32(this.length + 1, high);
    this.view.setUint32(this.length + 5, n - high * 4294967296);
    this.length += 9;
  }

  /** A JavaScript value by the default mapping (`untypedToBroker`), scalars written directly. */
  untyped(v: unknown, path: string): void {
    switch (typeof v) {
      case "number":
        if (Number.isSafeInteger(v) && !Object.is(v, -0)) return this.int64(3, v);
        return this.real(v);
      case "string":
        return this.text(5, v);
      case "boolean":
        this.byte(1);
        return this.byte(v ? 1 : 0);
      case "undefined":
        return this.byte(0);
    }
    if (v === null) return this.byte(0);
    if (Array.isArray(v)) {
      this.byte(14);
      this.varint(v.length);
      for (let i = 0; i < v.length; i++) this.untyped(v[i], `${path}[${i}]`);
      return;
    }
    this.value(untypedToBroker(v, path));
  }

  /** Appends one Broker value. */
  value(v: BrokerValue): void {
    const tag = BROKER_TAGS[v.type];
    switch (v.type) {
      case "none":
        return this.byte(tag);
      case "boolean":
        this.byte(tag);
        return this.byte(v.value ? 1 : 0);
      case "count":
      case "integer":
      case "timestamp":
      case "timespan":
        return this.u64(tag, v.value);
      case "real":
        return this.real(v.value);
      case "string":
      case "enum-value":
        return this.text(tag, v.value);
      case "address": {
        const bytes = parseAddr(v.value);
        if (!bytes) throw new TypeError(`broker-bin-v1: '${v.value}' is no address`);
        this.byte(tag);
        return this.raw(bytes);
      }
      case "subnet": {
        const net = parseSubnet(v.value);
        if (!net) throw new TypeError(`broker-bin-v1: '${v.value}' is no subnet`);
        this.byte(tag);
        this.raw(net.network);
        return this.byte(net.length);
      }
      case "port": {
        const port = parsePort(v.value);
        if (!port) throw new TypeError(`broker-bin-v1: '${v.value}' is no port`);
        this.ensure(4);
        this.bytes[this.length] = tag;
        this.view.setUint16(this.length + 1, port.port);
        this.bytes[this.length + 3] = port.protocol;
        this.length += 4;
        return;
      }
      case "set":
      case "vector":
        this.byte(tag);
        this.varint(v.value.length);
        for (const x of v.value) this.value(x);
        return;
      case "table":
        this.byte(tag);
        this.varint(v.value.length);
        for (const [k, x] of v.value) {
          this.value(k);
          this.value(x);
        }
        return;
    }
  }
}

/**
 * CAF's `pack754`: IEEE-754 bits for normal numbers, its own patterns for ±∞ and NaN.
 *
 * @example Infinity is not JavaScript's bit pattern
 * ```ts
 * import { pack754 } from "./_broker-bin-writer.ts";
 *
 * console.log(pack754(Infinity).toString(16)); // "fff0000000000000"
 * ```
 *
 * @throws {TypeError} a subnormal number.
 */
export function pack754(d: number): bigint {
  if (Number.isNaN(d)) return PACKED_NAN;
  if (d === Infinity) return PACKED_POS_INF;
  if (d === -Infinity) return PACKED_NEG_INF;
  if (d !== 0 && Math.abs(d) < 2.2250738585072014e-308) {
    throw new TypeError(`broker-bin-v1 cannot carry the subnormal number ${d}: Zeek would read a different one`);
  }
  scratch.setFloat64(0, d);
  return scratch.getBigUint64(0);
}
