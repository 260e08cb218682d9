/**
 * @module Values as Zeek's ASCII log writer prints them (`LogAscii`, Zeek 9 defaults: `enable_utf_8=T`,
 * TSV or `use_json=T` with epoch timestamps and the HEX string escape policy); strings are escaped in
 * `_zeek-escape.ts`. Established by running Zeek itself over awkward values; test/zeek-ascii.test.ts
 * holds what it printed. Not part of the public API; `_logfiles.ts` uses it.
 */

import { rapidjsonDouble } from "./_json-double.ts";
import { jsonString, tsvString } from "./_zeek-escape.ts";

export { jsonKey, jsonString, tsvString } from "./_zeek-escape.ts";

/** Digits of `x ≥ 0` with 6 decimals, exactly, ties to even (C's `%.6f`, `std::to_chars` fixed 6). */
function fixed6(x: number): string {
  if (x >= 1e21) return `${BigInt(x)}.000000`; // toFixed switches to exponents there
  let s = x.toFixed(6);
  // An exact tie at the 7th decimal happens only for odd multiples of 1/128; toFixed rounds those
  // up, C to even. The digit is odd then, so stepping it down never borrows.
  if ((x * 128) % 2 === 1) {
    const last = s.charCodeAt(s.length - 1);
    if (last & 1) s = s.slice(0, -1) + String.fromCharCode(last - 1);
  }
  return s;
}

/**
 * A `double` as the TSV writer prints it: 6 decimals at most, trailing zeros dropped, never an
 * exponent, `.0` appended when within 1e-9 of an integer; the sign of a negative value survives
 * rounding to zero, that of -0 does not.
 *
 * @example Values where plain JavaScript differs
 * ```ts
 * import { tsvDouble } from "./_zeek-ascii.ts";
 *
 * console.log(tsvDouble(2), tsvDouble(1e-7), tsvDouble(-1e-7), tsvDouble(-1e-10), tsvDouble(0.0078125)); // "2.0" "0" "-0" "-0.0" "0.007812"
 * ```
 */
export function tsvDouble(d: number): string {
  if (Number.isNaN(d)) return "nan";
  const neg = d < 0;
  const m = neg ? -d : d;
  if (m === Infinity) return neg ? "-inf" : "inf";
  let s = fixed6(m).replace(/\.?0+$/, "");
  if (neg) s = `-${s}`;
  return Math.abs(d - Math.round(d)) < 1e-9 ? `${s}.0` : s;
}

/**
 * A `time` or `interval` in TSV: always 6 decimals, ties to even, `-0.000000` for -0.
 *
 * @example A network timestamp
 * ```ts
 * import { tsvTime } from "./_zeek-ascii.ts";
 *
 * console.log(tsvTime(1700000000.5), tsvTime(-0)); // "1700000000.500000" "-0.000000"
 * ```
 */
export function tsvTime(d: number): string {
  if (Number.isNaN(d)) return "nan";
  const neg = d < 0 || Object.is(d, -0);
  const m = neg ? -d : d;
  if (m === Infinity) return neg ? "-inf" : "inf";
  return neg ? `-${fixed6(m)}` : fixed6(m);
}

const f64 = new Float64Array(1);
const u32 = new Uint32Array(f64.buffer);
const HIGH = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1 ? 1 : 0;
const POW10 = Array.from({ length: 23 }, (_, i) => 10 ** i); // exact up to 10^22
const SPLIT = 134217729; // 2^27 + 1, Dekker's splitter

/**
 * When JavaScript's shortest digits of `d` (> 0, below 1e21, with a decimal point or none) are
 * provably Grisu2's too: they fit in 2^53 as an integer M ≈ d·10^k (k ≤ 22); no other number of as
 * many digits fits in d's rounding interval; and M/10^k lies inside that interval by more than Grisu2's
 * error (its 64-bit bounds are off by a few units of 2^-63·d), computed exactly with Dekker's product.
 * Then Grisu2, which emits the fewest digits its narrowed interval admits, emits exactly these.
 */
function shortestIsGrisu(d: number, s: string): boolean {
  const dot = s.indexOf(".");
  return dot < 0 ? grisuAgrees(d, 0) : grisuAgrees(d, s.length - dot - 1);
}

/**
 * Whether Grisu2 prints `d` (> 0, below 1e21) with `k` decimals, when its shortest digits have `k`
 * decimals (see `shortestIsGrisu`).
 *
 * @example A timestamp whose shortest digits have three decimals
 * ```ts
 * import { grisuAgrees } from "./_zeek-ascii.ts";
 *
 * console.log(grisuAgrees(1700000000.125, 3)); // true
 * ```
 */
export function grisuAgrees(d: number, k: number): boolean {
  if (k > 22) return false;
  // Rounding d·10^k gives the digits as an integer; should it miss them, |e| below shows it.
  const m = k === 0 ? d : Math.round(d * POW10[k]!);
  if (m >= 2 ** 53) return false;
  f64[0] = d;
  const biased = (u32[HIGH]! >>> 20) & 0x7ff;
  if (biased === 0) return false; // subnormal
  const ulp = 2 ** (biased - 1075);
  const digits = m < 1e15 ? 15 : 16;
  if (digits > 15 && 1 / POW10[k]! <= ulp * 1.0001) return false; // two candidates may fit
  // e = m - d·10^k exactly: Dekker's two-product of d and 10^k, then Sterbenz-exact subtractions.
  const p = POW10[k]!;
  const prod = d * p;
  const dh = d * SPLIT - (d * SPLIT - d);
  const dl = d - dh;
  const ph = p * SPLIT - (p * SPLIT - p);
  const pl = p - ph;
  const err = dh * ph - prod + dh * pl + dl * ph + dl * pl;
  const e = m - prod - err;
  const below = e < 0 && (u32[HIGH]! & 0xfffff) === 0 && u32[1 - HIGH] === 0; // d a power of two: half the room below
  const room = (below ? ulp / 4 : ulp / 2) - d * 2 ** -60;
  return Math.abs(e) < room * p;
}

/**
 * A `double`, `time` or `interval` in JSON: rapidjson's digits, `.0` on integers, exponents without
 * `+` from 1e21 and below 1e-6, `-0.0`, `null` for NaN and infinities. JavaScript's shortest digits
 * where they are provably rapidjson's (almost always; see `shortestIsGrisu`), else Grisu2 itself
 * (`_json-double.ts`), which takes several times as long.
 *
 * @example Where JSON.stringify differs
 * ```ts
 * import { jsonDouble } from "./_zeek-ascii.ts";
 *
 * console.log(jsonDouble(2), jsonDouble(-0), jsonDouble(1e21), jsonDouble(132405809496.45312)); // "2.0" "-0.0" "1e21" "132405809496.45313"
 * ```
 */
export function jsonDouble(d: number): string {
  if (d === lastDouble && d !== 0) return lastText; // a duration or rate repeated record after record
  const m = d < 0 ? -d : d;
  let text: string | undefined;
  if (m >= 1e-6 && m < 1e21) {
    const s = String(m);
    if (shortestIsGrisu(m, s)) text = `${d < 0 ? "-" : ""}${s.indexOf(".") < 0 ? `${s}.0` : s}`;
  }
  lastDouble = d;
  return (lastText = text ?? rapidjsonDouble(d));
}

let lastDouble = Number.NaN;
let lastText = "";

/**
 * Zeek's `#open`/`#close` stamp: local time as `YYYY-MM-DD-HH-MM-SS`.
 *
 * @example The stamp of a file opened now
 * ```ts
 * import { metaStamp } from "./_zeek-ascii.ts";
 *
 * console.log(metaStamp(Date.now())); // e.g. "2026-11-29-18-42-52"
 * ```
 */
export function metaStamp(ms: number): string {
  const d = new Date(ms);
  const two = (n: number) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${two(d.getMonth() + 1)}-${two(d.getDate())}-${two(d.getHours())}-${two(d.getMinutes())}-${two(d.getSeconds())}`;
}

/** Formats one present value of a field. */
export type ValueFormatter = (v: unknown) => string;

// Ports and small counts repeat: their text is made once.
const SMALL: string[] = [];
const integer = (v: unknown): string => {
  if (typeof v === "number" && v >= 0 && v < 65536 && v === (v | 0)) return (SMALL[v] ??= String(v));
  return typeof v === "bigint" ? v.toString() : String(v);
};
// A port given as "80/tcp" carries its protocol; Zeek prints the number only.
const port = (v: unknown): string => (typeof v === "string" ? v.slice(0, v.indexOf("/")) : integer(v));

function tsvScalar(type: string, inSet: boolean): ValueFormatter {
  switch (type) {
    case "bool":
      return (v) => (v ? "T" : "F");
    case "int":
    case "count":
      return integer;
    case "port":
      return port;
    case "double":
      return tsvDouble as ValueFormatter;
    case "time":
    case "interval":
      return tsvTime as ValueFormatter;
    case "addr":
    case "subnet":
      return (v) => v as string;
    default: // string, enum, func, file
      return (v) => tsvString(v as string | Uint8Array, inSet);
  }
}

function jsonScalar(type: string): ValueFormatter {
  switch (type) {
    case "bool":
      return (v) => (v ? "true" : "false");
    case "int":
    case "count":
      return integer;
    case "port":
      return port;
    case "double":
    case "time":
    case "interval":
      return jsonDouble as ValueFormatter;
    case "addr":
    case "subnet":
      return (v) => `"${v as string}"`;
    default:
      return (v) => jsonString(v as string | Uint8Array);
  }
}

const containerOf = (type: string): [container: string | undefined, scalar: string] => {
  const m = /^(set|vector)\[(\w+)\]$/.exec(type);
  return m ? [m[1], m[2]!] : [undefined, type];
};

/**
 * How the TSV writer prints present values of a field type: sets and vectors as elements joined by
 * `,` (`(empty)` when there are none, `-` for an unset element).
 *
 * @example A set of strings
 * ```ts
 * import { tsvFormatter } from "./_zeek-ascii.ts";
 *
 * console.log(tsvFormatter("set[string]")(["a,b", "", "-"])); // "a\\x2cb,(empty),\\x2d"
 * ```
 */
export function tsvFormatter(type: string): ValueFormatter {
  const [container, scalar] = containerOf(type);
  if (!container) return tsvScalar(scalar, false);
  const element = tsvScalar(scalar, true);
  return (v) => {
    const items = v as unknown[];
    if (items.length === 0) return "(empty)";
    let out = "";
    for (let i = 0; i < items.length; i++) out += (i ? "," : "") + (items[i] === null ? "-" : element(items[i]));
    return out;
  };
}

/**
 * How the JSON writer prints present values of a field type: sets and vectors as arrays (`null` for
 * an unset element).
 *
 * @example Counts beyond 2^53 keep every digit
 * ```ts
 * import { jsonFormatter } from "./_zeek-ascii.ts";
 *
 * console.log(jsonFormatter("vector[count]")([1, 18446744073709551615n])); // "[1,18446744073709551615]"
 * ```
 */
export function jsonFormatter(type: string): ValueFormatter {
  const [container, scalar] = containerOf(type);
  if (!container) return jsonScalar(scalar);
  const element = jsonScalar(scalar);
  return (v) => {
    const items = v as unknown[];
    let out = "[";
    for (let i = 0; i < items.length; i++) out += (i ? "," : "") + (items[i] === null ? "null" : element(items[i]));
    return `${out}]`;
  };
}
