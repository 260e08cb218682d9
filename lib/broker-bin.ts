/**
 * @module Broker's binary format (`format::bin::v1`), the payload of Zeek's default event serializer
 * `broker-bin-v1`: each value a one-byte tag and its payload, big-endian, lengths and counts as LEB128
 * varints of at most 32 bits. Reals go through CAF's `pack754`, which is IEEE-754 for normal numbers
 * only: ±∞ and NaN have patterns of their own (JavaScript's own bits would reach Zeek as the opposite
 * infinity), and subnormal numbers cannot be carried at all. The reader is strict where Broker is, and
 * stricter where Zeek trusts the sender: a declared count or length is checked against the bytes left
 * before anything is allocated, nesting is bounded, and the event envelope's shape is validated.
 */

import { formatAddr, formatSubnet, isV4Mapped, maskAddr, parseAddr, parseSubnet } from "./addr.ts";
import { untypedFromBroker, untypedToBroker } from "./broker-convert.ts";
import { BROKER_TAGS, type BrokerValue, compareBroker, parsePort, PORT_PROTOCOLS, textOrBytes } from "./broker-value.ts";

/** How deep values may nest; deeper payloads are rejected (Broker's own reader has no bound). */
export const MAX_DEPTH = 32;

const PACKED_NAN = 0xffffffffffffffffn;
const PACKED_POS_INF = 0xfff0000000000000n;
const PACKED_NEG_INF = 0x7ff0000000000000n;
const encoder = new TextEncoder();

/** A growable output buffer, reused between messages. */
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
    if (!(n >= 0 && n <= 0xffffffff)) throw new TypeError(`broker-bin-v1 cannot carry a length of ${n} (at most 2^32−1)`);
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

const scratch = new DataView(new ArrayBuffer(8));

/** CAF's `pack754`: IEEE-754 bits for normal numbers, its own patterns for ±∞ and NaN. */
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

/** CAF's `unpack754`: what a Zeek node reads from 8 bytes, also for patterns Broker never writes. */
export function unpack754(bits: bigint): number {
  if (bits === 0n) return 0;
  if (bits === 0x8000000000000000n) return -0;
  if (bits === PACKED_POS_INF) return Infinity;
  if (bits === PACKED_NEG_INF) return -Infinity;
  if (bits === PACKED_NAN) return NaN;
  const exp = Number((bits >> 52n) & 0x7ffn);
  const frac = Number(bits & 0xfffffffffffffn);
  // (1 + fraction) · 2^(exp − 1023), as CAF computes it: exact for normal patterns, one rounding else.
  const magnitude = (1 + frac / 2 ** 52) * 2 ** (exp - 1023);
  return bits >> 63n ? -magnitude : magnitude;
}

let cachedView: DataView | undefined;
let cachedBuffer: Buffer | undefined;
let cachedOffset = 0;

/** A bounded reader over `bytes[pos, end)`; every failure is a `TypeError` saying what and where. */
export class BinReader {
  readonly view: DataView;

  constructor(
    readonly bytes: Uint8Array,
    public pos: number,
    readonly end: number,
    readonly maxDepth: number = MAX_DEPTH,
  ) {
    // One view per buffer: messages arrive as ranges of one batch buffer.
    if (cachedView?.buffer !== bytes.buffer || cachedOffset !== bytes.byteOffset || cachedView.byteLength !== bytes.byteLength) {
      cachedView = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      cachedBuffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      cachedOffset = bytes.byteOffset;
    }
    this.view = cachedView;
    this.buffer = cachedBuffer!;
  }

  readonly buffer: Buffer;

  fail(what: string): never {
    throw new TypeError(`broker-bin-v1: ${what} at byte ${this.pos}`);
  }

  /** Consumes the tag byte `tag`, or fails saying `what` was expected. */
  tag(tag: number, what: string): void {
    if (this.pos >= this.end || this.bytes[this.pos] !== tag) this.fail(`not a Zeek event: expected ${what}`);
    this.pos++;
  }

  need(n: number, what: string): void {
    if (n > this.end - this.pos) this.fail(`truncated ${what}`);
  }

  varint(): number {
    if (this.pos < this.end && this.bytes[this.pos]! < 0x80) return this.bytes[this.pos++]!;
    let n = 0;
    for (let i = 0; i < 5; i++) {
      this.need(1, "length");
      const b = this.bytes[this.pos++]!;
      n += (b & 0x7f) * 2 ** (7 * i);
      if ((b & 0x80) === 0) return n > 0xffffffff ? this.fail("length beyond 32 bits") : n;
    }
    return this.fail("length of more than 5 bytes");
  }

  /** A count of elements, each at least `minBytes` long, checked against what is left. */
  count(minBytes: number, what: string): number {
    const n = this.varint();
    if (n * minBytes > this.end - this.pos) this.fail(`${what} of ${n} elements in ${this.end - this.pos} bytes`);
    return n;
  }

  u64(what: string): bigint {
    this.need(8, what);
    const v = this.view.getBigUint64(this.pos);
    this.pos += 8;
    return v;
  }

  slice(n: number, what: string): Uint8Array {
    this.need(n, what);
    const out = this.bytes.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  text(): string {
    const t = this.stringValue(this.varint());
    return typeof t === "string" ? t : this.fail("name that is not UTF-8");
  }

  /** `n` bytes of string: text when UTF-8 (short ASCII decoded in place), else the bytes. */
  stringValue(n: number): string | Uint8Array {
    this.need(n, "string");
    const b = this.bytes;
    const end = this.pos + n;
    let i = this.pos;
    while (i < end && b[i]! < 0x80) i++;
    if (i === end) {
      // ASCII, the common case: one native call makes a flat string.
      const out = this.buffer.toString("latin1", this.pos, end);
      this.pos = end;
      return out;
    }
    return textOrBytes(this.slice(n, "string"));
  }

  /** A real as CAF unpacks it; normal numbers (the common case) straight from their IEEE bits. */
  real(): number {
    this.need(8, "real");
    const exp = (this.view.getUint32(this.pos) >>> 20) & 0x7ff;
    if (exp !== 0 && exp !== 0x7ff) {
      const d = this.view.getFloat64(this.pos);
      this.pos += 8;
      return d;
    }
    return unpack754(this.u64("real"));
  }

  /** Whether the next 8 bytes hold the uint64 `n` (a small number); consumed if so. */
  small64(n: number): boolean {
    this.need(8, "count");
    if (this.view.getUint32(this.pos) !== 0 || this.view.getUint32(this.pos + 4) !== n) return false;
    this.pos += 8;
    return true;
  }

  /** An int64 or uint64 as a number when exact, else a bigint. */
  integer(signed: boolean, what: string): number | bigint {
    this.need(8, what);
    const high = signed ? this.view.getInt32(this.pos) : this.view.getUint32(this.pos);
    const low = this.view.getUint32(this.pos + 4);
    this.pos += 8;
    if (high >= -0x200000 && high < 0x200000) {
      const v = high * 4294967296 + low;
      if (Number.isSafeInteger(v)) return v;
    }
    return signed ? BigInt.asIntN(64, (BigInt(high) << 32n) | BigInt(low)) : (BigInt(high) << 32n) | BigInt(low);
  }

  /** Reads one value straight into its JavaScript form by the default mapping (`untypedFromBroker`). */
  untyped(depth = 0): unknown {
    this.need(1, "value");
    switch (this.bytes[this.pos]) {
      case 0:
        this.pos++;
        return null;
      case 2:
      case 3:
        return this.integer(this.bytes[this.pos++] === 3, "integer");
      case 4:
        this.pos++;
        return this.real();
      case 5:
        this.pos++;
        return this.stringValue(this.varint());
      case 14: {
        if (depth >= this.maxDepth) this.fail(`value nested deeper than ${this.maxDepth} levels`);
        this.pos++;
        const n = this.count(1, "vector");
        const items = new Array<unknown>(n);
        for (let i = 0; i < n; i++) items[i] = this.untyped(depth + 1);
        return items;
      }
      default:
        return untypedFromBroker(this.value(depth));
    }
  }

  /** Reads one Broker value. */
  value(depth = 0): BrokerValue {
    if (depth > this.maxDepth) this.fail(`value nested deeper than ${this.maxDepth} levels`);
    this.need(1, "value");
    const tag = this.bytes[this.pos++]!;
    switch (tag) {
      case 0:
        return { type: "none" };
      case 1:
        return { type: "boolean", value: this.slice(1, "boolean")[0] !== 0 };
      case 2:
        return { type: "count", value: this.u64("count") };
      case 3:
        return { type: "integer", value: BigInt.asIntN(64, this.u64("integer")) };
      case 4:
        return { type: "real", value: this.real() };
      case 5:
        return { type: "string", value: this.stringValue(this.varint()) };
      case 6:
        return { type: "address", value: formatAddr(this.slice(16, "address")) };
      case 7: {
        const network = this.slice(16, "subnet");
        const length = this.slice(1, "subnet")[0]!;
        // Zeek computes an IPv4 prefix as length − 96: a smaller one would underflow there.
        if (length > 128 || (isV4Mapped(network) && length < 96)) this.fail(`subnet length ${length}`);
        return { type: "subnet", value: formatSubnet(maskAddr(network, length), length) };
      }
      case 8: {
        const bytes = this.slice(3, "port");
        if (bytes[2]! > 3) this.fail(`port protocol ${bytes[2]}`);
        return { type: "port", value: `${(bytes[0]! << 8) | bytes[1]!}/${PORT_PROTOCOLS[bytes[2]!]}` };
      }
      case 9:
        return { type: "timestamp", value: BigInt.asIntN(64, this.u64("timestamp")) };
      case 10:
        return { type: "timespan", value: BigInt.asIntN(64, this.u64("timespan")) };
      case 11:
        return { type: "enum-value", value: this.text() };
      case 12:
      case 14: {
        const n = this.count(1, tag === 12 ? "set" : "vector");
        const items: BrokerValue[] = new Array(n);
        for (let i = 0; i < n; i++) items[i] = this.value(depth + 1);
        if (tag === 14) return { type: "vector", value: items };
        unique(items.slice().sort(compareBroker), this, "set element");
        return { type: "set", value: items };
      }
      case 13: {
        const n = this.count(2, "table");
        const pairs: [BrokerValue, BrokerValue][] = new Array(n);
        for (let i = 0; i < n; i++) pairs[i] = [this.value(depth + 1), this.value(depth + 1)];
        unique(pairs.map((p) => p[0]).sort(compareBroker), this, "table key");
        return { type: "table", value: pairs };
      }
      default:
        this.pos--;
        return this.fail(`unknown type tag ${tag}`);
    }
  }
}

function unique(sorted: BrokerValue[], r: BinReader, what: string): void {
  for (let i = 1; i < sorted.length; i++) if (compareBroker(sorted[i - 1]!, sorted[i]!) === 0) r.fail(`duplicate ${what}`);
}

/**
 * One Broker value as bytes.
 *
 * @example A count, and the three kinds of reals Zeek and JavaScript disagree on
 * ```ts
 * import { encodeBrokerBin } from "./broker-bin.ts";
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
 * elements and nesting deeper than {@linkcode MAX_DEPTH} are rejected.
 *
 * @example Broker's own test vector for `[T, "abc", [1, 2]]`
 * ```ts
 * import { decodeBrokerBin } from "./broker-bin.ts";
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
