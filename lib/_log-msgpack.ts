/**
 * @module The `msgpack-log-v1` log batch payload, this library's own (Zeek loggers read only
 * `zeek-bin-serializer`). Re-exported by `logformat.ts`.
 */

import { valuesChecker } from "./_log-check.ts";
import { decodeRange, encodeShared } from "./_msgpack.ts";
import { type LogBatch, type LogField, type LogFieldType, parseFieldType } from "./logformat.ts";

/**
 * The `msgpack-log-v1` payload: MessagePack of `[stream, path, fields, records]` or, when the writer
 * wants an acknowledgment, `[stream, path, fields, records, seq]`; `fields` is a list of
 * `[name, type, optional]`, `records` a list of value lists in field order with nil for unset. Zeek's
 * writer and filter names do not travel (a receiver assumes Zeek's defaults).
 *
 * @example A batch that asks for an acknowledgment
 * ```ts
 * import { decodeBatch, defineStream, encodeBatch, recordValues } from "./logformat.ts";
 *
 * const PING = defineStream({ id: "Ping::LOG", path: "ping", fields: { ts: "time", peer: "string" } });
 * const records = [recordValues(PING, { ts: 1700000000, peer: "worker-1" })];
 * const payload = encodeBatch({ stream: PING.id, path: PING.path, fields: [...PING.fields], records, seq: 1 });
 * console.log(decodeBatch(payload).seq); // 1
 * ```
 */
export function encodeBatch(batch: LogBatch): Uint8Array {
  const fields = batch.fields.map((f) => [f.name, f.type, f.optional]);
  const body: unknown[] = [batch.stream, batch.path, fields, batch.records];
  if (batch.seq !== undefined) body.push(batch.seq);
  const { bytes, length } = encodeShared(body);
  return bytes.slice(0, length);
}

/**
 * Decodes and checks a `msgpack-log-v1` payload; throws a `TypeError` describing what is wrong. Values
 * come back as {@linkcode checkValue} makes them (addresses as Zeek prints them).
 *
 * @example An event payload is no log batch
 * ```ts
 * import { decodeBatch } from "./logformat.ts";
 * import { MSGPACK_V1 } from "./serializer.ts";
 *
 * try {
 *   decodeBatch(MSGPACK_V1.encode({ name: "ping", args: [1] }));
 * } catch (err) {
 *   console.log((err as TypeError).message); // "Invalid log batch: expected [stream, path, fields, records(, seq)]"
 * }
 * ```
 */
export function decodeBatch(bytes: Uint8Array, start = 0, end: number = bytes.length): LogBatch {
  const value: unknown = decodeRange(bytes, start, end);
  if (!Array.isArray(value) || (value.length !== 4 && value.length !== 5))
    throw new TypeError("Invalid log batch: expected [stream, path, fields, records(, seq)]");
  const [stream, path, rawFields, records, seq] = value as [unknown, unknown, unknown, unknown, unknown];
  if (typeof stream !== "string" || typeof path !== "string" || !/^[\w.-]+$/.test(path))
    throw new TypeError("Invalid log batch: bad stream or path");
  if (!Array.isArray(rawFields) || !Array.isArray(records))
    throw new TypeError(`Invalid log batch for '${stream}': fields and records must be lists`);
  const fields = rawFields.map((f: unknown): LogField => {
    // A control character in a name would break the TSV header lines it goes into.
    if (
      !Array.isArray(f) ||
      typeof f[0] !== "string" ||
      !/^[^\x00-\x1f\x7f]+$/.test(f[0]) ||
      typeof f[1] !== "string" ||
      !parseFieldType(f[1])
    ) {
      throw new TypeError(`Invalid log batch for '${stream}': bad field ${JSON.stringify(f)}`);
    }
    return { name: f[0], type: f[1] as LogFieldType, optional: f[2] === true };
  });
  const check = valuesChecker(stream, fields);
  for (const record of records as unknown[]) {
    if (!Array.isArray(record) || record.length !== fields.length)
      throw new TypeError(`Invalid log batch for '${stream}': a record does not match the fields`);
    check(record);
  }
  if (seq !== undefined && !Number.isInteger(seq))
    throw new TypeError(`Invalid log batch for '${stream}': bad sequence number`);
  return {
    stream,
    path,
    fields,
    records: records as unknown[][],
    ...(seq === undefined ? {} : { seq: seq as number }),
  };
}
