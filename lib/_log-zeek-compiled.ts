/**
 * @module Private: the formatting loop of `_log-zeek-lines.ts`, generated once per file and list of
 * type tags (the batches of a path after its first ones): code per field, unrolled, with the field's
 * tag and the format fixed (no dispatch per value) and a JSON key's bytes written as constants (no
 * copy loop). The bytes written are those `LogFiles.write` writes for the decoded batch; anything it
 * does not format itself goes through `readValue` and the `LineWriter`. The code holds tags, indices
 * and key bytes as numbers only, nothing of a batch as text; a malformed batch throws, and the caller
 * decodes it then.
 */

import { type ByteOut, type LineWriter, putUint } from "./_log-out.ts";
import { type Reader, readValue, type ZeekBatchHeader } from "./_zeek-log-format.ts";

/** Appends the lines of a batch's records read from `r` (after its header) to `o`. */
export type ZeekLines = (r: Reader, header: ZeekBatchHeader, lines: LineWriter, o: ByteOut) => void;

/** The most bytes a line takes per field beyond its key and text: a number, an address, a separator. */
const FIELD_ROOM = 24;
/** The most bytes of a field's text kept for the next record (a double's digits or a quoted IPv4 address: 17 at most). */
const LAST_ROOM = 18;

const fail = (): never => {
  throw new TypeError("Invalid zeek-bin-serializer data");
};

const EMPTY_MARKER = [40, 101, 109, 112, 116, 121, 41]; // "(empty)"
function isEmptyMarker(src: Uint8Array, s: number): boolean {
  for (let k = 0; k < 7; k++) if (src[s + k] !== EMPTY_MARKER[k]) return false;
  return true;
}

const compiled = new WeakMap<LineWriter, { tags: readonly number[]; key: string; fn: ZeekLines }>();

/**
 * The generated loop for a file's `LineWriter` and a batch's tags (compiled on first use, again only
 * if the tags change).
 *
 * @example Lines of one record, as `writeZeekLines` writes them
 * ```ts
 * import { ByteOut, LineWriter } from "./_log-out.ts";
 * import { zeekLinesOf } from "./_log-zeek-compiled.ts";
 * import { readHeader, Reader } from "./_zeek-log-format.ts";
 * import { defineStream, encodeZeekBatch, recordValues } from "./logformat.ts";
 *
 * const PING = defineStream({ id: "Ping::LOG", path: "ping", fields: { ts: "time", peer: "addr" } });
 * const payload = encodeZeekBatch({ stream: PING.id, path: PING.path, fields: [...PING.fields], records: [recordValues(PING, { ts: 1.5, peer: "10.0.0.1" })] });
 * const r = new Reader(payload, 0, payload.length);
 * const header = readHeader(r);
 * const lines = new LineWriter("json", header.fields);
 * const out = new ByteOut();
 * zeekLinesOf(lines, header.tags)(r, header, lines, out);
 * console.log(out.buf.toString("utf8", 0, out.pos)); // '{"ts":1.5,"peer":"10.0.0.1"}\n'
 * ```
 */
export function zeekLinesOf(lines: LineWriter, tags: readonly number[]): ZeekLines {
  const known = compiled.get(lines);
  if (known !== undefined && known.tags === tags) return known.fn; // a recent header's own list (`_log-zeek-lines.ts`)
  const key = tags.join(",");
  if (known !== undefined && known.key === key) {
    known.tags = tags;
    return known.fn;
  }
  const fn = compile(lines, tags);
  compiled.set(lines, { tags, key, fn });
  return fn;
}

/** Stores of the constant bytes `bytes` at `buf[w + k]`, four at a time (little-endian) through `bv`. */
function constants(bytes: Uint8Array): string {
  const stores: string[] = [];
  let k = 0;
  for (; k + 4 <= bytes.length; k += 4)
    stores.push(
      `bv.setUint32(w + ${k}, ${(bytes[k]! | (bytes[k + 1]! << 8) | (bytes[k + 2]! << 16) | (bytes[k + 3]! << 24)) >>> 0}, true);`,
    );
  for (; k < bytes.length; k++) stores.push(`buf[w + ${k}] = ${bytes[k]! | 0};`);
  return stores.join(" ");
}

function compile(lines: LineWriter, tags: readonly number[]): ZeekLines {
  const json = lines.json;
  const n = tags.length;
  const room = n * FIELD_ROOM + (json ? lines.keys.reduce((sum, k) => sum + k.length, 2) : 1);
  const code: string[] = [];
  for (let j = 0; j < n; j++) {
    const tag = tags[j]! | 0;
    const unset = json ? "" : `${j > 0 ? "buf[q++] = 9; " : ""}buf[q++] = 45;`;
    // JSON: `,"name":` written where it goes, one byte earlier for a line's first field (its comma over
    // the brace, which is put back).
    const key = json
      ? `const w = first ? q - 1 : q; ${constants(lines.keys[j]!)} if (first) buf[w] = 123; q = w + ${lines.keys[j]!.length}; first = false;`
      : j > 0
        ? "buf[q++] = 9;"
        : "";
    code.push(`
    if (p + 9 > end) fail();
    if (src[p + 8] !== 1) { p += 9; ${unset} }
    else {
      if (((src[p] << 24) | (src[p + 1] << 16) | (src[p + 2] << 8) | src[p + 3]) !== ${tag}) fail();
      ${key}
      at = p + 9;
      p = -1;
      do { ${body(tag, j, json)} } while (false);
      if (p < 0) { o.pos = q; p = other(r, header, lines, o, at, ${j}, ${tag}); buf = o.buf; bv = o.view; q = o.pos; }
    }`);
  }
  const source = `"use strict";
const lastValue = new Float64Array(${n});
const lastLength = new Int32Array(${n});
const last = new Uint8Array(${n * LAST_ROOM});
const remember = (j, value, from, start, end) => {
  if (end - start > ${LAST_ROOM}) return;
  lastValue[j] = value;
  lastLength[j] = end - start;
  for (let k = start, t = j * ${LAST_ROOM}; k < end; k++) last[t++] = from[k];
};
const room = ${room};
// Anything the code does not format itself, as decodeZeekBatch reads it, printed as LogFiles prints it.
const other = (r, header, lines, o, at, j, tag) => {
  r.pos = at - 9;
  lines.value(o, j, readValue(r, tag, header.elements[j], header.fields[j].name));
  if (o.pos + room > o.buf.length) o.ensure(room);
  return r.pos;
};
// A double the field did not have just before: the fast path's digits (kept), or the LineWriter's.
const double = (lines, o, j, d, fast) => {
  const q = o.pos;
  if (fast && o.decimal(d, ${json})) remember(j, d, o.buf, q, o.pos);
  else lines.value(o, j, d);
  if (o.pos + room > o.buf.length) o.ensure(room);
};
return function zeekLines(r, header, lines, o) {
  const numRecords = header.numRecords;
  const src = r.bytes, view = r.view, end = r.end;
  let buf = o.buf, bv = o.view, q = o.pos, p = r.pos, at = 0, first = true;
  for (let i = 0; i < numRecords; i++) {
    if (q + room > buf.length) { o.pos = q; o.ensure(room); buf = o.buf; bv = o.view; }
    const start = q;
    ${json ? "buf[q++] = 123; first = true;" : ""}
    ${code.join("\n")}
    o.pos = q;
    lines.end(o, start);
    buf = o.buf; bv = o.view;
    q = o.pos;
  }
  o.pos = q;
  r.pos = p;
};`;
  return new Function("fail", "putUint", "readValue", "isEmptyMarker", source)(
    fail,
    putUint,
    readValue,
    isEmptyMarker,
  ) as ZeekLines;
}

/** The code of `_log-zeek-lines.ts` for one tag: `at` is the payload, `p` set past it when formatted here. */
function body(tag: number, j: number, json: boolean): string {
  switch (tag) {
    case 2: // int, count: below 2^31
    case 3:
      return `if (at + 8 > end) fail();
        if ((src[at] | src[at + 1] | src[at + 2] | src[at + 3] | (src[at + 4] & 0x80)) === 0) {
          q = putUint(buf, q, view.getInt32(at + 4));
          p = at + 8;
        }`;
    case 10: // a port: uint64 number, int32 protocol 0-3
      return `if (at + 12 > end) fail();
        const port = (src[at + 6] << 8) | src[at + 7];
        const proto = view.getInt32(at + 8);
        if ((src[at] | src[at + 1] | src[at + 2] | src[at + 3] | src[at + 4] | src[at + 5]) !== 0) fail();
        if (proto < 0 || proto > 3) fail();
        q = putUint(buf, q, port);
        p = at + 12;`;
    case 11: // an IPv4 address (JSON: quoted); the field's last one again is its text again
      return `if (at + 5 > end || src[at] !== 4) break;
        p = at + 5;
        const a = view.getUint32(at + 1);
        const cached = lastLength[${j}];
        if (cached > 0 && a === lastValue[${j}]) {
          for (let k = ${j * LAST_ROOM}, e = k + cached; k < e; k++) buf[q++] = last[k];
          break;
        }
        const from = q;
        ${json ? "buf[q++] = 34;" : ""}
        q = putUint(buf, q, src[at + 1]);
        buf[q++] = 46;
        q = putUint(buf, q, src[at + 2]);
        buf[q++] = 46;
        q = putUint(buf, q, src[at + 3]);
        buf[q++] = 46;
        q = putUint(buf, q, src[at + 4]);
        ${json ? "buf[q++] = 34;" : ""}
        remember(${j}, a, buf, from, q);`;
    case 7: // string, enum, func, file: printable ASCII copied as it is, as the LineWriter copies it
    case 9:
    case 17:
    case 18:
      return `if (at + 4 > end) fail();
        const length = view.getInt32(at);
        const s = at + 4;
        if (length < 0 || length > end - s) fail();
        ${json ? "" : "if (length === 0 || (length === 1 && src[s] === 45) || (length === 7 && isEmptyMarker(src, s))) break;"}
        if (q + length + room > buf.length) { o.pos = q; o.ensure(length + room); buf = o.buf; bv = o.view; }
        let t = q;
        ${json ? "buf[t++] = 34;" : ""}
        let k = s;
        for (; k < s + length; k++) {
          const c = src[k];
          if (c < 0x20 || c > 0x7e || c === 0x5c${json ? " || c === 0x22" : ""}) break;
          buf[t++] = c;
        }
        if (k < s + length) break;
        ${json ? "buf[t++] = 34;" : ""}
        q = t;
        p = s + length;`;
    case 4: // double, time, interval: as the LineWriter prints them
    case 5:
    case 6:
      return `if (at + 8 > end) fail();
        const d = view.getFloat64(at);
        p = at + 8;
        const cached = lastLength[${j}];
        if (cached > 0 && d === lastValue[${j}]) {
          for (let k = ${j * LAST_ROOM}, e = k + cached; k < e; k++) buf[q++] = last[k];
          break;
        }
        o.pos = q;
        double(lines, o, ${j}, d, ${json || tag !== 4});
        buf = o.buf; bv = o.view;
        q = o.pos;`;
  }
  return ""; // anything else: p stays -1, read and printed the usual way
}
