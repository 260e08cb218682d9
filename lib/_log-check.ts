/**
 * @module Private: a stream's record checker, compiled once per stream from its field declaration,
 * which `recordValues` (`logformat.ts`) runs for every record a node logs. The generic check reads
 * `record[field.name]` in a loop, one property-access site for every field, and dispatches on the
 * field's type for every value; the compiled one reads each field at a site of its own (a constant
 * name, so JavaScriptCore caches where it is) and accepts the common values inline. Whatever the
 * inline test does not accept goes to `checkValue`, which returns the same value or throws the same
 * error as before: the compiled checker accepts a subset of it, never more.
 */

import { isIPv4 } from "./_addr.ts";
import { checkValue, type LogField, type LogStream } from "./logformat.ts";

/** Checks a record object; returns its values in field order. */
export type RecordChecker = (record: Readonly<Record<string, unknown>>) => unknown[];

/**
 * A test on `v` that accepts values `checkValue` returns unchanged, per scalar type; no entry, no
 * inline test (sets, vectors: always `checkValue`).
 */
export const INLINE: Readonly<Record<string, string>> = {
  string: `typeof v === "string"`,
  enum: `typeof v === "string"`,
  func: `typeof v === "string"`,
  file: `typeof v === "string"`,
  // -0 passes both, as it passes checkValue.
  count: `typeof v === "number" && (v >>> 0) === v`,
  int: `typeof v === "number" && (v | 0) === v`,
  double: `typeof v === "number"`,
  time: `typeof v === "number" && v - v === 0`, // finite
  interval: `typeof v === "number" && v - v === 0`,
  bool: `typeof v === "boolean"`,
  port: `typeof v === "number" && (v & 65535) === v`,
  addr: `typeof v === "string" && isIPv4(v)`, // a dotted quad is its own canonical text
};

const compiled = new WeakMap<LogStream, RecordChecker>();

/**
 * The checker of a stream made by `defineStream` (frozen, so it cannot change under its checker);
 * `undefined` for any other, which the caller checks with the generic loop.
 *
 * @example The values of a record, in field order
 * ```ts
 * import { checkerOf } from "./_log-check.ts";
 * import { defineStream } from "./logformat.ts";
 *
 * const PING = defineStream({ id: "Ping::LOG", path: "ping", fields: { ts: "time", peer: "addr" } });
 * console.log(checkerOf(PING)!({ peer: "10.0.0.1", ts: 1 })); // [1, "10.0.0.1"]
 * ```
 */
export function checkerOf(stream: LogStream): RecordChecker | undefined {
  let checker = compiled.get(stream);
  if (checker !== undefined) return checker;
  if (!Object.isFrozen(stream) || !Object.isFrozen(stream.fields) || !stream.fields.every(Object.isFrozen))
    return undefined;
  checker = compile(stream);
  compiled.set(stream, checker);
  return checker;
}

function compile(stream: LogStream): RecordChecker {
  const { lines, remembered } = checkCode(stream.fields);
  const values = stream.fields.map((_, i) => `a${i}`).join(", ");
  const body = [
    `"use strict";`,
    ...remembered.map((name) => `let ${name};`),
    `return function check(r) {`,
    `let k = 0, v, ${values};`,
    ...lines,
    `return [${values}];`,
    `};`,
  ].join("\n");
  const { slow, required, unknown } = checkHelpers(stream);
  return new Function("slow", "required", "unknown", "isIPv4", body)(slow, required, unknown, isIPv4) as RecordChecker;
}

/**
 * The code that checks a record `r`: each field read into `a0`, `a1`, … (declared by the caller with
 * `k` and `v`), unknown keys rejected at the end; and the variables it keeps across records (to
 * declare outside the function). It calls `slow`, `required`, `unknown` ({@linkcode checkHelpers})
 * and `isIPv4`. Names appear in it only as JSON string literals.
 */
export function checkCode(fields: readonly LogField[]): { lines: string[]; remembered: string[] } {
  const lines: string[] = [];
  const remembered: string[] = [];
  for (let i = 0; i < fields.length; i++) {
    const { name, type, optional } = fields[i]!;
    // The name only ever appears as a string literal (JSON is valid JavaScript for a string).
    const key = JSON.stringify(name);
    let inline = INLINE[type];
    if (type === "addr") {
      // Addresses repeat from record to record: the last one that passed is not parsed again.
      remembered.push(`last${i}`);
      inline = `typeof v === "string" && (v === last${i} || (isIPv4(v) && ((last${i} = v), true)))`;
    }
    lines.push(
      `v = r[${key}];`,
      `if (v === undefined || v === null) { ${optional ? `if (${key} in r) k++; a${i} = null;` : `required(${i});`} }`,
      `else { k++; a${i} = ${inline ? `${inline} ? v : ` : ""}slow(${i}, v); }`,
    );
  }
  // Every own and inherited enumerable key must be a field (as the generic check counts them).
  lines.push(`let n = 0; for (const _ in r) n++;`, `if (n !== k) unknown(r);`);
  return { lines, remembered };
}

/** What the code of {@linkcode checkCode} calls, for `stream`: the errors are those of `recordValues`. */
export function checkHelpers(stream: LogStream): {
  slow: (i: number, v: unknown) => unknown;
  required: (i: number) => never;
  unknown: (record: object) => never;
} {
  const fields = stream.fields;
  return {
    slow: (i, v) => checkValue(stream.id, fields[i]!, v),
    required: (i) => {
      throw new TypeError(`Log stream '${stream.id}': field '${fields[i]!.name}' is required`);
    },
    unknown: (record) => {
      const names = new Set(fields.map((f: LogField) => f.name));
      const name = Object.keys(record).find((k) => !names.has(k));
      throw new TypeError(`Log stream '${stream.id}': has no field '${name}'`);
    },
  };
}

/** How `valuesChecker` tests a field's value before `checkValue` sees it (the tests of INLINE). */
enum Test {
  None,
  Text,
  Count,
  Int,
  Double,
  Finite,
  Bool,
  Port,
  Addr,
}

const TESTS: Readonly<Record<string, Test>> = {
  string: Test.Text,
  enum: Test.Text,
  func: Test.Text,
  file: Test.Text,
  count: Test.Count,
  int: Test.Int,
  double: Test.Double,
  time: Test.Finite,
  interval: Test.Finite,
  bool: Test.Bool,
  port: Test.Port,
  addr: Test.Addr,
};

/**
 * Checks the values of records that arrived (`msgpack-log-v1`) against their batch's fields, in place:
 * each becomes what `checkValue` makes of it, and an unset required field is an error. Built once per
 * batch, with no code generated (the fields come from the network).
 *
 * @example An address as Zeek prints it (IPv4-mapped as a dotted quad), a count as it is
 * ```ts
 * import { valuesChecker } from "./_log-check.ts";
 *
 * const check = valuesChecker("Ping::LOG", [{ name: "peer", type: "addr", optional: false }, { name: "n", type: "count", optional: false }]);
 * const record: unknown[] = ["::FFFF:10.0.0.1", 7];
 * check(record);
 * console.log(record); // ["10.0.0.1", 7]
 * ```
 *
 * @throws {TypeError} a value that does not fit its field, or an unset required one, naming the stream and field.
 */
export function valuesChecker(stream: string, fields: readonly LogField[]): (record: unknown[]) => void {
  const tests = fields.map((f) => TESTS[f.type] ?? Test.None);
  return (record) => {
    for (let i = 0; i < record.length; i++) {
      const v = record[i];
      if (v === null) {
        if (!fields[i]!.optional)
          throw new TypeError(`Invalid log batch for '${stream}': required field '${fields[i]!.name}' is unset`);
        continue;
      }
      let ok: boolean;
      switch (tests[i]) {
        case Test.Text:
          ok = typeof v === "string";
          break;
        case Test.Count:
          ok = typeof v === "number" && v >>> 0 === v;
          break;
        case Test.Int:
          ok = typeof v === "number" && (v | 0) === v;
          break;
        case Test.Double:
          ok = typeof v === "number";
          break;
        case Test.Finite:
          ok = typeof v === "number" && v - v === 0;
          break;
        case Test.Bool:
          ok = typeof v === "boolean";
          break;
        case Test.Port:
          ok = typeof v === "number" && (v & 65535) === v;
          break;
        case Test.Addr:
          ok = typeof v === "string" && isIPv4(v);
          break;
        default:
          ok = false;
      }
      if (!ok) record[i] = checkValue(stream, fields[i]!, v);
    }
  };
}
