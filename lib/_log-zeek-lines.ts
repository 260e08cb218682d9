/**
 * @module Private: a `zeek-bin-serializer` batch formatted as it is read, on a logger that only writes
 * files: the common values (numbers, ports, IPv4 addresses, printable ASCII text, unset) go from the
 * batch's bytes to the line without becoming JavaScript values, the rest is read by `readValue` and
 * printed by the `LineWriter`, as `decodeZeekBatch` and `LogFiles.write` would, by code generated
 * per file (`_log-zeek-compiled.ts`). This is only ever as lenient as `decodeZeekBatch`: a batch it
 * finds malformed is left to the decoder, which says why.
 */

import { zeekLinesOf } from "./_log-zeek-compiled.ts";
import type { LogFiles } from "./_logfiles.ts";
import { Reader, readHeader, type ZeekBatchHeader } from "./_zeek-log-format.ts";

/**
 * Writes the batch in `bytes[start, end)` to its path's file, formatted while it is read; returns the
 * records written, or `undefined` (and nothing written) when the batch is malformed or the files take
 * it only the usual way (the path's first batch, rotation by size): decode it then.
 *
 * @example The first batch of a path goes the usual way, the next ones straight to the file
 * ```ts
 * import { mkdtempSync, readFileSync } from "node:fs";
 * import { tmpdir } from "node:os";
 * import { join } from "node:path";
 * import { decodeZeekBatch, defineStream, encodeZeekBatch, recordValues } from "./logformat.ts";
 * import { LogFiles } from "./_logfiles.ts";
 * import { writeZeekLines } from "./_log-zeek-lines.ts";
 *
 * const PING = defineStream({ id: "Ping::LOG", path: "ping", fields: { ts: "time", peer: "addr" } });
 * const batch = (ts: number) => encodeZeekBatch({ stream: PING.id, path: PING.path, fields: [...PING.fields], records: [recordValues(PING, { ts, peer: "10.0.0.1" })] });
 * const dir = mkdtempSync(join(tmpdir(), "logs-"));
 * const files = new LogFiles({ dir });
 * console.log(writeZeekLines(files, batch(1))); // undefined
 * files.write(decodeZeekBatch(batch(1)));
 * console.log(writeZeekLines(files, batch(2))); // 1
 * files.close();
 * console.log(readFileSync(join(dir, "ping.log"), "utf8")); // '{"ts":1.0,"peer":"10.0.0.1"}\n{"ts":2.0,"peer":"10.0.0.1"}\n'
 * ```
 */
export function writeZeekLines(
  files: LogFiles,
  bytes: Uint8Array,
  start = 0,
  end: number = bytes.length,
): number | undefined {
  try {
    const r = new Reader(bytes, start, end);
    const header = knownHeader(r) ?? remember(r);
    const done = files.writeWith(header.path, header.fields, header.numRecords, (lines, out) =>
      zeekLinesOf(lines, header.tags)(r, header, lines, out),
    );
    return done ? header.numRecords : undefined;
  } catch {
    return undefined; // malformed: the decoder tells what is wrong
  }
}

/**
 * The headers of recent batches: their bytes up to the record count, and what `readHeader` made of
 * them. A batch that starts with the same bytes has the same header, which is not read again (a
 * writer sends one stream's batches one after another).
 */
const recent: { bytes: Uint8Array; header: ZeekBatchHeader }[] = [];
const RECENT = 8;

/** The header of the batch at `r` if it is a recent one (`r` then at its first record), else undefined. */
function knownHeader(r: Reader): ZeekBatchHeader | undefined {
  const { bytes, pos: start, end } = r;
  for (const known of recent) {
    const b = known.bytes;
    const n = b.length;
    if (n + 4 > end - start) continue;
    let i = 0;
    while (i < n && bytes[start + i] === b[i]) i++;
    if (i < n) continue;
    r.pos = start + n;
    const numRecords = r.u32();
    const h = known.header;
    // As readHeader checks it: room for every value's 9 bytes at least.
    if (numRecords * h.fields.length * 9 > r.left) throw new TypeError("Invalid zeek-bin-serializer data");
    const { stream, writer, filter, path, fields, tags, elements } = h;
    return { stream, writer, filter, path, fields, numRecords, tags, elements };
  }
  return undefined;
}

/** Reads the header of the batch at `r` and keeps it among the recent ones (unless long: comparing is bounded). */
function remember(r: Reader): ZeekBatchHeader {
  const start = r.pos;
  const header = readHeader(r);
  if (r.pos - start > 4096) return header;
  if (recent.length >= RECENT) recent.pop();
  recent.unshift({ bytes: r.bytes.slice(start, r.pos - 4), header });
  return header;
}
