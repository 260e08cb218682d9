/**
 * @module Private: a `zeek-bin-serializer` batch formatted as it is read, on a logger that only writes
 * files: the common values (numbers, ports, IPv4 addresses, printable ASCII text, unset) go from the
 * batch's bytes to the line without becoming JavaScript values, the rest is read by `readValue` and
 * printed by the `LineWriter`, as `decodeZeekBatch` and `LogFiles.write` would. This is only ever as
 * lenient as `decodeZeekBatch`: a batch it finds malformed is left to the decoder, which says why.
 */

import { type ByteOut, type LineWriter, putUint } from "./_log-out.ts";
import type { LogFiles } from "./_logfiles.ts";
import { Reader, readHeader, readValue, type ZeekBatchHeader } from "./_zeek-log-format.ts";

const fail = (): never => {
  throw new TypeError("Invalid zeek-bin-serializer data");
};

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
    const header = readHeader(r);
    const done = files.writeWith(header.path, header.fields, header.numRecords, (lines, out) =>
      zeekLines(r, header, lines, out),
    );
    return done ? header.numRecords : undefined;
  } catch {
    return undefined; // malformed: the decoder tells what is wrong
  }
}

/** The most bytes a line takes per field beyond its key and text: a number, an address, a separator. */
const FIELD_ROOM = 24;
/** The most bytes of a field's text kept for the next record (a double's digits or a quoted IPv4 address: 17 at most). */
const LAST_ROOM = 18;

/**
 * Appends the lines of `header.numRecords` records read from `r` (after the header) to `o`. The line
 * is written at `q` in `buf` (synced with `o` around every call that writes through it), with room
 * for a record's fixed-size values made once per record and for text once per text.
 */
function zeekLines(r: Reader, header: ZeekBatchHeader, lines: LineWriter, o: ByteOut): void {
  const { numRecords, tags, elements, fields } = header;
  const n = tags.length;
  const src = r.bytes;
  const view = r.view;
  const end = r.end;
  const { json, keys, firstKeys } = lines;
  const room = n * FIELD_ROOM + (json ? keys.reduce((sum, k) => sum + k.length, 2) : 1);
  let buf = o.buf;
  let q = o.pos;
  let p = r.pos;
  // Per double or address field: the last value the fast path printed, and its text (none yet: length 0).
  const lastValue = new Float64Array(n);
  const lastLength = new Int32Array(n);
  const last = new Uint8Array(n * LAST_ROOM);
  const remember = (j: number, value: number, from: Uint8Array, start: number, end: number) => {
    if (end - start > LAST_ROOM) return;
    lastValue[j] = value;
    lastLength[j] = end - start;
    for (let k = start, t = j * LAST_ROOM; k < end; k++) last[t++] = from[k]!;
  };
  for (let i = 0; i < numRecords; i++) {
    if (q + room > buf.length) {
      o.pos = q;
      o.ensure(room);
      buf = o.buf;
    }
    const start = q;
    if (json) buf[q++] = 123;
    let first = true;
    for (let j = 0; j < n; j++) {
      if (p + 9 > end) fail();
      const tag = tags[j]!;
      if (src[p + 8] !== 1) {
        // Unset (Zeek reads only 01 as present): left out of JSON, `-` in TSV.
        p += 9;
        if (json) continue;
        if (j > 0) buf[q++] = 9;
        buf[q++] = 45;
        continue;
      }
      if (((src[p]! << 24) | (src[p + 1]! << 16) | (src[p + 2]! << 8) | src[p + 3]!) !== tag) fail();
      if (json) {
        const key = first ? firstKeys[j]! : keys[j]!;
        for (let k = 0; k < key.length; k++) buf[q++] = key[k]!;
      } else if (j > 0) buf[q++] = 9;
      first = false;
      const at = p + 9;
      p = -1;
      switch (tag) {
        case 2: // int, count: below 2^31
        case 3:
          if (at + 8 > end) fail();
          if ((src[at]! | src[at + 1]! | src[at + 2]! | src[at + 3]! | (src[at + 4]! & 0x80)) === 0) {
            q = putUint(buf, q, view.getInt32(at + 4));
            p = at + 8;
          }
          break;
        case 10: {
          // A port: uint64 number, int32 protocol 0-3.
          if (at + 12 > end) fail();
          const port = (src[at + 6]! << 8) | src[at + 7]!;
          const proto = view.getInt32(at + 8);
          if ((src[at]! | src[at + 1]! | src[at + 2]! | src[at + 3]! | src[at + 4]! | src[at + 5]!) !== 0) fail();
          if (proto < 0 || proto > 3) fail();
          q = putUint(buf, q, port);
          p = at + 12;
          break;
        }
        case 11: {
          // An IPv4 address (JSON: quoted); the field's last one again is its text again.
          if (at + 5 > end || src[at] !== 4) break;
          p = at + 5;
          const a = view.getUint32(at + 1);
          const cached = lastLength[j]!;
          if (cached > 0 && a === lastValue[j]) {
            for (let k = j * LAST_ROOM, e = k + cached; k < e; k++) buf[q++] = last[k]!;
            break;
          }
          const from = q;
          if (json) buf[q++] = 34;
          q = putUint(buf, q, src[at + 1]!);
          buf[q++] = 46;
          q = putUint(buf, q, src[at + 2]!);
          buf[q++] = 46;
          q = putUint(buf, q, src[at + 3]!);
          buf[q++] = 46;
          q = putUint(buf, q, src[at + 4]!);
          if (json) buf[q++] = 34;
          remember(j, a, buf, from, q);
          break;
        }
        case 7: // string, enum, func, file
        case 9:
        case 17:
        case 18: {
          // Printable ASCII copied as it is, as LineWriter copies it (JSON: quoted, without `"` or a
          // backslash; TSV: without a backslash, and not one of Zeek's markers `""`, `-`, `(empty)`).
          if (at + 4 > end) fail();
          const length = view.getInt32(at);
          const s = at + 4;
          if (length < 0 || length > end - s) fail();
          if (!json && (length === 0 || (length === 1 && src[s] === 45) || (length === 7 && isEmptyMarker(src, s))))
            break;
          if (q + length + room > buf.length) {
            o.pos = q;
            o.ensure(length + room);
            buf = o.buf;
          }
          let t = q;
          if (json) buf[t++] = 34;
          let k = s;
          for (; k < s + length; k++) {
            const c = src[k]!;
            if (c < 0x20 || c > 0x7e || c === 0x5c || (c === 0x22 && json)) break;
            buf[t++] = c;
          }
          if (k < s + length) break;
          if (json) buf[t++] = 34;
          q = t;
          p = s + length;
          break;
        }
        case 4: // double, time, interval: as the LineWriter prints them
        case 5:
        case 6: {
          if (at + 8 > end) fail();
          const d = view.getFloat64(at);
          p = at + 8;
          // A value the field had before (a duration, a timestamp of the same millisecond): its digits again.
          const cached = lastLength[j]!;
          if (cached > 0 && d === lastValue[j]) {
            for (let k = j * LAST_ROOM, e = k + cached; k < e; k++) buf[q++] = last[k]!;
            break;
          }
          o.pos = q;
          // Its fast path first (what it does for these, in TSV not for a double); the LineWriter if that declines.
          if ((json || tag !== 4) && o.decimal(d, json)) {
            // Only what the fast path printed is kept: it prints a value the same way every time.
            remember(j, d, o.buf, q, o.pos);
          } else lines.value(o, j, d);
          if (o.pos + room > o.buf.length) o.ensure(room); // what it printed may have been long
          buf = o.buf;
          q = o.pos;
          break;
        }
      }
      if (p >= 0) continue;
      // Anything else as decodeZeekBatch reads it, printed as LogFiles prints it.
      r.pos = at - 9;
      o.pos = q;
      lines.value(o, j, readValue(r, tag, elements[j]!, fields[j]!.name));
      p = r.pos;
      if (o.pos + room > o.buf.length) o.ensure(room);
      buf = o.buf;
      q = o.pos;
    }
    o.pos = q;
    lines.end(o, start);
    buf = o.buf;
    q = o.pos;
  }
  o.pos = q;
  r.pos = p;
}

const EMPTY_MARKER = [40, 101, 109, 112, 116, 121, 41]; // "(empty)"
function isEmptyMarker(src: Uint8Array, s: number): boolean {
  for (let k = 0; k < 7; k++) if (src[s + k] !== EMPTY_MARKER[k]) return false;
  return true;
}
