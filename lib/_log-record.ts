/**
 * @module Private: the TypeScript type of a log record, computed from a stream's field declaration,
 * so that `node.log(STREAM, record)` is checked in the editor as `recordValues` checks it at run time:
 * a required field missing, a field the stream does not have, or a value of the wrong type is a
 * compile error. Types only; `logformat.ts` re-exports {@linkcode LogRecord}.
 */

import type { LogFieldSpec, LogFieldType, LogScalarType, LogStream } from "./logformat.ts";

/** A stream's fields by name, as `defineStream` takes them. */
export type LogFields = Readonly<Record<string, LogFieldSpec>>;

/** What a field of a scalar type takes (as `checkValue` accepts it). */
export type LogScalarValue<T extends LogScalarType> = T extends "string" | "enum" | "func" | "file"
  ? string | Uint8Array
  : T extends "count" | "int"
    ? number | bigint
    : T extends "double" | "interval"
      ? number
      : T extends "time"
        ? number | Date
        : T extends "bool"
          ? boolean
          : T extends "port"
            ? string | number
            : string; // addr, subnet

/** What a field of type `T` takes: a scalar, or an array (or a Set) of them; vectors may have holes. */
export type LogFieldValue<T extends LogFieldType> = T extends `set[${infer S extends LogScalarType}]`
  ? readonly LogScalarValue<S>[] | ReadonlySet<LogScalarValue<S>>
  : T extends `vector[${infer S extends LogScalarType}]`
    ? readonly (LogScalarValue<S> | null)[]
    : T extends LogScalarType
      ? LogScalarValue<T>
      : never;

type TypeOf<S> = S extends LogFieldType ? S : S extends { readonly type: infer T extends LogFieldType } ? T : never;
type Optional<F extends LogFields> = {
  [K in keyof F]: F[K] extends { readonly optional: true } ? K : never;
}[keyof F];

/**
 * A record of a stream with fields `F`: each required field with a value of its type, each optional
 * one (`{ type, optional: true }`) with a value, `null` or left out. A stream whose fields are not
 * known at compile time takes any object (checked at run time only).
 */
export type LogRecord<F extends LogFields = LogFields> = string extends keyof F
  ? Readonly<Record<string, unknown>>
  : { readonly [K in Exclude<keyof F, Optional<F>>]: LogFieldValue<TypeOf<F[K]>> } & {
      readonly [K in Optional<F>]?: LogFieldValue<TypeOf<F[K]>> | null | undefined;
    };

/** The record type of a stream: `LogRecordOf<typeof CONN>`. */
export type LogRecordOf<S> = S extends LogStream<infer F> ? LogRecord<F> : never;
