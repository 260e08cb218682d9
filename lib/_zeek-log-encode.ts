/**
 * @module Writing `zeek-bin-serializer` log batches as a Zeek node does (`src/threading/SerialTypes.cc`):
 * fields with their TypeTag and, for sets and vectors, the element's tag as subtype; values with
 * subtype 0 (TYPE_VOID), as Zeek's logging manager leaves it. Re-exported by `_zeek-log-format.ts`.
 */

import { parseAddr } from "./_addr.ts";
import { fieldCode } from "./_zeek-log-inline.ts";
import { CONTAINER_TAG, TAG, ZeekValue } from "./_zeek-log-types.ts";
import type { LogBatch } from "./logformat.ts";

const { set: SET, vector: VECTOR } = CONTAINER_TAG;

const PROTOCOL: Record<string, number> = { unknown: 0, tcp: 1, udp: 2, icmp: 3 };

// One buffer, grown as needed and reused: every batch is copied out of it.
let buf: Buffer = Buffer.allocUnsafe(64 * 1024);
let view: DataView = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
let pos = 0;

/** Room for `n` more bytes at `pos` (the module's buffer, or a batch's while `valueInto` runs). */
function ensure(n: number): void {
  if (pos + n <= buf.length) return;
  const grown = Buffer.allocUnsafe(Math.max(buf.length * 2, pos + n));
  buf.copy(grown, 0, 0, pos);
  buf = grown;
  view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
}

function u8(v: number): void {
  ensure(1);
  buf[pos++] = v;
}

function i32(v: number): void {
  ensure(4);
  view.setInt32(pos, v);
  pos += 4;
}

/** An int64 or uint64 (a bigint, or a number whose high half is written as it comes). */
function int64(v: number | bigint, signed: boolean): void {
  ensure(8);
  if (typeof v === "bigint") {
    if (signed) view.setBigInt64(pos, v);
    else view.setBigUint64(pos, v);
  } else {
    const hi = Math.floor(v / 2 ** 32);
    if (hi < 0) view.setInt32(pos, hi);
    else view.setUint32(pos, hi);
    view.setUint32(pos + 4, v - hi * 2 ** 32);
  }
  pos += 8;
}

function str(v: string | Uint8Array): void {
  if (typeof v === "string") {
    ensure(4 + v.length * 3);
    // Most log strings are ASCII: copying their char codes beats a call into the UTF-8 encoder.
    let at = pos + 4;
    let i = 0;
    for (; i < v.length; i++) {
      const c = v.charCodeAt(i);
      if (c >= 0x80) break;
      buf[at++] = c;
    }
    if (i < v.length) at = pos + 4 + buf.write(v, pos + 4);
    view.setUint32(pos, at - pos - 4);
    pos = at;
  } else {
    ensure(4 + v.length);
    view.setUint32(pos, v.length);
    buf.set(v, pos + 4);
    pos += 4 + v.length;
  }
}

const invalid = (what: string, v: unknown): never => {
  throw new TypeError(
    `Cannot encode a zeek-bin-serializer ${what} from ${typeof v === "string" ? `'${v}'` : String(v)}`,
  );
};

/** `u8 family` and the address bytes; the family is 6 for text with a colon, as it was decoded. */
function addr(text: string): void {
  if (text.includes(":")) {
    const bytes = parseAddr(text) ?? invalid("address", text);
    ensure(17);
    buf[pos] = 6;
    buf.set(bytes, pos + 1);
    pos += 17;
    return;
  }
  const n = v4(text);
  if (n < 0) invalid("address", text);
  ensure(5);
  buf[pos] = 4;
  view.setUint32(pos + 1, n);
  pos += 5;
}

/** A dotted quad's 32-bit value (most addresses in logs are IPv4), remembered; -1 for any other text. */
export function v4(text: string): number {
  const known = v4Bytes.get(text);
  if (known !== undefined) return known;
  let n = 0;
  let parts = 0;
  let value = 0;
  let digits = 0;
  for (let i = 0; i <= text.length; i++) {
    const c = i < text.length ? text.charCodeAt(i) : 46;
    if (c === 46) {
      if (digits === 0 || value > 255 || parts === 4) return -1;
      n = n * 256 + value;
      parts++;
      value = digits = 0;
    } else if (c >= 48 && c <= 57 && digits < 3 && !(digits === 1 && value === 0)) {
      value = value * 10 + c - 48;
      digits++;
    } else return -1;
  }
  if (parts !== 4) return -1;
  if (v4Bytes.size >= 4096) v4Bytes.clear();
  v4Bytes.set(text, n);
  return n;
}

const v4Bytes = new Map<string, number>();

function payload(tag: number, v: unknown): void {
  switch (tag) {
    case 1:
      return int64(v === true ? 1 : v === false ? 0 : invalid("bool", v), true);
    case 2:
    case 3:
      return int64(typeof v === "number" || typeof v === "bigint" ? v : invalid("integer", v), tag === 2);
    case 4:
    case 5:
    case 6:
      ensure(8);
      view.setFloat64(pos, typeof v === "number" ? v : v instanceof Date ? v.getTime() / 1000 : invalid("double", v));
      pos += 8;
      return;
    case 7:
    case 9:
    case 17:
    case 18:
      return str(typeof v === "string" || v instanceof Uint8Array ? v : invalid("string", v));
    case 10: {
      // A number carries no protocol (0, unknown); "80/tcp" does.
      const m = typeof v === "string" ? /^(\d+)\/(\w+)$/.exec(v) : null;
      int64(m ? Number(m[1]) : typeof v === "number" ? v : invalid("port", v), false);
      return i32(m ? (PROTOCOL[m[2]!] ?? invalid("port", v)) : 0);
    }
    case 11:
      return addr(typeof v === "string" ? v : invalid("address", v));
    case 12: {
      const slash = typeof v === "string" ? v.lastIndexOf("/") : -1;
      const length = slash > 0 ? Number((v as string).slice(slash + 1)) : NaN;
      const text = slash > 0 ? (v as string).slice(0, slash) : "";
      const v6 = text.includes(":");
      if (!Number.isInteger(length) || length < 0 || length > (v6 ? 128 : 32)) invalid("subnet", v);
      u8(v6 ? length : length + 96); // IPv6-relative, as Zeek's IPPrefix keeps it
      return addr(text);
    }
  }
  invalid(`value of type ${tag}`, v);
}

/** A Value of a field (tag, element tag for containers): subtype 0, as a Zeek node sends it. */
function value(tag: number, element: number, v: unknown): void {
  if (v instanceof ZeekValue) return exact(v);
  ensure(9);
  view.setInt32(pos, tag);
  view.setInt32(pos + 4, 0);
  const present = v !== null && v !== undefined;
  buf[pos + 8] = present ? 1 : 0;
  pos += 9;
  if (!present) return;
  if (tag !== SET && tag !== VECTOR) return payload(tag, v);
  const items = Array.isArray(v) ? v : v instanceof Set ? [...v] : invalid("set or vector", v);
  int64(items.length, true);
  for (const item of items) value(element, 0, item);
}

function exact(v: ZeekValue): void {
  i32(v.type);
  i32(v.subtype);
  u8(v.value === null ? 0 : 1);
  if (v.value === null) return;
  if (v.type !== SET && v.type !== VECTOR) return payload(v.type, v.value);
  const items = Array.isArray(v.value) ? v.value : invalid("container", v.value);
  int64(items.length, true);
  for (const item of items)
    exact(item instanceof ZeekValue ? item : invalid("container element (expected a ZeekValue)", item));
}

const fieldTags = new Map<string, [tag: number, element: number]>();
/** A field type's tag and, for a set or vector, its element's; throws for a type Zeek has no tag for. */
export function tagsOf(type: string): [number, number] {
  let tags = fieldTags.get(type);
  if (!tags) {
    const m = /^(set|vector)\[(\w+)\]$/.exec(type);
    const tag = (name: string) =>
      Object.hasOwn(TAG, name) ? TAG[name as keyof typeof TAG] : invalid("field type", type);
    tags = m ? [m[1] === "set" ? SET : VECTOR, tag(m[2]!)] : [tag(type), 0];
    fieldTags.set(type, tags);
  }
  return tags;
}

/**
 * The records' encoder for fields of these tags, compiled once per list of tags: straight-line code per
 * field (no dispatch on the type per value), one bound check per record, the common values inline
 * (numbers, ASCII text, dotted quads, unset) and anything else through `value`, byte for byte the same.
 * The code holds only tags and indices, nothing of the batch.
 */
function recordsEncoder(tags: [number, number][]): (records: unknown[][]) => void {
  const key = tags.join(";");
  let encoder = encoders.get(key);
  if (encoder) return encoder;
  const lines: string[] = [];
  let fixed = 0;
  const strings: string[] = [];
  tags.forEach(([tag, element], j) => {
    const slow = `io.pos = p; value(${tag}, ${element}, v); p = io.pos; buf = io.buf; view = io.view;`;
    const field = fieldCode(tag, `r[${j}]`, slow);
    lines.push(...field.lines);
    fixed += field.fixed;
    if (field.text) strings.push(field.text);
  });
  const body = `"use strict";
return function encodeRecords(records) {
  let buf = io.buf, view = io.view, p = io.pos, v, u;
  for (let i = 0; i < records.length; i++) {
    const r = records[i];
    if (r.length !== ${tags.length}) invalid("record", r.length + " values for ${tags.length} fields");
    const need = ${[fixed, ...strings].join(" + ")};
    if (p + need > buf.length) { io.pos = p; ensure(need); buf = io.buf; view = io.view; }
    ${lines.join("\n    ")}
  }
  io.pos = p;
};`;
  encoder = new Function("io", "value", "ensure", "invalid", "v4", body)(io, value, ensure, invalid, v4) as (
    records: unknown[][],
  ) => void;
  if (encoders.size >= 1024) encoders.clear();
  encoders.set(key, encoder);
  return encoder;
}

const encoders = new Map<string, (records: unknown[][]) => void>();
/** What generated code reads and writes of the module's buffer. */
const io = {
  get buf() {
    return buf;
  },
  get view() {
    return view;
  },
  get pos() {
    return pos;
  },
  set pos(p: number) {
    pos = p;
  },
};

const take = (spare?: Uint8Array): Uint8Array => {
  if (spare !== undefined && spare.length >= pos) {
    spare.set(buf.subarray(0, pos));
    return spare.subarray(0, pos);
  }
  const out = new Uint8Array(pos);
  out.set(buf.subarray(0, pos));
  return out;
};

/**
 * Encodes a batch as a Zeek node does: Zeek's writer and filter default to `Log::WRITER_ASCII` and
 * `default`. Values are those {@linkcode checkValue} accepts (a port may be `"80/tcp"` to carry its
 * protocol); {@linkcode ZeekValue}s and fields with a `subtype` are written exactly as they are.
 * With `spare`, the bytes go into it when they fit and the result is a view of it (a writer reuses the
 * buffers of acknowledged batches: fresh memory costs a page fault per 4 KiB); otherwise into a new one.
 *
 * @example One record of a two-field stream
 * ```ts
 * import { decodeZeekBatch, encodeZeekBatch } from "./_zeek-log-format.ts";
 * import { defineStream, recordValues } from "./logformat.ts";
 *
 * const PING = defineStream({ id: "Ping::LOG", path: "ping", fields: { ts: "time", peer: "addr" } });
 * const payload = encodeZeekBatch({ stream: PING.id, path: PING.path, fields: [...PING.fields], records: [recordValues(PING, { ts: 1, peer: "::1" })] });
 * console.log(decodeZeekBatch(payload).records); // [[1, "::1"]]
 * ```
 *
 * @throws {TypeError} a value its field's type cannot carry.
 */
export function encodeZeekBatch(batch: LogBatch, spare?: Uint8Array): Uint8Array {
  recordsEncoder(header(batch))(batch.records);
  return take(spare);
}

/**
 * Writes a batch's header from `pos` 0 up to its record count, which is left to the caller at
 * `pos - 4`; returns the fields' tags.
 */
function header(batch: Omit<LogBatch, "records"> & { records?: unknown }): [number, number][] {
  pos = 0;
  str(batch.stream);
  str(batch.writer ?? "Log::WRITER_ASCII");
  str(batch.filter ?? "default");
  str(batch.path);
  const fields = batch.fields;
  ensure(4);
  view.setUint32(pos, fields.length);
  pos += 4;
  const tags = fields.map((f) => tagsOf(f.type));
  for (let i = 0; i < fields.length; i++) {
    const f = fields[i] as (typeof fields)[number] & { subtype?: number; secondary?: string };
    u8(f.secondary === undefined ? 0 : 1);
    if (f.secondary !== undefined) str(f.secondary);
    str(f.name);
    i32(tags[i]![0]);
    i32(f.subtype ?? tags[i]![1]);
    u8(f.optional ? 1 : 0);
  }
  ensure(4);
  view.setUint32(pos, batch.records === undefined ? 0 : (batch.records as unknown[]).length);
  pos += 4;
  return tags;
}

/**
 * Encodes one {@linkcode ZeekValue} exactly.
 *
 * @example An IPv6 address
 * ```ts
 * import { encodeZeekValue, ZeekValue } from "./_zeek-log-format.ts";
 *
 * console.log(Buffer.from(encodeZeekValue(new ZeekValue(11, 0, "::1"))).toString("hex")); // "0000000b00000000010600000000000000000000000000000001"
 * ```
 */
export function encodeZeekValue(v: ZeekValue): Uint8Array {
  pos = 0;
  exact(v);
  return take();
}

/** A batch whose records are encoded one by one as they are written (`_zeek-log-stream.ts`): `buf[0, pos)`. */
export interface ZeekBatchBytes {
  buf: Buffer;
  view: DataView;
  pos: number;
  /** Records in it, and where their count goes in the header. */
  count: number;
  countAt: number;
}

/** A batch begun in `spare` (a larger one if it is too small): its header, no records yet. */
export function beginZeekBatch(meta: Omit<LogBatch, "records">, spare: Buffer): ZeekBatchBytes {
  header(meta);
  const out = spare.length >= pos * 2 ? spare : Buffer.allocUnsafe(Math.max(64 * 1024, pos * 2));
  buf.copy(out, 0, 0, pos);
  return { buf: out, view: new DataView(out.buffer, out.byteOffset, out.byteLength), pos, count: 0, countAt: pos - 4 };
}

/** Writes a Value into `t` as `value` does (the module's buffer lent to it meanwhile; `t.buf` may grow). */
export function valueInto(t: ZeekBatchBytes, tag: number, element: number, v: unknown): void {
  const [own, ownView] = [buf, view];
  [buf, view, pos] = [t.buf, t.view, t.pos];
  try {
    value(tag, element, v);
  } finally {
    [t.buf, t.view, t.pos] = [buf, view, pos];
    [buf, view] = [own, ownView];
  }
}
