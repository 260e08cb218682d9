/**
 * @module Zeek's `zeek-bin-serializer` log batches (`Cluster::LOG_SERIALIZER_ZEEK_BIN_V1`), the payload
 * a Zeek node PUSHes to its loggers and the only one a Zeek logger reads: big-endian primitives, the
 * stream/writer/filter/path header, the fields (`threading::Field`), then every record's values
 * (`threading::Value`). Unlike Zeek's reader this one trusts no count: every declared number of fields,
 * records or elements is checked against the bytes left before anything is allocated, and containers
 * nest only as deep as logging uses them. Re-exported by `logformat.ts`.
 */

import { formatAddr, isV4Mapped } from "./_addr.ts";
import { CONTAINER_TAG, TAG, type ZeekField, ZeekValue } from "./_zeek-log-types.ts";
import type { LogBatch, LogField, LogFieldType, LogScalarType } from "./logformat.ts";

export { ZEEK_LOG_FORMAT, type ZeekField, ZeekValue } from "./_zeek-log-types.ts";

const { set: SET, vector: VECTOR } = CONTAINER_TAG;
// Zeek's TypeTags of the scalars logging carries, by tag.
const NAME: (LogScalarType | undefined)[] = [];
for (const [name, tag] of Object.entries(TAG)) NAME[tag] = name as LogScalarType;
/** Bytes a Field and a Value take at least (empty name; `present` 0). */
const MIN_FIELD = 14;
const MIN_VALUE = 9;
/** How deep {@linkcode decodeZeekValue} follows containers in containers (logging uses one level). */
const MAX_DEPTH = 16;
const STREAM = /^[A-Za-z_]\w*(::[A-Za-z_]\w*)*$/;
const WRITER = /^Log::WRITER_\w+$/;
const PATH = /^[\w.-]+$/;
const FIELD_NAME = /^[^\x00-\x1f\x7f]+$/;

const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
const fail = (message: string): never => {
  throw new TypeError(`Invalid zeek-bin-serializer data: ${message}`);
};

type Latin1 = Buffer & { latin1Slice(start: number, end: number): string };

/** Reads big-endian primitives, each checked against the bytes left. */
export class Reader {
  readonly view: DataView;
  readonly text: Buffer;
  pos: number;

  constructor(
    readonly bytes: Uint8Array,
    start: number,
    readonly end: number,
  ) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.text = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.pos = start;
  }

  get left(): number {
    return this.end - this.pos;
  }

  need(n: number): number {
    if (n > this.end - this.pos)
      fail(`data underflow: ${n} bytes wanted at offset ${this.pos}, ${this.end - this.pos} left`);
    const at = this.pos;
    this.pos += n;
    return at;
  }

  u8 = (): number => this.bytes[this.need(1)]!;
  i32 = (): number => this.view.getInt32(this.need(4));
  u32 = (): number => this.view.getUint32(this.need(4));
  f64 = (): number => this.view.getFloat64(this.need(8));

  /** An int64: a number within ±2^53, a bigint beyond. */
  i64(): number | bigint {
    const at = this.need(8);
    const hi = this.view.getInt32(at);
    return hi >= -0x200000 && hi < 0x200000 ? hi * 2 ** 32 + this.view.getUint32(at + 4) : this.view.getBigInt64(at);
  }

  /** A uint64: a number below 2^53, a bigint beyond. */
  u64(): number | bigint {
    const at = this.need(8);
    const hi = this.view.getUint32(at);
    return hi < 0x200000 ? hi * 2 ** 32 + this.view.getUint32(at + 4) : this.view.getBigUint64(at);
  }

  /** A length, checked before the bytes are looked at: Zeek reads it as a signed int. */
  length(what: string): number {
    const n = this.i32();
    if (n < 0) fail(`negative ${what} length ${n}`);
    if (n > this.end - this.pos) fail(`${what} length ${n} exceeds the ${this.end - this.pos} bytes left`);
    return n;
  }

  /** A string: text when it is UTF-8, else its bytes (copied), so that files can escape them as Zeek does. */
  str(what = "string"): string | Uint8Array {
    const n = this.length(what);
    const at = this.need(n);
    const bytes = this.bytes;
    let ascii = true;
    for (let i = at; i < at + n; i++) {
      if (bytes[i]! >= 0x80) {
        ascii = false;
        break;
      }
    }
    if (ascii) return (this.text as Latin1).latin1Slice(at, at + n); // Node's fastest bytes-to-string, also in Bun
    try {
      return utf8.decode(bytes.subarray(at, at + n));
    } catch {
      return bytes.slice(at, at + n);
    }
  }

  /** A name: must be UTF-8 text. */
  name(what: string): string {
    const s = this.str(what);
    return typeof s === "string" ? s : fail(`${what} is not UTF-8`);
  }
}

// IPv4 addresses repeat in logs: their text is remembered by their 32-bit value.
const v4Text = new Map<number, string>();
function readAddr(r: Reader, family: number): string {
  if (family === 4) {
    const n = r.u32();
    let text = v4Text.get(n);
    if (text === undefined) {
      text = `${n >>> 24}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
      if (v4Text.size >= 4096) v4Text.clear();
      v4Text.set(n, text);
    }
    return text;
  }
  if (family !== 6) fail(`address family ${family} (expected 4 or 6)`);
  const at = r.need(16);
  // Family 6 with an IPv4-mapped address is printed as inet_ntop does, not as an IPv4 address.
  return isV4Mapped(r.bytes, at) ? `::ffff:${formatAddr(r.bytes, at)}` : formatAddr(r.bytes, at);
}

const PROTOCOLS = ["unknown", "tcp", "udp", "icmp"];

/** The payload of a present Value of scalar type `tag`; `exact` keeps a port's protocol (`"80/tcp"`). */
function readScalar(r: Reader, tag: number, exact = false): unknown {
  switch (tag) {
    case 1:
      return r.i64() !== 0;
    case 2:
      return r.i64();
    case 3:
      return r.u64();
    case 4:
    case 5:
    case 6:
      return r.f64();
    case 7:
    case 9:
    case 17:
    case 18:
      return r.str();
    case 10: {
      const port = r.u64();
      const proto = r.i32();
      if (proto < 0 || proto > 3) fail(`port protocol ${proto} (expected 0-3)`);
      if (typeof port !== "number" || port > 65535) fail(`port number ${port}`);
      return exact ? `${port}/${PROTOCOLS[proto]}` : port;
    }
    case 11:
      return readAddr(r, r.u8());
    case 12: {
      const length = r.u8();
      const family = r.u8();
      const text = readAddr(r, family);
      // On the wire an IPv4 prefix length counts from the IPv6-mapped address: /16 is 112.
      if (family === 4 ? length < 96 || length > 128 : length > 128) fail(`subnet length ${length} for IPv${family}`);
      return `${text}/${family === 4 ? length - 96 : length}`;
    }
  }
  return fail(`unsupported type ${tag} in a value`);
}

/** A container's elements: the count (an int64) checked against the bytes left first. */
function readCount(r: Reader): number {
  const count = r.i64();
  if (typeof count === "bigint" || count < 0 || count * MIN_VALUE > r.left)
    fail(`container of ${count} elements in ${r.left} bytes`);
  return count as number;
}

/** A Value in a batch: its type must be the field's (or element's) tag; set and vector elements are scalars. */
export function readValue(r: Reader, tag: number, element: number, field: string): unknown {
  const type = r.i32();
  r.need(4); // the subtype: Zeek never checks it, nor does this
  if (r.u8() !== 1) return null; // Zeek reads only 01 as true
  if (type !== tag)
    fail(
      NAME[type] || type === SET || type === VECTOR
        ? `field '${field}' has a value of type ${type}, expected ${tag}`
        : `unsupported type ${type} in a value`,
    );
  if (tag !== SET && tag !== VECTOR) return readScalar(r, tag);
  const out = new Array<unknown>(readCount(r));
  for (let i = 0; i < out.length; i++) out[i] = readValue(r, element, 0, field);
  return out;
}

/** A Value exactly as sent, containers nested up to MAX_DEPTH. */
function readExact(r: Reader, depth: number): ZeekValue {
  const type = r.i32();
  const subtype = r.i32();
  if (r.u8() !== 1) return new ZeekValue(type, subtype, null);
  if (type !== SET && type !== VECTOR) return new ZeekValue(type, subtype, readScalar(r, type, true));
  if (depth >= MAX_DEPTH) fail(`containers nested deeper than ${MAX_DEPTH}`);
  const out = new Array<ZeekValue>(readCount(r));
  for (let i = 0; i < out.length; i++) out[i] = readExact(r, depth + 1);
  return new ZeekValue(type, subtype, out);
}

function readField(r: Reader, exact: boolean): LogField | ZeekField {
  const secondary = r.u8() === 1 ? r.name("secondary name") : undefined;
  const name = r.name("field name");
  // A control character in a name would break the TSV header lines it goes into.
  if (!FIELD_NAME.test(name)) fail(`field name ${JSON.stringify(name)}`);
  const tag = r.i32();
  const subtype = r.i32();
  const optional = r.u8() === 1;
  const container = tag === SET ? "set" : tag === VECTOR ? "vector" : undefined;
  const scalar = NAME[container ? subtype : tag];
  if (!scalar)
    fail(
      container
        ? `field '${name}' is a ${container} of unsupported type ${subtype}`
        : `field '${name}' has unsupported type ${tag}`,
    );
  const type = (container ? `${container}[${scalar}]` : scalar) as LogFieldType;
  if (!exact) return { name, type, optional };
  return secondary === undefined ? { name, type, optional, subtype } : { name, type, optional, subtype, secondary };
}

/**
 * Decodes a `zeek-bin-serializer` batch into a {@linkcode LogBatch}, checking it as a Zeek logger
 * does and more: stream and writer must look like Zeek enum names, the path like a file name, every
 * value must have its field's type (Zeek only checks field types), and no declared count may exceed
 * what the remaining bytes can hold. Unset values (`present` 0) are accepted anywhere; subtypes and
 * bytes after the last record are ignored, as Zeek ignores them. With `exact`, fields keep their
 * subtype and values come as {@linkcode ZeekValue}s, so that encoding gives the same bytes back.
 *
 * @example Zeek's own unit-test batch
 * ```ts
 * import { decodeZeekBatch } from "./_zeek-log-format.ts";
 *
 * const hex = "0000000c4c6f673a3a554e4b4e4f574e000000104c6f673a3a5752495445525f4e4f4e450000000764656661756c74000000076d792d706174680000000100000000027473000000050000001600000000020000000500000016013ff00000000000000000000500000016014000000000000000";
 * const batch = decodeZeekBatch(Buffer.from(hex, "hex"));
 * console.log(batch.stream, batch.path, batch.fields[0]!.type, batch.records); // "Log::UNKNOWN" "my-path" "time" [[1], [2]]
 * ```
 *
 * @throws {TypeError} a malformed batch, saying what is wrong and where.
 */
export function decodeZeekBatch(
  bytes: Uint8Array,
  start = 0,
  end: number = bytes.length,
  options: { exact?: boolean } = {},
): LogBatch {
  const exact = options.exact === true;
  const r = new Reader(bytes, start, end);
  const { stream, writer, filter, path, fields, numRecords, tags, elements } = readHeader(r, exact);
  const numFields = fields.length;
  const records = new Array<unknown[]>(numRecords);
  for (let i = 0; i < numRecords; i++) {
    const record = (records[i] = new Array<unknown>(numFields));
    for (let j = 0; j < numFields; j++)
      record[j] = exact ? readExact(r, 0) : readValue(r, tags[j]!, elements[j]!, fields[j]!.name);
  }
  return { stream, writer, filter, path, fields, records };
}

/** What precedes a batch's records, checked, with each field's tag and element tag (0 for scalars). */
export interface ZeekBatchHeader {
  stream: string;
  writer: string;
  filter: string;
  path: string;
  fields: LogField[];
  numRecords: number;
  tags: number[];
  elements: number[];
}

/** Reads and checks a batch up to its records (see {@linkcode decodeZeekBatch}); `r` is left at the first. */
export function readHeader(r: Reader, exact = false): ZeekBatchHeader {
  const stream = r.name("stream name");
  const writer = r.name("writer name");
  const filter = r.name("filter name");
  const path = r.name("path");
  if (!STREAM.test(stream)) fail(`stream name '${stream}' is no Log::ID`);
  if (!WRITER.test(writer)) fail(`writer name '${writer}' is no Log::Writer`);
  if (!PATH.test(path)) fail(`path '${path}' is not a file name`);
  const numFields = r.u32();
  if (numFields === 0 || numFields * MIN_FIELD > r.left) fail(`${numFields} fields in ${r.left} bytes`);
  const fields = new Array<LogField>(numFields);
  for (let i = 0; i < numFields; i++) fields[i] = readField(r, exact);
  const numRecords = r.u32();
  if (numRecords * numFields * MIN_VALUE > r.left)
    fail(`${numRecords} records of ${numFields} fields in ${r.left} bytes`);
  const tags = fields.map((f) =>
    f.type.startsWith("set[") ? SET : f.type.startsWith("vector[") ? VECTOR : TAG[f.type as LogScalarType],
  );
  const elements = fields.map((f) => TAG[/\[(\w+)\]/.exec(f.type)?.[1] as LogScalarType] ?? 0);
  return { stream, writer, filter, path, fields, numRecords, tags, elements };
}

/**
 * Decodes one `threading::Value` exactly (Zeek's unit tests feed these to `Value::Read`); the bytes
 * must hold exactly one.
 *
 * @example An IPv4 subnet: its length travels IPv6-relative
 * ```ts
 * import { decodeZeekValue } from "./_zeek-log-format.ts";
 *
 * console.log(decodeZeekValue(Buffer.from("0000000c0000001601700401020000", "hex")).value); // "1.2.0.0/16"
 * ```
 *
 * @throws {TypeError} a malformed value, or bytes left over.
 */
export function decodeZeekValue(bytes: Uint8Array): ZeekValue {
  const r = new Reader(bytes, 0, bytes.length);
  const value = readExact(r, 0);
  if (r.left !== 0) fail(`${r.left} bytes after the value`);
  return value;
}

export { encodeZeekBatch, encodeZeekValue } from "./_zeek-log-encode.ts";
