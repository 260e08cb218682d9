// zeek-bin-serializer: Zeek's own unit-test vectors (decoded, and the good ones encoded back to the same
// bytes), what a real Zeek worker sent, hostile batches that must be rejected before anything is
// allocated, and a seeded random round trip over every field type.

import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import {
  decodeZeekBatch,
  decodeZeekValue,
  encodeZeekBatch,
  encodeZeekValue,
  type ZeekValue,
} from "../lib/_zeek-log-format.ts";
import { defineStream, type LogBatch, type LogField, type LogFieldType, recordValues } from "../lib/logformat.ts";

const FIXTURES = join(import.meta.dir, "fixtures");
const VECTORS = JSON.parse(readFileSync(join(FIXTURES, "zeek-bin-vectors.json"), "utf8")).vectors as {
  name: string;
  hex: string;
  rejected: boolean;
  notation: string;
}[];
const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString("hex");
const unhex = (text: string) => new Uint8Array(Buffer.from(text.replace(/\s+/g, ""), "hex"));
const ZEEK_BATCH = unhex(readFileSync(join(FIXTURES, "zeek-alltypes.batch.hex"), "utf8"));

/** zeek-wire.md's notation of a decoded value: `T11/22 "1.2.3.4"`, `T14/1[T1/0 1, T1/0 0]`. */
function notation(v: ZeekValue): string {
  const head = `T${v.type}/${v.subtype}`;
  if (v.value === null) return `${head} absent`;
  if (Array.isArray(v.value)) return `${head}[${(v.value as ZeekValue[]).map(notation).join(", ")}]`;
  if (typeof v.value === "boolean") return `${head} ${v.value ? 1 : 0}`;
  if (typeof v.value === "number" && v.type >= 4 && v.type <= 6)
    return `${head} ${Number.isInteger(v.value) ? v.value.toFixed(1) : v.value}`;
  return `${head} ${typeof v.value === "string" ? JSON.stringify(v.value) : String(v.value)}`;
}

function batchNotation(b: LogBatch): string {
  const fields = (b.fields as (LogField & { subtype: number })[]).map((f) => `${f.name}:${tagOf(f.type)}/${f.subtype}`);
  const records = b.records.map((r) => (r as ZeekValue[]).map(notation).join(", "));
  return `stream=${b.stream} writer=${b.writer} filter=${b.filter} path=${b.path}; fields [${fields.join(", ")}]; records [${records.join(" | ")}]`;
}
const tagOf = (type: string) => ({ time: 5, string: 7, count: 3 })[type as "time"];

describe("Zeek's unit-test vectors (zeek-wire.md §4.9)", () => {
  for (const v of VECTORS) {
    test(`${v.name}: ${v.rejected ? "rejected" : "decoded, and encoded back to the same bytes"}`, () => {
      const bytes = unhex(v.hex);
      const batch = v.name.startsWith("zeek-log-batch");
      const decode = () => (batch ? decodeZeekBatch(bytes, 0, bytes.length, { exact: true }) : decodeZeekValue(bytes));
      if (v.rejected) {
        expect(decode).toThrow(TypeError);
        return;
      }
      const decoded = decode();
      expect(batch ? batchNotation(decoded as LogBatch) : notation(decoded as ZeekValue)).toBe(v.notation);
      expect(hex(batch ? encodeZeekBatch(decoded as LogBatch) : encodeZeekValue(decoded as ZeekValue))).toBe(v.hex);
    });
  }

  test("the anchor batch as a LogBatch: Zeek's names, a time field, two records", () => {
    const anchor = unhex(VECTORS[0]!.hex);
    expect(decodeZeekBatch(anchor)).toEqual({
      stream: "Log::UNKNOWN",
      writer: "Log::WRITER_NONE",
      filter: "default",
      path: "my-path",
      fields: [{ name: "ts", type: "time", optional: false }],
      records: [[1], [2]],
    });
  });
});

describe("what a real Zeek worker sends", () => {
  test("a batch of every field type, captured from Zeek 9.1, decodes and encodes back byte for byte (exact)", () => {
    const exact = decodeZeekBatch(ZEEK_BATCH, 0, ZEEK_BATCH.length, { exact: true });
    // JavaScript has one NaN: Zeek's negative NaN (a present double fff8…) comes back positive.
    expect(hex(encodeZeekBatch(exact))).toBe(hex(ZEEK_BATCH).replaceAll("01fff8000000000000", "017ff8000000000000"));
    // Zeek sends subtype 0 on scalar fields and every value, the element type on sets and vectors.
    expect((exact.fields as (LogField & { subtype: number })[]).map((f) => `${f.type}:${f.subtype}`)).toContain(
      "set[string]:7",
    );
    for (const record of exact.records) for (const v of record as ZeekValue[]) expect(v.subtype).toBe(0);
  });

  test("as a LogBatch: text, bigints, bytes that are not UTF-8, unset vector elements", () => {
    const batch = decodeZeekBatch(ZEEK_BATCH);
    expect([batch.stream, batch.writer, batch.filter, batch.path]).toEqual([
      "AllTypes::LOG",
      "Log::WRITER_ASCII",
      "default",
      "alltypes",
    ]);
    const column = (name: string) => batch.records.map((r) => r[batch.fields.findIndex((f) => f.name === name)]);
    expect(column("c")).toContain(18446744073709551615n);
    expect(column("i")).toContain(-9223372036854775808n);
    expect(column("s")).toContainEqual(new Uint8Array([0x80]));
    expect(column("s")).toContain("é");
    expect(column("a")).toContain("::ffff:1.2.3.4".slice(7)); // Zeek sends a v4-mapped address as IPv4
    expect(column("vi")[0]).toEqual([null, -1]);
    // Encoding again gives Zeek's bytes except where the value model drops something (port protocols).
    const again = decodeZeekBatch(encodeZeekBatch(batch));
    expect(again).toEqual(batch);
  });
});

/** A batch of the given fields: stream, writer, filter and path, then the field list and records. */
function header(
  fields: [name: string, type: number, subtype: number][],
  records: number,
  extra: number[] = [],
  names = ["Test::LOG", "Log::WRITER_ASCII", "default", "test"],
): number[] {
  const out: number[] = [];
  const u32 = (n: number) => out.push((n >>> 24) & 255, (n >>> 16) & 255, (n >>> 8) & 255, n & 255);
  const str = (s: string) => (u32(Buffer.byteLength(s)), out.push(...Buffer.from(s)));
  for (const name of names) str(name);
  u32(fields.length);
  for (const [name, type, subtype] of fields) {
    out.push(0);
    str(name);
    u32(type);
    u32(subtype);
    out.push(0);
  }
  u32(records);
  return [...out, ...extra];
}
const i32 = (n: number) => [(n >>> 24) & 255, (n >>> 16) & 255, (n >>> 8) & 255, n & 255];

describe("hostile batches are rejected, saying why, before anything is allocated", () => {
  const cases: [string, number[], RegExp][] = [
    [
      "0xffffffff records in a 50-byte batch",
      header([["n", 3, 0]], 0xffffffff),
      /4294967295 records of 1 fields in 0 bytes/,
    ],
    ["0xffffffff fields", [...header([], 0).slice(0, -8), 0xff, 0xff, 0xff, 0xff], /4294967295 fields/],
    ["no fields", header([], 0), /0 fields/],
    [
      "a set of 2^62 elements",
      header([["s", 14, 3]], 1, [...i32(14), ...i32(0), 1, 0x40, 0, 0, 0, 0, 0, 0, 0]),
      /container of 4611686018427387904 elements/,
    ],
    [
      "a vector of -1 elements",
      header([["v", 19, 3]], 1, [...i32(19), ...i32(0), 1, ...Array(8).fill(0xff)]),
      /container of -1 elements/,
    ],
    [
      "a string of -1 bytes",
      header([["s", 7, 0]], 1, [...i32(7), ...i32(0), 1, 0xff, 0xff, 0xff, 0xff]),
      /negative string length -1/,
    ],
    [
      "a string longer than the batch",
      header([["s", 7, 0]], 1, [...i32(7), ...i32(0), 1, 0x7f, 0xff, 0xff, 0xff, 65]),
      /string length 2147483647 exceeds the 1 bytes left/,
    ],
    ["an unknown field type", header([["x", 8, 0]], 0), /field 'x' has unsupported type 8/],
    ["a field name with a newline", header([["a\nb", 3, 0]], 0), /field name "a\\nb"/],
    ["a set of records", header([["x", 14, 15]], 0), /field 'x' is a set of unsupported type 15/],
    ["an unknown value type", header([["n", 3, 0]], 1, [...i32(255), ...i32(0), 1]), /unsupported type 255/],
    [
      "a value of another type than its field",
      header([["n", 3, 0]], 1, [...i32(7), ...i32(0), 1, 0, 0, 0, 1, 65]),
      /field 'n' has a value of type 7, expected 3/,
    ],
    [
      "a vector in a vector",
      header([["v", 19, 3]], 1, [
        ...i32(19),
        ...i32(0),
        1,
        0,
        0,
        0,
        0,
        0,
        0,
        0,
        1,
        ...i32(19),
        ...i32(0),
        1,
        0,
        0,
        0,
        0,
        0,
        0,
        0,
        0,
      ]),
      /value of type 19, expected 3/,
    ],
    ["address family 5", header([["a", 11, 0]], 1, [...i32(11), ...i32(0), 1, 5, 1, 2, 3, 4]), /address family 5/],
    [
      "port protocol 4",
      header([["p", 10, 0]], 1, [...i32(10), ...i32(0), 1, 0, 0, 0, 0, 0, 0, 0, 80, ...i32(4)]),
      /port protocol 4/,
    ],
    [
      "port 65536",
      header([["p", 10, 0]], 1, [...i32(10), ...i32(0), 1, 0, 0, 0, 0, 0, 1, 0, 0, ...i32(1)]),
      /port number 65536/,
    ],
    [
      "an IPv4 subnet /95 on the wire",
      header([["n", 12, 0]], 1, [...i32(12), ...i32(0), 1, 95, 4, 10, 0, 0, 0]),
      /subnet length 95 for IPv4/,
    ],
    ["a truncated double", header([["d", 4, 0]], 1, [...i32(4), ...i32(0), 1, 0x3f, 0xf0]), /data underflow/],
  ];
  for (const [what, bytes, message] of cases) {
    test(what, () => {
      expect(() => decodeZeekBatch(new Uint8Array(bytes))).toThrow(message);
    });
  }

  test("names: a stream that is no enum name, a writer that is no Log::Writer, a path that is no file name", () => {
    const named = (stream: string, writer: string, path: string) =>
      new Uint8Array(header([["n", 3, 0]], 0, [], [stream, writer, "default", path]));
    expect(() => decodeZeekBatch(named("A::LOG", "Log::WRITER_ASCII", "p"))).not.toThrow();
    expect(() => decodeZeekBatch(named("A LOG!", "Log::WRITER_ASCII", "p"))).toThrow(
      /stream name 'A LOG!' is no Log::ID/,
    );
    expect(() => decodeZeekBatch(named("A::LOG", "Log::WRITER_SQL ", "p"))).toThrow(/is no Log::Writer/);
    expect(() => decodeZeekBatch(named("A::LOG", "Log::WRITER_ASCII", "../x"))).toThrow(
      /path '..\/x' is not a file name/,
    );
  });

  test("every truncation of a valid batch is rejected; bytes after the last record are ignored, as Zeek does", () => {
    const anchor = unhex(VECTORS[0]!.hex);
    for (let n = 0; n < anchor.length; n++) expect(() => decodeZeekBatch(anchor.subarray(0, n))).toThrow(TypeError);
    for (let n = 0; n < ZEEK_BATCH.length; n += 97)
      expect(() => decodeZeekBatch(ZEEK_BATCH.subarray(0, n))).toThrow(TypeError);
    expect(decodeZeekBatch(new Uint8Array([...anchor, 1, 2, 3])).records).toEqual([[1], [2]]);
  });

  test("nesting is bounded: 100,000 vectors in vectors are rejected at depth 16, without recursing further", () => {
    const level = [...i32(19), ...i32(0), 1, 0, 0, 0, 0, 0, 0, 0, 1];
    const deep = new Uint8Array(level.length * 100_000 + 9);
    for (let i = 0; i < 100_000; i++) deep.set(level, i * level.length);
    expect(() => decodeZeekValue(deep)).toThrow(/nested deeper than 16/);
  });
});

// A small deterministic PRNG (mulberry32), so that a failure can be reproduced from the seed.
function prng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const SCALARS = [
  "bool",
  "int",
  "count",
  "double",
  "time",
  "interval",
  "string",
  "enum",
  "port",
  "addr",
  "subnet",
  "func",
  "file",
] as const;

function randomValue(type: (typeof SCALARS)[number], r: () => number): unknown {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
  const bytes = (n: number) => Uint8Array.from({ length: n }, () => Math.floor(r() * 256));
  const f64 = () => new Float64Array(bytes(8).buffer)[0]!;
  switch (type) {
    case "bool":
      return r() < 0.5;
    case "int":
      return pick([
        0,
        -1,
        2 ** 53 - 1,
        -(2 ** 53),
        -9223372036854775808n,
        9223372036854775807n,
        Math.floor((r() - 0.5) * 2 ** 40),
        BigInt.asIntN(64, BigInt(Math.floor(r() * 2 ** 52)) << 11n),
      ]);
    case "count":
      return pick([
        0,
        1,
        2 ** 53 - 1,
        18446744073709551615n,
        Math.floor(r() * 2 ** 48),
        BigInt.asUintN(64, BigInt(Math.floor(r() * 2 ** 52)) << 12n),
      ]);
    case "double":
      return pick([0, -0, 1.5, Number.NaN, Infinity, -Infinity, 5e-324, f64(), f64(), r() * 1e6]);
    case "time":
    case "interval":
      return pick([0, -0, 1700000000.123456, r() * 2e9, -r(), f64() || 1]);
    case "string":
    case "enum":
    case "func":
    case "file":
      return pick([
        "",
        "-",
        "(empty)",
        "é\u0001",
        "tab\tcomma,",
        "\u{1f600}",
        bytes(Math.floor(r() * 12)),
        "x".repeat(Math.floor(r() * 300)),
      ]);
    case "port":
      return pick([0, 65535, Math.floor(r() * 65536), "80/tcp", "53/udp", "8/icmp", "0/unknown"]);
    case "addr":
      return pick([
        "0.0.0.0",
        "255.255.255.255",
        "10.0.0.1",
        "::",
        "::1",
        "2001:db8::1",
        "fe80::1:0:0:0",
        "::ffff:1.2.3.4",
        "::1.2.3.4",
      ]);
    case "subnet":
      return pick([
        "0.0.0.0/0",
        "10.0.0.0/8",
        "192.168.1.128/25",
        "::/0",
        "2001:db8::/32",
        "::ffff:10.0.0.0/104",
        "fe80::/128",
      ]);
  }
}

const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
function text(bytes: Uint8Array): string | Uint8Array {
  try {
    return utf8.decode(bytes);
  } catch {
    return bytes;
  }
}

/** Ports given as "80/tcp" come back as numbers, bytes that happen to be UTF-8 as text; the rest as it went. */
const normalized = (type: string, v: unknown): unknown =>
  v === null
    ? null
    : Array.isArray(v)
      ? v.map((x) => normalized(type, x))
      : type.includes("port") && typeof v === "string"
        ? Number(v.split("/")[0])
        : v instanceof Uint8Array
          ? text(v)
          : v;

describe("a seeded random round trip over every field type", () => {
  test("1000 batches of random streams: decode(encode(batch)) is the batch, and encode(decode(bytes)) the bytes", () => {
    const r = prng(20260829);
    for (let n = 0; n < 1000; n++) {
      const fields: Record<string, { type: LogFieldType; optional: boolean }> = {};
      const count = 1 + Math.floor(r() * 8);
      for (let i = 0; i < count; i++) {
        const scalar = SCALARS[Math.floor(r() * SCALARS.length)]!;
        const shape = r();
        fields[`f${i}`] = {
          type: (shape < 0.6 ? scalar : shape < 0.8 ? `set[${scalar}]` : `vector[${scalar}]`) as LogFieldType,
          optional: r() < 0.3,
        };
      }
      const stream = defineStream({
        id: "Rand::LOG",
        path: `rand${n % 7}`,
        fields,
        filter: r() < 0.5 ? "default" : "other",
      });
      const records = Array.from({ length: Math.floor(r() * 6) }, () => {
        const record: Record<string, unknown> = {};
        for (const f of stream.fields) {
          if (f.optional && r() < 0.3) continue;
          const scalar = f.type.replace(/^(set|vector)\[|\]$/g, "") as (typeof SCALARS)[number];
          const one = () => randomValue(scalar, r);
          record[f.name] =
            f.type === scalar
              ? one()
              : Array.from({ length: Math.floor(r() * 4) }, () =>
                  f.type.startsWith("vector") && r() < 0.1 ? null : one(),
                );
        }
        return recordValues(stream, record);
      });
      const batch: LogBatch = {
        stream: stream.id,
        writer: stream.writer,
        filter: stream.filter,
        path: stream.path,
        fields: [...stream.fields],
        records,
      };
      const bytes = encodeZeekBatch(batch);
      const decoded = decodeZeekBatch(bytes);
      const expected = records.map((rec) => rec.map((v, i) => normalized(stream.fields[i]!.type, v)));
      expect({
        ...decoded,
        records: decoded.records.map((rec) => rec.map((v) => (typeof v === "number" && Number.isNaN(v) ? "NaN" : v))),
      }).toEqual({
        ...batch,
        records: expected.map((rec) => rec.map((v) => (typeof v === "number" && Number.isNaN(v) ? "NaN" : v))),
      });
      for (let i = 0; i < records.length; i++)
        for (let j = 0; j < records[i]!.length; j++)
          if (Object.is(records[i]![j], -0)) expect(Object.is(decoded.records[i]![j], -0)).toBe(true);
      const exact = decodeZeekBatch(bytes, 0, bytes.length, { exact: true });
      expect(hex(encodeZeekBatch(exact))).toBe(hex(bytes));
    }
  });
});
