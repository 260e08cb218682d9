// The logger's byte-level lines (lib/_log-out.ts) against the string formatters of lib/_zeek-ascii.ts,
// which test/zeek-ascii.test.ts holds to what Zeek itself printed: every fast path must give the same bytes.
import { describe, expect, test } from "bun:test";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ByteOut, LineWriter } from "../lib/_log-out.ts";
import { writeZeekLines } from "../lib/_log-zeek-lines.ts";
import { LogFiles } from "../lib/_logfiles.ts";
import { jsonDouble, jsonFormatter, jsonKey, tsvFormatter, tsvTime } from "../lib/_zeek-ascii.ts";
import { decodeZeekBatch, encodeZeekBatch, type LogField, type LogFieldType } from "../lib/logformat.ts";
import { mutate, rng } from "./hostile-helpers.ts";

/** The reference: one line from the string formatters, as the logger wrote them before. */
function reference(format: "json" | "tsv", fields: LogField[], record: unknown[]): string {
  const print = fields.map((f) => (format === "json" ? jsonFormatter : tsvFormatter)(f.type));
  if (format === "json") {
    const parts = record.flatMap((v, i) => (v == null ? [] : [`${jsonKey(fields[i]!.name)}:${print[i]!(v)}`]));
    return `{${parts.join(",")}}\n`;
  }
  const line = record.map((v, i) => (v == null ? "-" : print[i]!(v))).join("\t");
  return line.startsWith("#") ? `\\x23${line.slice(1)}\n` : `${line}\n`;
}

// A small deterministic generator: the same values every run.
let seed = 12345;
const rand = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;

const doubles = (): number => {
  const us = Math.floor(rand() * 2 ** 31 * 1e6);
  return pick([
    us / 1e6, // a Zeek timestamp
    Math.round(rand() * 1e9) / 1e6 + 1.7e9,
    rand() * 100,
    -rand() * 1e3,
    Math.floor(rand() * 1000),
    Math.floor(rand() * 1e6) / 1e6,
    (Math.floor(rand() * 1e6) + 0.5) / 1e6, // ties at the 7th decimal
    Math.floor(rand() * 128) / 128 + Math.floor(rand() * 1e9),
    2147483646.9999995,
    2147483647.5,
    0,
    -0,
    1e-7,
    5e-7,
    1e21,
    0.1 + 0.2,
    Number.NaN,
    Infinity,
  ]);
};
const texts = ["", "-", "(empty)", "#x", "a\tb", 'q"uote', "back\\slash", "é", "\x01", "plain", "C1a2b3", "a,b"];
const values: Record<string, () => unknown> = {
  time: doubles,
  interval: doubles,
  double: doubles,
  count: () => pick([0, 9, 10, 65535, 2 ** 31 - 1, 2 ** 31, 2 ** 53 + 2, 18446744073709551615n]),
  int: () => pick([0, -1, 7, -(2 ** 31), 2 ** 40, -(2 ** 53) + 1]),
  port: () => pick([0, 80, 65535, "443/tcp"]),
  bool: () => rand() < 0.5,
  addr: () => pick(["10.0.0.1", "::1", "2001:db8::1"]),
  subnet: () => pick(["10.0.0.0/8", "2001:db8::/32"]),
  string: () => pick([...texts, new Uint8Array([0xff, 0x41])]),
  enum: () => pick(texts),
  "set[string]": () => pick([[], ["a", "b,c"], ["-"]]),
  "vector[count]": () => pick([[], [1, null, 3]]),
};

describe("LineWriter", () => {
  for (const format of ["json", "tsv"] as const) {
    test(`${format}: random records give the reference's bytes`, () => {
      const types = Object.keys(values) as LogFieldType[];
      for (let round = 0; round < 200; round++) {
        const fields: LogField[] = Array.from({ length: 1 + Math.floor(rand() * 6) }, (_, i) => ({
          name: `f${i}`,
          type: pick(types),
          optional: true,
        }));
        const writer = new LineWriter(format, fields);
        const out = new ByteOut();
        let expected = "";
        for (let n = 0; n < 50; n++) {
          const record = fields.map((f) => (rand() < 0.1 ? null : values[f.type]!()));
          expected += reference(format, fields, record);
          writer.line(out, record);
        }
        expect(out.buf.toString("utf8", 0, out.pos)).toBe(expected);
      }
    });
  }

  test("timestamps over the whole fast range print as jsonDouble and tsvTime do", () => {
    const json = new LineWriter("json", [{ name: "t", type: "time", optional: false }]);
    const tsv = new LineWriter("tsv", [{ name: "t", type: "time", optional: false }]);
    for (let n = 0; n < 200_000; n++) {
      // µs, ms, and fewer decimals within one second (whose digits the writer keeps), and any double.
      const t =
        n % 2
          ? Math.floor(rand() * 2 ** 31 * 1e6) / 1e6
          : n % 6 === 0
            ? Math.floor(rand() * 2 ** 31 * 1e3) / 1e3
            : n % 6 === 2
              ? 1.7e9 + Math.floor(rand() * 10 ** (n % 5)) / 10 ** (n % 5)
              : rand() * 2 ** 31;
      const a = new ByteOut();
      json.line(a, [t]);
      tsv.line(a, [t]);
      const text = a.buf.toString("latin1", 0, a.pos);
      if (text !== `{"t":${jsonDouble(t)}}\n${tsvTime(t)}\n`)
        expect(text).toBe(`{"t":${jsonDouble(t)}}\n${tsvTime(t)}\n`);
    }
  });
});

describe("zeek-bin-serializer batches formatted as they are read", () => {
  for (const format of ["json", "tsv"] as const) {
    test(`${format}: random batches and mutated ones give the files that decoding and then writing gives`, () => {
      const types = Object.keys(values) as LogFieldType[];
      const r = rng(format === "json" ? 5 : 6);
      const dirs = [mkdtempSync(join(tmpdir(), "zeek-lines-")), mkdtempSync(join(tmpdir(), "zeek-lines-"))];
      const [decoded, read] = dirs.map((dir) => new LogFiles({ dir, format })) as [LogFiles, LogFiles];
      const decodeAndWrite = (files: LogFiles, payload: Uint8Array) => {
        try {
          files.write(decodeZeekBatch(payload));
        } catch {} // malformed: written by neither
      };
      let straight = 0;
      let mutated = 0;
      try {
        for (let round = 0; round < 60; round++) {
          const fields: LogField[] = Array.from({ length: 1 + Math.floor(rand() * 6) }, (_, i) => ({
            name: `f${i}`,
            type: pick(types),
            optional: true,
          }));
          const batch = () =>
            encodeZeekBatch({
              stream: "Test::LOG",
              path: `p${round % 7}`,
              fields,
              records: Array.from({ length: 1 + Math.floor(rand() * 20) }, () =>
                fields.map((f) => (rand() < 0.1 ? null : values[f.type]!())),
              ),
            });
          for (let n = 0; n < 20; n++) {
            const valid = batch();
            const payload = n % 2 ? mutate(r, valid) : valid;
            decodeAndWrite(decoded, payload);
            const count = writeZeekLines(read, payload);
            if (count === undefined) decodeAndWrite(read, payload);
            else straight++;
            if (payload !== valid && count !== undefined) mutated++;
          }
        }
        decoded.close();
        read.close();
        const files = readdirSync(dirs[0]!).sort();
        expect(readdirSync(dirs[1]!).sort()).toEqual(files);
        // The two files were opened (and closed) apart in time: TSV's #open/#close say when, to the second.
        const content = (dir: string, file: string) =>
          readFileSync(join(dir, file), "utf8").replace(/^#(open|close)\t.*$/gm, "#$1\t<time>");
        for (const file of files) expect(content(dirs[1]!, file), file).toBe(content(dirs[0]!, file));
        // Most valid batches went straight to the files, and some mutated ones that still decode too.
        expect(straight).toBeGreaterThan(400);
        expect(mutated).toBeGreaterThan(0);
      } finally {
        for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
      }
    });

    test(`${format}: doubles and addresses that repeat (a field's text printed once) give the reference's lines`, () => {
      // Millisecond timestamps a few records each, a constant duration, and values the fast path
      // declines (a tie at the seventh decimal, 0, -0, NaN) repeated between them, in double fields too;
      // addresses that repeat, with IPv6 ones and unset ones between them.
      const fields: LogField[] = [
        { name: "ts", type: "time", optional: true },
        { name: "d", type: "interval", optional: true },
        { name: "x", type: "double", optional: true },
        { name: "h", type: "addr", optional: true },
      ];
      const odd = [0.0000005, 0, -0, Number.NaN, 1700000000.0000005, 2147483646.9999995];
      const records = Array.from({ length: 400 }, (_, i) => [
        i % 50 === 7 ? pick(odd) : 1_700_000_000 + Math.floor(i / 3) / 1000,
        i % 40 === 9 ? null : i % 60 === 11 ? pick(odd) : 0.25,
        i % 2 ? 1.5 : pick([1.5, 3.25, ...odd]),
        i % 3 ? "10.0.0.1" : pick(["10.0.0.1", "192.168.100.200", "::1", "10.0.0.10", null]),
      ]);
      const dir = mkdtempSync(join(tmpdir(), "zeek-lines-"));
      try {
        const files = new LogFiles({ dir, format });
        const batch = (from: number, to: number) =>
          encodeZeekBatch({ stream: "Test::LOG", path: "p", fields, records: records.slice(from, to) });
        files.write(decodeZeekBatch(batch(0, 1))); // a path's first batch goes the usual way
        expect(writeZeekLines(files, batch(1, 200))).toBe(199);
        expect(writeZeekLines(files, batch(200, 400))).toBe(200);
        files.close();
        const lines = readFileSync(join(dir, "p.log"), "utf8").split(/(?<=\n)/);
        const body = format === "json" ? lines : lines.filter((l) => !l.startsWith("#"));
        expect(body.join("")).toBe(records.map((r) => reference(format, fields, r)).join(""));
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  }
});
