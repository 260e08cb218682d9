/**
 * @module The reading half of Broker's binary format (see `_broker-bin.ts`): `BinReader` reads values
 * from a range of bytes without copying them, and `unpack754` reads reals as CAF unpacks them. The
 * reader is strict where Broker is, and stricter where Zeek trusts the sender: a declared count or
 * length is checked against the bytes left before anything is allocated, nesting is bounded, and
 * duplicate set elements and table keys are rejected. Not part of the public API.
 */

import { formatAddr, formatSubnet, isV4Mapped, maskAddr } from "./_addr.ts";
import { untypedFromBroker } from "./_broker-convert.ts";
import { type BrokerValue, compareBroker, PORT_PROTOCOLS, textOrBytes } from "./_broker-value.ts";

/**
 * How deep values may nest; deeper payloads are rejected (Broker's own reader has no bound).
 *
 * @example One vector too many
 * ```ts
 * import { BinReader, MAX_DEPTH } from "./_broker-bin-reader.ts";
 *
 * const bytes = new Uint8Array([...Array(MAX_DEPTH + 1).fill([0x0e, 1]).flat(), 0]); // [[[…none…]]]
 * try {
 *   new BinReader(bytes, 0, bytes.length).value();
 * } catch (err) {
 *   console.log((err as TypeError).message); // "broker-bin-v1: value nested deeper than 32 levels at byte 66"
 * }
 * ```
 */
export const MAX_DEPTH = 32;

// CAF's patterns for ±∞ and NaN, as `pack754` in _broker-bin-writer.ts writes them.
const PACKED_NAN = 0xffffffffffffffffn;
const PACKED_POS_INF = 0xfff0000000000000n;
const PACKED_NEG_INF = 0x7ff0000000000000n;

/**
 * CAF's `unpack754`: what a Zeek node reads from 8 bytes, also for patterns Broker never writes. It
 * lives here rather than beside `pack754` because `BinReader.real()` calls it: with that call going
 * to an imported function, Bun decoded a typical event about 10% slower, though it is rarely made.
 *
 * @example A round trip
 * ```ts
 * import { unpack754 } from "./_broker-bin-reader.ts";
 * import { pack754 } from "./_broker-bin-writer.ts";
 *
 * console.log(unpack754(pack754(-Infinity))); // -Infinity
 * ```
 */
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

/**
 * A bounded reader over `bytes[pos, end)`; every failure is a `TypeError` saying what and where.
 *
 * @example Broker's own test vector for `[T, "abc", [1, 2]]`, by the default mapping
 * ```ts
 * import { BinReader } from "./_broker-bin-reader.ts";
 *
 * const bytes = Buffer.from("0e03010105036162630e02030000000000000001030000000000000002", "hex");
 * const r = new BinReader(bytes, 0, bytes.length);
 * console.log(r.untyped(), r.pos === r.end); // [true, "abc", [1, 2]] true
 * ```
 */
export class BinReader {
  readonly view: DataView;

  constructor(
    readonly bytes: Uint8Array,
    public pos: number,
    readonly end: number,
    readonly maxDepth: number = MAX_DEPTH,
  ) {
    // One view per buffer: messages arrive as ranges of one batch buffer.
    if (
      cachedView?.buffer !== bytes.buffer ||
      cachedOffset !== bytes.byteOffset ||
      cachedView.byteLength !== bytes.byteLength
    ) {
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
  for (let i = 1; i < sorted.length; i++)
    if (compareBroker(sorted[i - 1]!, sorted[i]!) === 0) r.fail(`duplicate ${what}`);
}
