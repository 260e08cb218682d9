// Log files as Zeek's ASCII writer writes them, checked against what Zeek 9.1 itself printed: doubles
// (fixtures/zeek-doubles.tsv, including every case where rapidjson's digits are not JavaScript's), and
// a whole file of every field type with awkward values (the batch a Zeek worker sent, and the TSV and
// JSON files a Zeek logger wrote from it). test/zeek-logging.test.ts redoes the latter with Zeek running.

import { afterEach, describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { rapidjsonDouble } from "../lib/_json-double.ts";
import { LogFiles } from "../lib/_logfiles.ts";
import { jsonDouble, jsonKey, jsonString, metaStamp, tsvDouble, tsvString, tsvTime } from "../lib/_zeek-ascii.ts";
import { decodeZeekBatch } from "../lib/_zeek-log-format.ts";
import { defineStream, recordValues } from "../lib/logformat.ts";
import { TempDirs } from "./helpers.ts";

const FIXTURES = join(import.meta.dir, "fixtures");
const dirs = new TempDirs("zeek-ascii-");
afterEach(dirs.cleanup);
const tempDir = dirs.make;
const stamps = (text: string) => text.replace(/^#(open|close)\t.*$/gm, "#$1\tSTAMP");

describe("doubles as Zeek prints them", () => {
  const rows = readFileSync(join(FIXTURES, "zeek-doubles.tsv"), "utf8")
    .split("\n")
    .filter((l) => l && !l.startsWith("#"))
    .map((l) => l.split("\t"));
  const value = (h: string) => new DataView(new Uint8Array(Buffer.from(h, "hex")).buffer).getFloat64(0);

  test(`${rows.length} doubles: TSV double, TSV time and JSON are Zeek's, byte for byte`, () => {
    const wrong = rows.filter(
      ([h, d, t, j]) => tsvDouble(value(h!)) !== d || tsvTime(value(h!)) !== t || jsonDouble(value(h!)) !== j,
    );
    expect(wrong).toEqual([]);
  });

  test("the rules, by example", () => {
    expect([2, 1e-7, -1e-7, 1e-10, -1e-10, -0, 0.0078125, 1e21, Number.NaN, -Infinity].map(tsvDouble)).toEqual([
      "2.0",
      "0",
      "-0",
      "0.0",
      "-0.0",
      "0.0",
      "0.007812",
      "1000000000000000000000.0",
      "nan",
      "-inf",
    ]);
    expect([1700000000.5, -0, 0.0078125, 2.5e-7, 1e22].map(tsvTime)).toEqual([
      "1700000000.500000",
      "-0.000000",
      "0.007812",
      "0.000000",
      "10000000000000000000000.000000",
    ]);
    expect([2, -0, 1e21, 1e-7, 0.000001, 132405809496.45312, Number.NaN].map(jsonDouble)).toEqual([
      "2.0",
      "-0.0",
      "1e21",
      "1e-7",
      "0.000001",
      "132405809496.45313",
      "null",
    ]);
  });

  test("rapidjson's digits always read back as the same double", () => {
    let seed = 42;
    const bits = new Uint32Array(2);
    const f64 = new Float64Array(bits.buffer);
    for (let i = 0; i < 20_000; i++) {
      bits[0] = seed = (seed * 1664525 + 1013904223) >>> 0;
      bits[1] = seed = (seed * 1664525 + 1013904223) >>> 0;
      const d = f64[0]!;
      if (Number.isFinite(d)) expect(Number(rapidjsonDouble(d))).toBe(d);
    }
  });
});

describe("strings as Zeek escapes them", () => {
  const bytes = (...b: number[]) => new Uint8Array(b);
  test("TSV: reserved words, backslash, tab, comma in sets, bad UTF-8 escaping the whole stretch around it", () => {
    expect(["", "-", "(empty)", "a\\b", "a\tb", "é", "é\x01", "a\nb", "#x"].map((s) => tsvString(s, false))).toEqual([
      "(empty)",
      "\\x2d",
      "\\x28empty)",
      "a\\\\b",
      "a\\x09b",
      "é",
      "\\xc3\\xa9\\x01",
      "a\\x0ab",
      "#x",
    ]);
    expect(tsvString("é\\é\x01", false)).toBe("é\\\\\\xc3\\xa9\\x01"); // each stretch between backslashes on its own
    expect(tsvString("a,b", true)).toBe("a\\x2cb");
    expect(tsvString(bytes(0x6f, 0x6b, 0x80, 0xc3, 0xa9), false)).toBe("ok\\x80\\xc3\\xa9");
    expect(tsvString(bytes(0xef, 0xbf, 0xbd), false)).toBe("\\xef\\xbf\\xbd"); // U+FFFD is among Zeek's "special characters"
  });

  test("JSON: the HEX policy, then JSON's own escapes", () => {
    expect(jsonString('a\\b"\n')).toBe('"a\\\\b\\"\\n"');
    expect(jsonString("é\x01")).toBe('"\\\\xc3\\\\xa9\\\\x01"');
    expect(jsonString(bytes(0x80))).toBe('"\\\\x80"');
    expect(jsonString("\u{1f600}")).toBe('"\u{1f600}"');
    expect(jsonKey("a\x1f")).toBe('"a\\u001F"');
  });
});

describe("whole files", () => {
  const batch = decodeZeekBatch(
    new Uint8Array(
      Buffer.from(readFileSync(join(FIXTURES, "zeek-alltypes.batch.hex"), "utf8").replace(/\s+/g, ""), "hex"),
    ),
  );

  test("the batch a Zeek worker sent, written as TSV: Zeek's header, records and #close, byte for byte", () => {
    const dir = tempDir();
    const files = new LogFiles({ dir, format: "tsv" });
    files.write(batch);
    files.close();
    const ours = readFileSync(join(dir, "alltypes.log"), "utf8");
    expect(ours).toMatch(/^#open\t\d{4}(-\d\d){5}$/m);
    expect(stamps(ours)).toBe(readFileSync(join(FIXTURES, "zeek-alltypes.tsv"), "utf8"));
  });

  test("… and as JSON lines, byte for byte", () => {
    const dir = tempDir();
    const files = new LogFiles({ dir, format: "json" });
    files.write(batch);
    files.close();
    expect(readFileSync(join(dir, "alltypes.log"), "utf8")).toBe(
      readFileSync(join(FIXTURES, "zeek-alltypes.json"), "utf8"),
    );
  });

  test("a record whose line would start with '#' gets it escaped; the meta lines stamp local time", () => {
    const dir = tempDir();
    const NOTE = defineStream({
      id: "Note::LOG",
      path: "note",
      fields: { msg: "string", n: { type: "count", optional: true } },
    });
    const files = new LogFiles({ dir, format: "tsv" });
    files.write({
      stream: NOTE.id,
      path: "note",
      fields: [...NOTE.fields],
      records: [recordValues(NOTE, { msg: "#fields" }), recordValues(NOTE, { msg: "x#", n: 2n ** 60n })],
    });
    files.close();
    const lines = readFileSync(join(dir, "note.log"), "utf8").split("\n");
    expect(lines.slice(8, 10)).toEqual(["\\x23fields\t-", "x#\t1152921504606846976"]);
    expect(metaStamp(Date.UTC(2024, 0, 2, 3, 4, 5) + new Date(2024, 0, 2).getTimezoneOffset() * 60_000)).toBe(
      "2024-01-02-03-04-05",
    );
  });
});
