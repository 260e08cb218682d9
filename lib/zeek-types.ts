/**
 * @module Zeek's types, by Zeek's names: `count`, `addr`, `set[string]`, `table[addr] of count`,
 * `vector[port]`, and records. Event parameters are declared with them (the same names as log
 * fields), and TypeScript infers the JavaScript value of each:
 *
 * | Zeek | handlers get | `publish` takes |
 * |---|---|---|
 * | `bool` | `boolean` | `boolean` |
 * | `count`, `int` | `number`, or `bigint` beyond 2^53 | `number` or `bigint` |
 * | `double` | `number` | `number` |
 * | `time` | seconds since the epoch (`number`) | `number` or `Date` |
 * | `interval` | seconds (`number`) | `number` |
 * | `string`, `enum` | `string` | `string` (a string also as `Uint8Array` bytes) |
 * | `addr`, `subnet`, `port` | `"10.0.0.1"`, `"10.0.0.0/8"`, `"80/tcp"` | the same |
 * | `set[T]`, `set[T1, T2]` | `Set` (of tuples for several indexes) | `Set` or array |
 * | `vector[T]` | array | array |
 * | `table[K] of V` | `Map` | `Map`, or an object for string keys |
 * | {@linkcode record} | object; optional fields absent when unset | object |
 */

declare const SPEC: unique symbol;

/** Zeek's scalar types. */
export type ZeekScalarName =
  | "bool"
  | "count"
  | "int"
  | "double"
  | "time"
  | "interval"
  | "string"
  | "addr"
  | "subnet"
  | "port"
  | "enum";

/** A parsed Zeek type. */
export type ZeekType =
  | { readonly kind: ZeekScalarName }
  | { readonly kind: "set"; readonly index: readonly ZeekType[] }
  | { readonly kind: "table"; readonly index: readonly ZeekType[]; readonly yield: ZeekType }
  | { readonly kind: "vector"; readonly of: ZeekType }
  | { readonly kind: "record"; readonly fields: readonly RecordField[] };

/** A field of a record type. */
export interface RecordField {
  readonly name: string;
  readonly type: ZeekType;
  readonly optional: boolean;
}

/** A record type made by {@linkcode record}; `F` keeps the field declarations for TypeScript. */
export type RecordType<F extends RecordSpec = RecordSpec> = Extract<ZeekType, { kind: "record" }> & {
  readonly [SPEC]?: F;
};
/** A vector type made by {@linkcode vectorOf}. */
export type VectorType<E extends TypeSpec = TypeSpec> = Extract<ZeekType, { kind: "vector" }> & { readonly [SPEC]?: E };
/** A set type made by {@linkcode setOf}. */
export type SetType<K extends TypeSpec = TypeSpec> = Extract<ZeekType, { kind: "set" }> & { readonly [SPEC]?: K };
/** A table type made by {@linkcode tableOf}. */
export type TableType<K extends TypeSpec = TypeSpec, V extends TypeSpec = TypeSpec> = Extract<
  ZeekType,
  { kind: "table" }
> & { readonly [SPEC]?: [K, V] };

/** A type as users write it: Zeek's type name, or a type made by `record`, `vectorOf`, `setOf`, `tableOf`. */
export type TypeSpec = string | ZeekType;
/** A record field as written: its type, or `{ type, optional: true }` (Zeek's `&optional`). */
export type FieldSpec = TypeSpec | { readonly type: TypeSpec; readonly optional?: boolean };
/** Record fields by name, in order. */
export type RecordSpec = Readonly<Record<string, FieldSpec>>;

interface Scalars {
  bool: [boolean, boolean];
  count: [number | bigint, number | bigint];
  int: [number | bigint, number | bigint];
  double: [number, number];
  time: [number, number | Date];
  interval: [number, number];
  string: [string, string | Uint8Array];
  addr: [string, string];
  subnet: [string, string];
  port: [string, string];
  enum: [string, string];
}

type Mode = 0 | 1; // 0: what handlers get, 1: what publish takes
type Trim<S extends string> = S extends ` ${infer R}` ? Trim<R> : S extends `${infer R} ` ? Trim<R> : S;
type Split<S extends string> = S extends `${infer A},${infer B}` ? [Trim<A>, ...Split<B>] : [Trim<S>];
type KeyOf<L, M extends Mode> = L extends [infer One extends string]
  ? Parse<One, M>
  : { -readonly [I in keyof L]: L[I] extends string ? Parse<L[I], M> : never };
type SetOf<K, M extends Mode> = M extends 0 ? Set<K> : Set<K> | readonly K[];
type MapOf<K, V, M extends Mode> = M extends 0
  ? Map<K, V>
  : Map<K, V> | (K extends string ? Readonly<Record<string, V>> : never);
type Parse<S extends string, M extends Mode> = S extends `vector[${infer E}]`
  ? Parse<Trim<E>, M>[]
  : S extends `set[${infer K}]`
    ? SetOf<KeyOf<Split<K>, M>, M>
    : S extends `table[${infer K}] of ${infer V}`
      ? MapOf<KeyOf<Split<K>, M>, Parse<Trim<V>, M>, M>
      : S extends keyof Scalars
        ? Scalars[S][M]
        : unknown;
type Simplify<T> = { [K in keyof T]: T[K] } & {};
type FieldType<F> = F extends { readonly type: infer T } ? T : F;
type OptionalKeys<F> = { [K in keyof F]: F[K] extends { readonly optional: true } ? K : never }[keyof F];
type RecordOf<F, M extends Mode> = Simplify<
  { -readonly [K in Exclude<keyof F, OptionalKeys<F>>]: Value<FieldType<F[K]>, M> } & {
    -readonly [K in OptionalKeys<F>]?: Value<FieldType<F[K]>, M>;
  }
>;
type Value<T, M extends Mode> = T extends string
  ? Parse<Trim<T>, M>
  : T extends { readonly [SPEC]?: infer S }
    ? T extends { kind: "record" }
      ? RecordOf<S, M>
      : T extends { kind: "vector" }
        ? Value<S, M>[]
        : T extends { kind: "set" }
          ? SetOf<Value<S, M>, M>
          : S extends [infer K, infer V]
            ? MapOf<Value<K, M>, Value<V, M>, M>
            : unknown
    : unknown;

/** The JavaScript value a handler gets for a value of Zeek type `T`. */
export type ZeekValue<T> = Value<T, 0>;
/** What `publish` takes for a value of Zeek type `T`. */
export type ZeekInput<T> = Value<T, 1>;

const SCALARS = new Set<string>([
  "bool",
  "count",
  "int",
  "double",
  "time",
  "interval",
  "string",
  "addr",
  "subnet",
  "port",
  "enum",
]);
const parsed = new Map<string, ZeekType>();

/**
 * Parses a Zeek type name (`count`, `set[addr, port]`, `table[string] of vector[count]`), or returns a
 * type made by the constructors as it is.
 *
 * @example Zeek's type syntax
 * ```ts
 * import { parseZeekType } from "./zeek-types.ts";
 *
 * console.log(parseZeekType("table[string] of set[port]")); // { kind: "table", index: [{ kind: "string" }], yield: { kind: "set", index: [{ kind: "port" }] } }
 * ```
 *
 * @throws {RangeError} text that is no Zeek type this library knows, naming it.
 */
export function parseZeekType(spec: TypeSpec, what = "type"): ZeekType {
  if (typeof spec === "object" && spec !== null && typeof (spec as ZeekType).kind === "string") return spec as ZeekType;
  if (typeof spec !== "string")
    throw new TypeError(`Invalid ${what}: expected a Zeek type name, got ${describeSpec(spec)}`);
  const known = parsed.get(spec);
  if (known) return known;
  const reader = { text: spec, pos: 0 };
  let type: ZeekType | undefined;
  try {
    type = readType(reader);
    skipSpace(reader);
    if (reader.pos !== spec.length) type = undefined;
  } catch {
    type = undefined;
  }
  if (!type)
    throw new RangeError(
      `Invalid ${what}: '${spec}' is not a Zeek type (expected e.g. count, set[addr], vector[string], table[string] of count)`,
    );
  if (parsed.size < 4096) parsed.set(spec, type);
  return type;
}

function describeSpec(v: unknown): string {
  return typeof v === "object" ? (JSON.stringify(v) ?? String(v)) : `${typeof v} ${String(v)}`;
}

interface Reader {
  text: string;
  pos: number;
}

function skipSpace(r: Reader): void {
  while (r.text[r.pos] === " ") r.pos++;
}

function expect(r: Reader, token: string): void {
  skipSpace(r);
  if (!r.text.startsWith(token, r.pos)) throw new Error(token);
  r.pos += token.length;
}

function readType(r: Reader, depth = 0): ZeekType {
  if (depth > 16) throw new Error("too deep");
  skipSpace(r);
  const word = /^[a-z]+/.exec(r.text.slice(r.pos))?.[0] ?? "";
  r.pos += word.length;
  if (word === "vector") {
    expect(r, "[");
    const of = readType(r, depth + 1);
    expect(r, "]");
    return Object.freeze({ kind: "vector", of });
  }
  if (word === "set" || word === "table") {
    expect(r, "[");
    const index = [readType(r, depth + 1)];
    for (skipSpace(r); r.text[r.pos] === ","; skipSpace(r)) {
      r.pos++;
      index.push(readType(r, depth + 1));
    }
    expect(r, "]");
    if (word === "set") return Object.freeze({ kind: "set", index: Object.freeze(index) });
    expect(r, "of");
    if (r.text[r.pos] !== " ") throw new Error("of");
    return Object.freeze({ kind: "table", index: Object.freeze(index), yield: readType(r, depth + 1) });
  }
  if (!SCALARS.has(word)) throw new Error(word);
  return Object.freeze({ kind: word as ZeekScalarName });
}

/**
 * A record type (Zeek's `record { … }`): fields in order, `{ type, optional: true }` for `&optional`.
 * A record travels as a vector of its fields, an unset optional field as `none`.
 *
 * @example Zeek's `Intel::Seen`-like record
 * ```ts
 * import { record } from "./zeek-types.ts";
 *
 * const Seen = record({ indicator: "string", where: "enum", host: { type: "addr", optional: true } });
 * console.log(Seen.fields.map((f) => `${f.name}${f.optional ? "?" : ""}`)); // ["indicator", "where", "host?"]
 * ```
 *
 * @throws {RangeError} an unknown field type or a field name that is an integer (objects would reorder it).
 */
export function record<const F extends RecordSpec>(fields: F): RecordType<F> {
  if (typeof fields !== "object" || fields === null || Array.isArray(fields))
    throw new TypeError(`Invalid record type: expected fields by name, got ${describeSpec(fields)}`);
  const list = Object.entries(fields).map(([name, spec]): RecordField => {
    checkName(name, "record field");
    const optional =
      typeof spec === "object" && spec !== null && "type" in spec && !("kind" in spec) ? spec.optional === true : false;
    const type =
      optional || (typeof spec === "object" && spec !== null && "type" in spec && !("kind" in spec))
        ? (spec as { type: TypeSpec }).type
        : (spec as TypeSpec);
    return Object.freeze({ name, type: parseZeekType(type, `type of record field '${name}'`), optional });
  });
  return Object.freeze({ kind: "record", fields: Object.freeze(list) }) as RecordType<F>;
}

/** Rejects names JavaScript objects would not keep in order. */
export function checkName(name: string, what: string): void {
  if (name === "" || /^(0|[1-9]\d*)$/.test(name))
    throw new RangeError(`Invalid ${what} name '${name}': expected a name that is not an integer`);
}

/**
 * `vector of T` where T is a type made by a constructor (for names, write `vector[count]`).
 *
 * @example A vector of records
 * ```ts
 * import { record, vectorOf } from "./zeek-types.ts";
 *
 * console.log(vectorOf(record({ host: "addr" })).kind); // "vector"
 * ```
 */
export function vectorOf<const E extends TypeSpec>(of: E): VectorType<E> {
  return Object.freeze({ kind: "vector", of: parseZeekType(of, "vector element type") }) as VectorType<E>;
}

/**
 * `set[T]` where T is a type made by a constructor (for names, write `set[addr]`).
 *
 * @example A set of records
 * ```ts
 * import { record, setOf } from "./zeek-types.ts";
 *
 * console.log(setOf(record({ host: "addr", port: "port" })).kind); // "set"
 * ```
 */
export function setOf<const K extends TypeSpec>(index: K): SetType<K> {
  return Object.freeze({ kind: "set", index: Object.freeze([parseZeekType(index, "set index type")]) }) as SetType<K>;
}

/**
 * `table[K] of V` where K or V is a type made by a constructor (for names, write `table[string] of count`).
 *
 * @example Records by address
 * ```ts
 * import { record, tableOf } from "./zeek-types.ts";
 *
 * console.log(tableOf("addr", record({ seen: "count" })).kind); // "table"
 * ```
 */
export function tableOf<const K extends TypeSpec, const V extends TypeSpec>(index: K, value: V): TableType<K, V> {
  return Object.freeze({
    kind: "table",
    index: Object.freeze([parseZeekType(index, "table index type")]),
    yield: parseZeekType(value, "table yield type"),
  }) as TableType<K, V>;
}

/**
 * Zeek's name for a type: `count`, `set[addr]`, `record { host: addr; }`.
 *
 * @example Printing a parsed type the way Zeek writes it
 * ```ts
 * import { parseZeekType, typeName } from "./zeek-types.ts";
 *
 * console.log(typeName(parseZeekType("table[addr, port] of vector[count]"))); // "table[addr,port] of vector[count]"
 * ```
 */
export function typeName(t: ZeekType): string {
  switch (t.kind) {
    case "vector":
      return `vector[${typeName(t.of)}]`;
    case "set":
      return `set[${t.index.map(typeName).join(",")}]`;
    case "table":
      return `table[${t.index.map(typeName).join(",")}] of ${typeName(t.yield)}`;
    case "record":
      return `record { ${t.fields.map((f) => `${f.name}: ${typeName(f.type)}${f.optional ? " &optional" : ""};`).join(" ")} }`;
    default:
      return t.kind;
  }
}
