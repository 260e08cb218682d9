/**
 * @module The ceiling of the log benchmark: one process writing the records the benchmark's writers
 * send, already formatted as the logger formats them (JSON lines or Zeek's TSV), to a file on the same
 * disk, in the same size of write(2) the logger makes, as fast as it can. The logger's rate is a ratio
 * of it. Also the record itself (`CONN`, `benchRecord`), which `peers/cluster-node.ts` writes.
 */

import { closeSync, mkdtempSync, openSync, rmSync, statSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ByteOut, LineWriter } from "../lib/_log-out.ts";
import { defineStream, type LogRecordOf, type LogStream, recordValues } from "../lib/logformat.ts";

const CONN_FIELDS = {
  ts: "time",
  uid: "string",
  "id.orig_h": "addr",
  "id.orig_p": "port",
  "id.resp_h": "addr",
  "id.resp_p": "port",
  proto: "enum",
  duration: "interval",
  orig_bytes: "count",
  resp_bytes: "count",
} as const;

/** A conn.log-like stream of ten fields. */
export const CONN: LogStream<typeof CONN_FIELDS> = defineStream({
  id: "Bench::CONN",
  path: "conn",
  fields: CONN_FIELDS,
});

/** Record `n` of a writer. */
export function benchRecord(n: number): LogRecordOf<typeof CONN> {
  return {
    ts: Date.now() / 1000,
    uid: `C${n.toString(36)}`,
    "id.orig_h": "10.0.0.1",
    "id.orig_p": 40000 + (n % 20000),
    "id.resp_h": "192.168.1.1",
    "id.resp_p": 443,
    proto: "tcp",
    duration: 0.25,
    orig_bytes: n % 9000,
    resp_bytes: 1500,
  };
}

/** One format's ceiling. */
export interface LogCeiling {
  format: "json" | "tsv";
  records: number;
  /** Bytes of one record's line, on average. */
  bytesPerRecord: number;
  /** The size of each write(2): the lines of one batch of `batchRecords`, the least the logger writes at once. */
  writeBytes: number;
  seconds: number;
  recordsPerSec: number;
  mbPerSec: number;
  /** Formatting included: the logger's own formatter from checked values to the file, in this one process. */
  formatRecordsPerSec: number;
}

/**
 * Writes `records` records' lines (`format`) to a new file in the system's temporary directory (where
 * the logger benchmark writes too), `writeBytes` at a time, best of `reps` runs.
 */
export function logCeiling(format: "json" | "tsv", records = 500_000, batchRecords = 1000, reps = 3): LogCeiling {
  const start = Date.now() * 1000;
  const values = Array.from({ length: records }, (_, n) => recordValues(CONN, benchRecord(n)));
  // A new timestamp every record, in µs as Zeek's are: no repeats for the formatter to reuse.
  for (let n = 0; n < records; n++) values[n]![0] = (start + n * 7919) / 1e6;
  const lines = new LineWriter(format, CONN.fields);
  const out = new ByteOut();
  for (const v of values) lines.line(out, v);
  const bytes = out.buf.subarray(0, out.pos);
  const writeBytes = Math.round((bytes.length / records) * batchRecords);
  const dir = mkdtempSync(join(tmpdir(), "bench-ceiling-"));
  let best = Infinity;
  let bestFormatted = Infinity;
  try {
    for (let rep = 0; rep < reps; rep++) {
      const file = join(dir, `conn-${rep}.log`);
      const t0 = performance.now();
      const fd = openSync(file, "a"); // as the logger opens its files
      for (let at = 0; at < bytes.length; ) at += writeSync(fd, bytes, at, Math.min(writeBytes, bytes.length - at));
      closeSync(fd);
      best = Math.min(best, (performance.now() - t0) / 1000);
      if (statSync(file).size !== bytes.length) throw new Error(`ceiling: ${file} is short`);
      rmSync(file);
      // The same with formatting: a batch's lines into a buffer, then one write(2).
      const t1 = performance.now();
      const fd2 = openSync(file, "a");
      const batch = new ByteOut();
      for (let i = 0; i < records; i += batchRecords) {
        batch.pos = 0;
        for (let j = i; j < Math.min(records, i + batchRecords); j++) lines.line(batch, values[j]!);
        for (let at = 0; at < batch.pos; ) at += writeSync(fd2, batch.buf, at, batch.pos - at);
      }
      closeSync(fd2);
      bestFormatted = Math.min(bestFormatted, (performance.now() - t1) / 1000);
      rmSync(file);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return {
    format,
    records,
    bytesPerRecord: bytes.length / records,
    writeBytes,
    seconds: best,
    recordsPerSec: records / best,
    mbPerSec: bytes.length / best / 1e6,
    formatRecordsPerSec: records / bestFormatted,
  };
}

if (import.meta.main) {
  for (const format of ["json", "tsv"] as const) console.log(JSON.stringify(logCeiling(format)));
}
