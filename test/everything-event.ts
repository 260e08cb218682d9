/** `Test::everything`: one argument of every Zeek type, as the interop peers (Python, Zeek) declare it. */

import { defineEvent, type EventType } from "../lib/events.ts";
import { type RecordType, record } from "../lib/zeek-types.ts";

const REC_FIELDS = { n: "count", note: { type: "string", optional: true } } as const;
const Rec: RecordType<typeof REC_FIELDS> = record(REC_FIELDS);

export const EVERYTHING_TYPES = {
  b: "bool",
  c: "count",
  i: "int",
  d: "double",
  t: "time",
  span: "interval",
  s: "string",
  a4: "addr",
  a6: "addr",
  net: "subnet",
  p: "port",
  e: "enum",
  hosts: "set[addr]",
  names: "vector[string]",
  counts: "table[string] of count",
  rec: Rec as typeof Rec, // the assertion gives isolatedDeclarations the type it cannot infer
} as const;

export const Everything: EventType<typeof EVERYTHING_TYPES> = defineEvent("Test::everything", EVERYTHING_TYPES);
