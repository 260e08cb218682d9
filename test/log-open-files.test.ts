// Many log paths on one logger (issue 12): the log files keep at most `maxOpenFiles` open, closing the
// least recently used and reopening them on demand without a second header, and an open-file limit
// (EMFILE) is never fatal: files are closed and the open retried, and what still cannot be written is
// counted and reported once. The limits that matter are real ones: `ulimit -n` on child processes.

import { afterEach, describe, expect, test } from "bun:test";
import { readdirSync, readFileSync, readlinkSync, rmSync } from "node:fs";
import { join } from "node:path";
import { LogFiles } from "../lib/_logfiles.ts";
import { defineStream, type LogBatch, recordValues } from "../lib/logformat.ts";
import { makeNode, startHub } from "./cluster-helpers.ts";
import { type Child, spawnChild, statsOf, TempDirs } from "./helpers.ts";

const dirs = new TempDirs("zeek-open-files-");
afterEach(dirs.cleanup);
const tempDir = dirs.make;

const MANY = defineStream({ id: "Many::LOG", path: "many", fields: { path: "string", seq: "count" } });
const batch = (path: string, from: number, n: number): LogBatch => ({
  stream: MANY.id,
  path,
  fields: [...MANY.fields],
  records: Array.from({ length: n }, (_, i) => recordValues(MANY, { path, seq: from + i })),
});
const pathName = (i: number) => `p${String(i).padStart(3, "0")}`;

/** Descriptors of this process open on files under `dir`. */
function fdsUnder(dir: string, pid: number | "self" = "self"): number {
  let n = 0;
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      if (readlinkSync(`/proc/${pid}/fd/${fd}`).startsWith(dir)) n++;
    } catch {} // closed between the listing and the readlink
  }
  return n;
}

/** A TSV file split into Zeek's header (#separator … #types), its records' seqs, and the #close lines. */
function tsvFile(file: string, path: string): { headers: number; closes: number; seqs: number[] } {
  const lines = readFileSync(file, "utf8").split("\n").filter(Boolean);
  const seqs: number[] = [];
  for (const l of lines.filter((l) => !l.startsWith("#"))) {
    const [p, seq] = l.split("\t");
    expect(p).toBe(path);
    seqs.push(Number(seq));
  }
  expect(lines[0]).toBe("#separator \\x09");
  expect(lines[7]).toBe("#types\tstring\tcount");
  return {
    headers: lines.filter((l) => l.startsWith("#separator")).length,
    closes: lines.filter((l) => l.startsWith("#close")).length,
    seqs,
  };
}
const upTo = (n: number, from = 0) => Array.from({ length: n - from }, (_, i) => from + i);

describe("the open-file budget", () => {
  test("24 paths with maxOpenFiles 8: never more than 8 open; every record in its file under one header", () => {
    const dir = tempDir();
    const files = new LogFiles({ dir, format: "tsv", maxOpenFiles: 8 });
    let most = 0;
    for (let round = 0; round < 5; round++) {
      for (let i = 0; i < 24; i++) {
        files.write(batch(pathName(i), round * 3, 3));
        most = Math.max(most, fdsUnder(dir));
        expect(files.openFiles).toBeLessThanOrEqual(8);
      }
      files.flush(); // the records of files still open reach the OS; closed ones were flushed on closing
      most = Math.max(most, fdsUnder(dir));
    }
    expect(most).toBe(8);
    files.close();
    expect(fdsUnder(dir)).toBe(0);
    expect(readdirSync(dir)).toHaveLength(24);
    for (let i = 0; i < 24; i++) {
      const f = tsvFile(join(dir, `${pathName(i)}.log`), pathName(i));
      expect([f.headers, f.closes]).toEqual([1, 1]);
      expect(f.seqs).toEqual(upTo(15));
    }
  });

  test("rotation by size and by interval keep working on files closed by the budget", async () => {
    const bySize = tempDir();
    const sized = new LogFiles({ dir: bySize, format: "tsv", rotateSize: 250, maxOpenFiles: 2 });
    for (let round = 0; round < 20; round++) for (let i = 0; i < 5; i++) sized.write(batch(pathName(i), round * 4, 4));
    sized.close();
    const byInterval = tempDir();
    const timed = new LogFiles({ dir: byInterval, format: "tsv", rotateInterval: 150, maxOpenFiles: 2 });
    for (let round = 0; round < 10; round++) {
      for (let i = 0; i < 5; i++) timed.write(batch(pathName(i), round * 4, 4));
      timed.flush();
      await Bun.sleep(50);
    }
    timed.close();
    for (const [dir, minFiles] of [
      [bySize, 6],
      [byInterval, 2],
    ] as const) {
      for (let i = 0; i < 5; i++) {
        const rotated = readdirSync(dir).filter((f) => f.startsWith(`${pathName(i)}.`));
        expect(rotated.length).toBeGreaterThanOrEqual(minFiles);
        const seqs: number[] = [];
        for (const name of rotated.sort()) {
          expect(name).toMatch(/^p\d{3}\.[\d-]+\.log$/); // renamed whole, none left as pNNN.log
          const f = tsvFile(join(dir, name), pathName(i));
          expect([f.headers, f.closes]).toEqual([1, 1]);
          seqs.push(...f.seqs);
        }
        expect(seqs.sort((a, b) => a - b)).toEqual(upTo(dir === bySize ? 80 : 40));
      }
    }
  });

  test("JSON lines through the budget, and a file removed while closed starts again with a header", () => {
    const dir = tempDir();
    const json = new LogFiles({ dir, maxOpenFiles: 1 });
    for (let round = 0; round < 3; round++) for (const p of ["a", "b", "c"]) json.write(batch(p, round, 1));
    json.close();
    for (const p of ["a", "b", "c"]) {
      const lines = readFileSync(join(dir, `${p}.log`), "utf8")
        .split("\n")
        .filter(Boolean);
      expect(lines.map((l) => JSON.parse(l))).toEqual(upTo(3).map((seq) => ({ path: p, seq })));
    }
    const tsv = new LogFiles({ dir: join(dir, "tsv"), format: "tsv", maxOpenFiles: 1 });
    tsv.write(batch("a", 0, 1));
    tsv.write(batch("b", 0, 1)); // closes a.log
    rmSync(join(dir, "tsv", "a.log"));
    tsv.write(batch("a", 1, 1));
    tsv.close();
    const a = tsvFile(join(dir, "tsv", "a.log"), "a");
    expect([a.headers, a.closes, a.seqs]).toEqual([1, 1, [1]]);
  });

  test("maxOpenFiles must be a positive integer", () => {
    for (const bad of [0, -1, 1.5, Number.NaN]) {
      expect(() => new LogFiles({ dir: tempDir(), maxOpenFiles: bad })).toThrow(
        new RangeError(`Invalid log option 'maxOpenFiles': expected a positive integer, got ${bad}`),
      );
    }
    expect(() => new LogFiles({ dir: tempDir(), maxOpenFiles: "8" as never })).toThrow(
      new TypeError("Invalid log option 'maxOpenFiles': expected a positive integer, got '8'"),
    );
  });
});

const DRIVER = new URL("./fixtures/node-driver.ts", import.meta.url).pathname;
const STARVED = new URL("./fixtures/fd-starved-logger.ts", import.meta.url).pathname;

/** A Bun process started by bash under `ulimit -n <limit>` (exec: the pid is Bun's). */
function spawnLimited(limit: number, args: string[]): Child {
  return spawnChild([
    "bash",
    "-c",
    `ulimit -n ${limit} && exec "$@"`,
    "bash",
    process.execPath,
    "--no-orphans",
    ...args,
  ]);
}

describe("a logger at its open-file limit", () => {
  test("ulimit -n 64, 300 paths, default budget: the logger lives, every record once under one header", async () => {
    const dir = tempDir();
    const hub = await startHub();
    const { xsub, xpub } = hub.broker!.endpoints!;
    const endpoint = `ipc://${join(dir, "logger.sock")}`;
    const logs = join(dir, "logs");
    const spec = {
      name: "limited-logger",
      options: {
        connectXpubEndpoint: xsub,
        connectXsubEndpoint: xpub,
        listenLogEndpoint: endpoint,
        logging: { dir: logs, format: "tsv" },
      },
    };
    const logger = spawnLimited(64, [DRIVER, JSON.stringify(spec)]);
    await logger.waitForLine(/^ready /, 15_000);
    const writer = makeNode({
      name: "many-paths",
      connectXpubEndpoint: xsub,
      connectXsubEndpoint: xpub,
      connectLogEndpoints: [endpoint],
    });
    await writer.start();
    const PATHS = 300;
    const write = async (round: number, perPath: number) => {
      for (let i = 0; i < PATHS; i++) {
        for (let k = 0; k < perPath; k++) {
          const path = pathName(i);
          if (!writer.log(MANY, { path, seq: round * perPath + k }, path)) await writer.logWriter!.drain();
        }
      }
      // Acknowledged: in the files. Before the budget, EMFILE took the logger down or stopped its acknowledgments.
      const died = logger.proc.exited.then((code) => `the logger exited with ${code}:\n${logger.lines.join("\n")}`);
      expect(await Promise.race([writer.flushLogs(20_000), died])).toBe(true);
    };
    let most = 0;
    const sampler = setInterval(() => (most = Math.max(most, fdsUnder(logs, logger.proc.pid))), 5);
    try {
      await write(0, 2); // 600 records: each path opened once; most must be closed again to fit
      await write(1, 2); // 600 more: every path reopened
    } finally {
      clearInterval(sampler);
    }
    const s = await statsOf(logger);
    expect(logger.proc.exitCode).toBeNull();
    expect([s.logRecordsReceived, s.logFailedRecords]).toEqual([1200, 0]);
    expect(most).toBeLessThan(64);
    logger.send({ cmd: "stop" });
    expect(await logger.exited(15_000)).toBe(0);
    expect(readdirSync(logs)).toHaveLength(PATHS);
    for (let i = 0; i < PATHS; i++) {
      const f = tsvFile(join(logs, `${pathName(i)}.log`), pathName(i));
      expect([f.headers, f.closes, f.seqs]).toEqual([1, 1, upTo(4)]);
    }
    // Reported once that the limit was met, never as a failure.
    const reports = logger.lines.filter((l) => l.startsWith("report "));
    expect(reports.filter((l) => l.includes("open-file limit"))).toHaveLength(1);
    expect(reports.filter((l) => l.includes("could not write"))).toEqual([]);
  }, 60_000);

  test("no descriptor to spare: records counted as failed, reported once; written again once some are free", async () => {
    const dir = tempDir();
    const child = spawnLimited(64, [STARVED, dir]);
    expect(await child.exited(30_000)).toBe(0);
    const result = JSON.parse(child.lines.find((l) => l.startsWith("result "))!.slice(7));
    // Starved: 3 paths × 5 records in two batches each; then, with 8 descriptors freed, 3 × 5 more.
    expect(result.starved).toMatchObject({ logRecordsReceived: 30, logFailedRecords: 30 });
    expect(result.freed).toMatchObject({ logRecordsReceived: 45, logFailedRecords: 30 });
    expect(result.reports.filter((r: string) => r.includes("could not write"))).toHaveLength(1);
    expect(result.reports.join("\n")).toContain("EMFILE");
    for (const p of ["x0", "x1", "x2"]) {
      const f = tsvFile(join(dir, `${p}.log`), p);
      expect([f.headers, f.closes, f.seqs]).toEqual([1, 1, upTo(15, 10)]);
    }
  }, 40_000);
});
