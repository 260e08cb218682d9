/**
 * @module Private: a stream's records checked and encoded in one pass, as a writer sending
 * `zeek-bin-serializer` batches logs them: code generated once per stream reads each field of the
 * record object, checks it as `recordValues` does (`_log-check.ts`, the same code and errors) and
 * writes its Value into the batch's bytes as `encodeZeekBatch` does (`_zeek-log-inline.ts`, the same
 * bytes), with no array of values per record and no second pass over them at the batch's end. A record
 * that fails its check leaves nothing in the batch.
 */

import { isIPv4 } from "./_addr.ts";
import { checkCode, checkHelpers } from "./_log-check.ts";
import { beginZeekBatch, tagsOf, v4, valueInto, type ZeekBatchBytes } from "./_zeek-log-encode.ts";
import { fieldCode, INLINE_VALUE } from "./_zeek-log-inline.ts";
import type { LogBatch, LogStream } from "./logformat.ts";

export type { ZeekBatchBytes } from "./_zeek-log-encode.ts";

/** Checks a record object and appends its Values to a batch; throws, with nothing appended, for a bad one. */
export type RecordEncoder = (record: Readonly<Record<string, unknown>>, batch: ZeekBatchBytes) => void;

const compiled = new WeakMap<LogStream, RecordEncoder | null>();

/**
 * The one-pass encoder of a stream made by `defineStream` (frozen, so it cannot change under its
 * code); `undefined` for any other, whose records are checked and encoded the usual way.
 *
 * @example A batch of two records, read back
 * ```ts
 * import { beginStreamBatch, endStreamBatch, streamEncoder } from "./_zeek-log-stream.ts";
 * import { decodeZeekBatch, defineStream } from "./logformat.ts";
 *
 * const PING = defineStream({ id: "Ping::LOG", path: "ping", fields: { ts: "time", peer: "addr" } });
 * const encode = streamEncoder(PING)!;
 * const batch = beginStreamBatch(PING, PING.path, Buffer.alloc(1024));
 * encode({ ts: 1, peer: "10.0.0.1" }, batch);
 * encode({ ts: 2, peer: "::1" }, batch);
 * console.log(decodeZeekBatch(endStreamBatch(batch)).records); // [[1, "10.0.0.1"], [2, "::1"]]
 * ```
 */
export function streamEncoder(stream: LogStream): RecordEncoder | undefined {
  let encoder = compiled.get(stream);
  if (encoder !== undefined) return encoder ?? undefined;
  const frozen = Object.isFrozen(stream) && Object.isFrozen(stream.fields) && stream.fields.every(Object.isFrozen);
  encoder = frozen ? compile(stream) : null;
  compiled.set(stream, encoder);
  return encoder ?? undefined;
}

/** A batch of `stream`'s records for `path`, begun in `spare` (or a larger buffer): its header, no records. */
export function beginStreamBatch(stream: LogStream, path: string, spare: Buffer): ZeekBatchBytes {
  const meta: Omit<LogBatch, "records"> = {
    stream: stream.id,
    writer: stream.writer,
    filter: stream.filter,
    path,
    fields: stream.fields as LogBatch["fields"],
  };
  return beginZeekBatch(meta, spare);
}

/** The payload of a batch: its record count written into the header; a view of its buffer (a plain Uint8Array, whose `slice` copies). */
export function endStreamBatch(batch: ZeekBatchBytes): Uint8Array {
  batch.view.setUint32(batch.countAt, batch.count);
  return new Uint8Array(batch.buf.buffer, batch.buf.byteOffset, batch.pos);
}

/** Room for `need` more bytes in `t`: a larger buffer, the bytes so far copied. */
function grow(t: ZeekBatchBytes, need: number): void {
  const out = Buffer.allocUnsafe(Math.max(t.buf.length * 2, t.pos + need));
  t.buf.copy(out, 0, 0, t.pos);
  t.buf = out;
  t.view = new DataView(out.buffer, out.byteOffset, out.byteLength);
}

/** A Value the inline code does not cover, through the generic encoder; on an error the record is taken back. */
function slowValue(t: ZeekBatchBytes, start: number, tag: number, element: number, v: unknown): void {
  try {
    valueInto(t, tag, element, v);
  } catch (err: unknown) {
    t.pos = start;
    throw err;
  }
}

function compile(stream: LogStream): RecordEncoder | null {
  const fields = stream.fields;
  let tags: [number, number][];
  try {
    tags = fields.map((f) => tagsOf(f.type));
  } catch {
    return null; // a type the encoder does not know: encodeZeekBatch says so at the batch's end
  }
  const { lines: check, remembered } = checkCode(fields);
  const write: string[] = [];
  const strings: string[] = [];
  let fixed = 0;
  tags.forEach(([tag, element], j) => {
    const slow = `t.pos = p; slowValue(t, start, ${tag}, ${element}, v); p = t.pos; buf = t.buf; view = t.view;`;
    let inline = INLINE_VALUE[tag];
    if (tag === 11 && inline) {
      // The field's last IPv4 address again: its 32 bits again, not parsed.
      remembered.push(`e${j}`, `f${j} = -1`);
      inline = [
        `typeof v === "string" && (u = v === e${j} ? f${j} : v4(v)) >= 0`,
        `e${j} = v; f${j} = u; ${inline[1]}`,
        inline[2],
      ];
    }
    const field = fieldCode(tag, `a${j}`, slow, inline);
    write.push(...field.lines);
    fixed += field.fixed;
    if (field.text) strings.push(field.text);
  });
  const values = fields.map((_, i) => `a${i}`).join(", ");
  const body = [
    `"use strict";`,
    ...remembered.map((name) => `let ${name};`),
    `return function encodeRecord(r, t) {`,
    `let k = 0, v, u, ${values};`,
    ...check,
    `const need = ${[fixed, ...strings].join(" + ")};`,
    `const start = t.pos;`,
    `if (start + need > t.buf.length) grow(t, need);`,
    `let p = start, buf = t.buf, view = t.view;`,
    ...write,
    `t.pos = p;`,
    `t.count++;`,
    `};`,
  ].join("\n");
  const { slow, required, unknown } = checkHelpers(stream);
  return new Function("slow", "required", "unknown", "isIPv4", "v4", "grow", "slowValue", body)(
    slow,
    required,
    unknown,
    isIPv4,
    v4,
    grow,
    slowValue,
  ) as RecordEncoder;
}
