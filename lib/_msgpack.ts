/**
 * @module A fast MessagePack path for what events carry most: strings, numbers, booleans, nil and
 * arrays (and maps on decode). It writes into one reused buffer and reads without views, several
 * times cheaper than a general library per small event. Anything else (objects, bigints, binary,
 * dates, extension types) goes through msgpackr, so the bytes are always plain MessagePack and the
 * values always what msgpackr would give. This module is the one place msgpackr is configured: every
 * MessagePack payload (`msgpack-v1` events in `serializer.ts`, `msgpack-log-v1` batches in
 * `_log-msgpack.ts`) is written and read here. Reading is bounded, because payloads come from the
 * network: no declared count or length is trusted beyond the bytes that remain, nesting stops at
 * {@linkcode MAX_DEPTH}, and msgpackr sees a payload only after {@linkcode checkMsgpack} walked it.
 * Not part of the public API.
 */

// The entry points without msgpackr's native string extractor (msgpackr-extract): it costs every node
// about 10 MB of RSS and speeds up only strings far longer than Zeek's events carry.
import { Packr } from "msgpackr/pack";
import { Unpackr } from "msgpackr/unpack";

// Plain MessagePack that any language reads: no record extension, no msgpackr-only types.
const packr = new Packr({ useRecords: false, moreTypes: false });
const unpackr = new Unpackr({
  useRecords: false,
  moreTypes: false,
  mapsAsObjects: true, // maps as plain objects
  // Numbers when safe, bigint beyond 2^53: supported by msgpackr but missing from its types.
  int64AsType: "auto" as unknown as "number",
});

/** The encoder's output: `bytes[0, length)`, valid until the next encode. */
export interface Encoded {
  bytes: Uint8Array;
  length: number;
}

const out: Encoded = { bytes: new Uint8Array(4096), length: 0 };
let view = new DataView(out.bytes.buffer);
let pos = 0;

function ensure(n: number): void {
  if (pos + n <= out.bytes.length) return;
  const grown = new Uint8Array(Math.max(out.bytes.length * 2, pos + n));
  grown.set(out.bytes.subarray(0, pos));
  out.bytes = grown;
  view = new DataView(grown.buffer);
}

function writeString(s: string): void {
  const n = s.length;
  ensure(5 + n * 3);
  const b = out.bytes;
  // Most strings are ASCII: write them directly and fall back to TextEncoder at the first other char.
  const at = n < 32 ? pos + 1 : n < 256 ? pos + 2 : n < 65536 ? pos + 3 : pos + 5;
  let i = 0;
  for (; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0x80) break;
    b[at + i] = c;
  }
  const len = i < n ? i + encoder.encodeInto(s.slice(i), b.subarray(at + i)).written : n;
  const header = len < 32 ? 1 : len < 256 ? 2 : len < 65536 ? 3 : 5;
  // Non-ASCII text can need a bigger header than the character count suggested: move the bytes along.
  if (header !== at - pos) b.copyWithin(pos + header, at, at + len);
  writeStringHeader(len, header);
}

function writeStringHeader(len: number, header: number): void {
  const b = out.bytes;
  if (header === 1) b[pos] = 0xa0 | len;
  else if (header === 2) (b[pos] = 0xd9), (b[pos + 1] = len);
  else if (header === 3) (b[pos] = 0xda), view.setUint16(pos + 1, len);
  else (b[pos] = 0xdb), view.setUint32(pos + 1, len);
  pos += header + len;
}

function writeNumber(v: number): void {
  ensure(9);
  const b = out.bytes;
  // -0 is no integer here: as float64 it keeps its sign (msgpackr would send 0).
  if (Number.isInteger(v) && v >= -0x80000000 && v <= 0xffffffff && !Object.is(v, -0)) {
    if (v >= 0) {
      if (v < 0x80) b[pos++] = v;
      else if (v < 0x100) (b[pos] = 0xcc), (b[pos + 1] = v), (pos += 2);
      else if (v < 0x10000) (b[pos] = 0xcd), view.setUint16(pos + 1, v), (pos += 3);
      else (b[pos] = 0xce), view.setUint32(pos + 1, v), (pos += 5);
    } else if (v >= -0x20) b[pos++] = v & 0xff;
    else if (v >= -0x80) (b[pos] = 0xd0), view.setInt8(pos + 1, v), (pos += 2);
    else if (v >= -0x8000) (b[pos] = 0xd1), view.setInt16(pos + 1, v), (pos += 3);
    else (b[pos] = 0xd2), view.setInt32(pos + 1, v), (pos += 5);
    return;
  }
  b[pos] = 0xcb;
  view.setFloat64(pos + 1, v);
  pos += 9;
}

function writeValue(v: unknown): void {
  if (typeof v === "string") return writeString(v);
  if (typeof v === "number") return writeNumber(v);
  if (typeof v === "boolean" || v === null) {
    ensure(1);
    out.bytes[pos++] = v === null ? 0xc0 : v ? 0xc3 : 0xc2;
    return;
  }
  if (Array.isArray(v)) {
    ensure(5);
    const n = v.length;
    if (n < 16) out.bytes[pos++] = 0x90 | n;
    else if (n < 65536) (out.bytes[pos] = 0xdc), view.setUint16(pos + 1, n), (pos += 3);
    else (out.bytes[pos] = 0xdd), view.setUint32(pos + 1, n), (pos += 5);
    for (let i = 0; i < n; i++) writeValue(v[i]);
    return;
  }
  // msgpackr would quietly turn these into undefined: refuse them instead of losing the value.
  if (typeof v === "function" || typeof v === "symbol")
    throw new TypeError(`Cannot encode a ${typeof v} in msgpack-v1`);
  // Everything else is msgpackr's: maps, bigints, binary, dates, undefined, its errors for the rest.
  const bytes = packr.pack(v);
  ensure(bytes.length);
  out.bytes.set(bytes, pos);
  pos += bytes.length;
}

const encoder = new TextEncoder();

/** Encodes `value` (msgpackr handles what the fast path does not) into the shared buffer. */
export function encodeShared(value: unknown): Encoded {
  pos = 0;
  writeValue(value);
  out.length = pos;
  return out;
}

/** Encodes `[name, args]`, or `[name, args, metadata]` when there is metadata, without building that array. */
export function encodeEventShared(name: string, args: unknown[], metadata: unknown[] | undefined): Encoded {
  pos = 0;
  ensure(1);
  out.bytes[pos++] = metadata?.length ? 0x93 : 0x92;
  writeString(name);
  writeValue(args);
  if (metadata?.length) writeValue(metadata);
  out.length = pos;
  return out;
}

/**
 * How deep arrays and maps may nest in a payload; deeper ones are rejected before anything is built
 * (Broker's JSON reader allows as much; its binary reader 32).
 *
 * @example One array too deep
 * ```ts
 * import { checkMsgpack, MAX_DEPTH } from "./_msgpack.ts";
 *
 * const deep = new Uint8Array([...Array(MAX_DEPTH + 1).fill(0x91), 0xc0]); // [[[…nil…]]]
 * console.log(checkMsgpack(deep, 0, deep.length)); // "nested deeper than 64 levels at byte 64"
 * ```
 */
export const MAX_DEPTH = 64;

/** Thrown inside the decoder when a type is not on the fast path: the whole value goes to msgpackr. */
const NOT_FAST = Symbol("not on the fast path");
let src: Uint8Array = new Uint8Array(0);
let srcView: DataView = new DataView(src.buffer);
let srcBuffer: Buffer = Buffer.alloc(0);
let at = 0;
let end = 0;

function need(n: number): void {
  if (at + n > end) throw new RangeError("Unexpected end of MessagePack data");
}

function readString(len: number): string {
  need(len);
  at += len;
  // Buffer's UTF-8 slice makes a flat string in one native call, faster than any JS loop here.
  return srcBuffer.toString("utf8", at - len, at);
}

// A declared count is checked before `new Array(n)`: every element takes a byte at least, so a few
// bytes that declare 2^32 elements fail here instead of allocating gigabytes.
function readArray(n: number, depth: number): unknown[] {
  if (n > end - at || depth >= MAX_DEPTH) tooMuch("array", n, n);
  const a = new Array<unknown>(n);
  for (let i = 0; i < n; i++) a[i] = readValue(depth + 1);
  return a;
}

function readMap(n: number, depth: number): Record<string, unknown> {
  if (2 * n > end - at || depth >= MAX_DEPTH) tooMuch("map", n, 2 * n);
  const o: Record<string, unknown> = {};
  for (let i = 0; i < n; i++) {
    const key = readValue(depth + 1);
    if (typeof key !== "string" || key === "__proto__") throw NOT_FAST;
    o[key] = readValue(depth + 1);
  }
  return o;
}

function tooMuch(what: string, n: number, bytes: number): never {
  if (bytes > end - at) throw new RangeError(`MessagePack ${what} of ${n} in ${end - at} bytes`);
  throw new RangeError(`MessagePack nested deeper than ${MAX_DEPTH} levels`);
}

function readValue(depth: number): unknown {
  need(1);
  const t = src[at++]!;
  if (t < 0x80) return t;
  if (t >= 0xe0) return t - 0x100;
  if (t >= 0xa0 && t < 0xc0) return readString(t & 0x1f);
  if (t >= 0x90 && t < 0xa0) return readArray(t & 0x0f, depth);
  if (t >= 0x80 && t < 0x90) return readMap(t & 0x0f, depth);
  let v: unknown;
  switch (t) {
    case 0xc0:
      return null;
    case 0xc2:
      return false;
    case 0xc3:
      return true;
    case 0xcc:
      need(1);
      return src[at++];
    case 0xcd:
      need(2);
      v = srcView.getUint16(at);
      at += 2;
      return v;
    case 0xce:
      need(4);
      v = srcView.getUint32(at);
      at += 4;
      return v;
    case 0xd0:
      need(1);
      v = srcView.getInt8(at);
      at += 1;
      return v;
    case 0xd1:
      need(2);
      v = srcView.getInt16(at);
      at += 2;
      return v;
    case 0xd2:
      need(4);
      v = srcView.getInt32(at);
      at += 4;
      return v;
    case 0xca:
      need(4);
      v = srcView.getFloat32(at);
      at += 4;
      return v;
    case 0xcb:
      need(8);
      v = srcView.getFloat64(at);
      at += 8;
      return v;
    case 0xd9:
      need(1);
      return readString(src[at++]!);
    case 0xda:
      need(2);
      at += 2;
      return readString(srcView.getUint16(at - 2));
    case 0xdb:
      need(4);
      at += 4;
      return readString(srcView.getUint32(at - 4));
    case 0xdc:
      need(2);
      at += 2;
      return readArray(srcView.getUint16(at - 2), depth);
    case 0xdd:
      need(4);
      at += 4;
      return readArray(srcView.getUint32(at - 4), depth);
    case 0xde:
      need(2);
      at += 2;
      return readMap(srcView.getUint16(at - 2), depth);
    case 0xdf:
      need(4);
      at += 4;
      return readMap(srcView.getUint32(at - 4), depth);
    default:
      throw NOT_FAST; // 64-bit integers, binary, extension types: msgpackr's rules apply
  }
}

/** Values still to be read in each open array or map, for {@linkcode checkMsgpack}: no allocation per call. */
const open = new Float64Array(MAX_DEPTH + 1);

/**
 * Walks the MessagePack value in `bytes[start, stop)` without building it, in one pass and without
 * allocating: `undefined` when it is one complete value that msgpackr may decode, else what is wrong.
 * Every declared length must fit in the bytes left, every count of elements too (an element takes a
 * byte at least, a map entry two), nesting stops at {@linkcode MAX_DEPTH}, and of the extension types
 * only those this library's encoder writes are taken: the timestamp (-1) and undefined (0). msgpackr
 * trusts the declared counts (`new Array(n)`) and turns other extensions into errors, regular
 * expressions, sets or record definitions that persist between calls.
 *
 * @example Eight bytes that declare 100 million elements
 * ```ts
 * import { checkMsgpack } from "./_msgpack.ts";
 *
 * const bomb = new Uint8Array([0xdd, 0x05, 0xf5, 0xe1, 0x00, 0x01, 0x02, 0x03]);
 * console.log(checkMsgpack(bomb, 0, bomb.length)); // "array of 100000000 elements in 3 bytes at byte 0"
 * ```
 */
export function checkMsgpack(bytes: Uint8Array, start: number, stop: number): string | undefined {
  const b = bytes;
  let pos = start;
  let level = 0;
  let left = 1; // values still to read at this level
  for (;;) {
    while (left === 0) {
      if (level === 0) return pos === stop ? undefined : `${stop - pos} bytes after the value at byte ${pos}`;
      left = open[--level]!;
    }
    left--;
    if (pos >= stop) return `unexpected end at byte ${pos}`;
    const here = pos;
    const t = b[pos++]!;
    let length = 0; // bytes to skip
    let count = 0; // values inside
    if (t < 0x80 || t >= 0xe0 || t === 0xc0 || t === 0xc2 || t === 0xc3) continue;
    if (t >= 0xa0 && t < 0xc0) length = t & 0x1f;
    else if (t >= 0x90 && t < 0xa0) count = t & 0x0f;
    else if (t >= 0x80 && t < 0x90) count = (t & 0x0f) * 2;
    else {
      const size = SIZES[t - 0xc4];
      if (size === undefined) return `type byte 0x${t.toString(16)} at byte ${here}`;
      if (size > 0) length = size;
      else {
        if (-size > stop - pos) return `unexpected end at byte ${pos}`;
        length = b[pos]!;
        for (let i = 1; i < -size; i++) length = length * 256 + b[pos + i]!;
        pos -= size;
        if (t >= 0xdc) {
          count = t >= 0xde ? 2 * length : length;
          length = 0;
        }
      }
      if (t <= 0xc9 ? t >= 0xc7 : t >= 0xd4 && t <= 0xd8) {
        // An extension: its type byte, then `length` bytes (fixext sizes count the type byte).
        if (t >= 0xd4) length--;
        if (pos >= stop) return `unexpected end at byte ${pos}`;
        const type = b[pos++]!;
        if (type !== 0xff && type !== 0) return `extension type ${type} at byte ${here}`;
      }
    }
    if (length > stop - pos) return `length ${length} in ${stop - pos} bytes at byte ${here}`;
    pos += length;
    if (count === 0) continue;
    if (count > stop - pos) {
      const map = t < 0x90 || t >= 0xde;
      return `${map ? `map of ${count / 2} entries` : `array of ${count} elements`} in ${stop - pos} bytes at byte ${here}`;
    }
    if (level >= MAX_DEPTH) return `nested deeper than ${MAX_DEPTH} levels at byte ${here}`;
    open[level++] = left;
    left = count;
  }
}

/**
 * From 0xc4 on, by type byte: a fixed size in bytes to skip (numbers; fixext with its type byte), or
 * minus the size of the length field (bin, ext, str, array, map). In order: bin 8/16/32, ext 8/16/32,
 * float 32/64, uint 8/16/32/64, int 8/16/32/64, fixext 1/2/4/8/16, str 8/16/32, array 16/32, map 16/32.
 */
const SIZES: readonly number[] = [
  -1, -2, -4, -1, -2, -4, 4, 8, 1, 2, 4, 8, 1, 2, 4, 8, 2, 3, 5, 9, 17, -1, -2, -4, -2, -4, -2, -4,
];

/** Decodes the single value in `bytes[start, end)`; what the fast path does not cover goes to msgpackr. */
export function decodeRange(bytes: Uint8Array, start: number, stop: number): unknown {
  if (src !== bytes) {
    src = bytes;
    srcView = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    srcBuffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }
  at = start;
  end = stop;
  try {
    const value = readValue(0);
    if (at !== end) throw new RangeError(`Unexpected ${end - at} bytes after the MessagePack value`);
    return value;
  } catch (err: unknown) {
    if (err !== NOT_FAST) throw err;
    const wrong = checkMsgpack(bytes, start, stop);
    if (wrong !== undefined) throw new RangeError(`Invalid MessagePack: ${wrong}`);
    return unpackr.unpack(bytes, { start, end: stop });
  }
}
