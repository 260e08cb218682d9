/**
 * @module A fast MessagePack path for what events carry most: strings, numbers, booleans, nil and
 * arrays (and maps on decode). It writes into one reused buffer and reads without views, several
 * times cheaper than a general library per small event. Anything else (objects, bigints, binary,
 * dates, extension types) goes through msgpackr, so the bytes are always plain MessagePack and the
 * values always what msgpackr would give. This module is the one place msgpackr is configured: every
 * MessagePack payload (`msgpack-v1` events in `serializer.ts`, `msgpack-log-v1` batches in
 * `_log-msgpack.ts`) is written and read here. Not part of the public API.
 */

import { Packr, Unpackr } from "msgpackr";

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

function readArray(n: number): unknown[] {
  const a = new Array<unknown>(n);
  for (let i = 0; i < n; i++) a[i] = readValue();
  return a;
}

function readMap(n: number): Record<string, unknown> {
  const o: Record<string, unknown> = {};
  for (let i = 0; i < n; i++) {
    const key = readValue();
    if (typeof key !== "string" || key === "__proto__") throw NOT_FAST;
    o[key] = readValue();
  }
  return o;
}

function readValue(): unknown {
  need(1);
  const t = src[at++]!;
  if (t < 0x80) return t;
  if (t >= 0xe0) return t - 0x100;
  if (t >= 0xa0 && t < 0xc0) return readString(t & 0x1f);
  if (t >= 0x90 && t < 0xa0) return readArray(t & 0x0f);
  if (t >= 0x80 && t < 0x90) return readMap(t & 0x0f);
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
      return readArray(srcView.getUint16(at - 2));
    case 0xdd:
      need(4);
      at += 4;
      return readArray(srcView.getUint32(at - 4));
    case 0xde:
      need(2);
      at += 2;
      return readMap(srcView.getUint16(at - 2));
    case 0xdf:
      need(4);
      at += 4;
      return readMap(srcView.getUint32(at - 4));
    default:
      throw NOT_FAST; // 64-bit integers, binary, extension types: msgpackr's rules apply
  }
}

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
    const value = readValue();
    if (at !== end) throw new RangeError(`Unexpected ${end - at} bytes after the MessagePack value`);
    return value;
  } catch (err: unknown) {
    if (err !== NOT_FAST) throw err;
    return unpackr.unpack(bytes, { start, end: stop });
  }
}
