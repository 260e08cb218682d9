import { afterEach, describe, expect, test } from "bun:test";
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { LogFiles, rotationStamp } from "../lib/_logfiles.ts";
import { defineStream, recordValues } from "../lib/logformat.ts";
import { startHub } from "./cluster-helpers.ts";
import { ANY_PORT, TempDirs } from "./helpers.ts";

const dirs = new TempDirs("zeek-files-");
afterEach(dirs.cleanup);
const tempDir = dirs.make;

const TEST = defineStream({
  id: "Test::LOG",
  path: "test",
  fields: { seq: "count", note: { type: "string", optional: true }, tags: { type: "set[string]", optional: true } },
});
const batchOf = (from: number, n: number) => ({
  stream: TEST.id,
  path: "test",
  fields: [...TEST.fields],
  records: Array.from({ length: n }, (_, i) =>
    recordValues(TEST, { seq: from + i, note: `record ${from + i}`, tags: ["x"] }),
  ),
});
const ROTATED = /^test\.\d{4}-\d\d-\d\d-\d\d-\d\d-\d\d-\d{4}-\d\d-\d\d-\d\d-\d\d-\d\d(-\d+)?\.log$/;

/** Seqs in every rotated JSON file, checking that each line is a whole record. */
function seqsIn(dir: string): number[][] {
  return readdirSync(dir)
    .sort()
    .map((f) => {
      expect(f).toMatch(ROTATED);
      return readFileSync(join(dir, f), "utf8")
        .split("\n")
        .filter(Boolean)
        .map((l) => JSON.parse(l).seq as number);
    });
}
const exactlyOnce = (seqs: number[], n: number) =>
  expect([...seqs].sort((a, b) => a - b)).toEqual(Array.from({ length: n }, (_, i) => i));

describe("LogFiles", () => {
  test("JSON lines as Zeek writes them: unset fields left out, sets as arrays, big counts with every digit", () => {
    const dir = tempDir();
    const files = new LogFiles({ dir });
    files.write({
      ...batchOf(0, 1),
      records: [
        [1, null, []],
        [2, "x", ["a", "b"]],
        [18446744073709551615n, "é\\", [""]],
      ],
    });
    files.close();
    expect(readFileSync(join(dir, "test.log"), "utf8")).toBe(
      '{"seq":1,"tags":[]}\n{"seq":2,"note":"x","tags":["a","b"]}\n{"seq":18446744073709551615,"note":"é\\\\","tags":[""]}\n',
    );
  });

  test("rotation by size: every file renamed whole, none much over the limit, no record split or lost", () => {
    const dir = tempDir();
    const files = new LogFiles({ dir, rotateSize: 2000 });
    for (let i = 0; i < 100; i++) files.write(batchOf(i * 10, 10));
    files.close();
    const perFile = seqsIn(dir);
    expect(perFile.length).toBeGreaterThan(10);
    exactlyOnce(perFile.flat(), 1000);
    const longest = Math.max(
      ...perFile.flat().map((s) => JSON.stringify({ seq: s, note: `record ${s}`, tags: ["x"] }).length + 1),
    );
    for (const f of readdirSync(dir)) expect(statSync(join(dir, f)).size).toBeLessThan(2000 + longest);
  });

  test("rotation by interval: several files, together every record once", async () => {
    const dir = tempDir();
    const files = new LogFiles({ dir, rotateInterval: 100 });
    for (let i = 0; i < 30; i++) {
      files.write(batchOf(i * 5, 5));
      files.flush();
      await Bun.sleep(20);
    }
    files.close();
    const perFile = seqsIn(dir);
    expect(perFile.length).toBeGreaterThanOrEqual(3);
    exactlyOnce(perFile.flat(), 150);
  });

  test("rotated TSV files are complete: headers, records, #close", () => {
    const dir = tempDir();
    const files = new LogFiles({ dir, format: "tsv", rotateSize: 500 });
    for (let i = 0; i < 20; i++) files.write(batchOf(i * 5, 5));
    files.close();
    const seqs: number[] = [];
    for (const f of readdirSync(dir)) {
      expect(f).toMatch(ROTATED);
      const lines = readFileSync(join(dir, f), "utf8").split("\n").filter(Boolean);
      expect(lines[0]).toBe("#separator \\x09");
      expect(lines[6]).toBe("#fields\tseq\tnote\ttags");
      expect(lines[7]).toBe("#types\tcount\tstring\tset[string]");
      expect(lines.at(-1)).toMatch(/^#close\t[\d-]+$/);
      for (const l of lines.slice(8, -1)) {
        const [seq, note, tags] = l.split("\t");
        expect([note, tags]).toEqual([`record ${seq}`, "x"]);
        seqs.push(Number(seq));
      }
    }
    exactlyOnce(seqs, 100);
  });

  test("with rotation on, a file left over from an earlier run is rotated away first", () => {
    const dir = tempDir();
    writeFileSync(join(dir, "test.log"), '{"seq":-1}\n');
    const files = new LogFiles({ dir, rotateInterval: 60_000 });
    files.write(batchOf(0, 1));
    files.close();
    const all = readdirSync(dir);
    expect(all).toHaveLength(2);
    expect(all.every((f) => ROTATED.test(f))).toBe(true);
    expect(existsSync(join(dir, "test.log"))).toBe(false);
  });

  test("bad options are RangeErrors; stamps are UTC", () => {
    expect(() => new LogFiles({ dir: tempDir(), format: "csv" as never })).toThrow(/option 'format'.*got 'csv'/);
    expect(() => new LogFiles({ dir: tempDir(), rotateSize: -1 })).toThrow(/option 'rotateSize'/);
    expect(rotationStamp(Date.UTC(2024, 0, 2, 3, 4, 5))).toBe("2024-01-02-03-04-05");
  });

  test("a logger node rotates by size through its logging options", async () => {
    const dir = tempDir();
    const hub = await startHub({ listenLogEndpoint: ANY_PORT, logging: { dir, rotateSize: 3000 } });
    for (let seq = 0; seq < 500; seq++) hub.log(TEST, { seq, note: `record ${seq}` });
    await hub.stop();
    const perFile = seqsIn(dir);
    expect(perFile.length).toBeGreaterThan(3);
    exactlyOnce(perFile.flat(), 500);
  });
});
