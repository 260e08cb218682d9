/**
 * @module Log lines written straight into bytes, as a logger formats them: a line per record in
 * Zeek's JSON or TSV, appended to a file's buffer without building a string per value or per line.
 * The common values (plain ASCII text, integers below 2^53, addresses, repeated doubles) take a fast
 * path here; anything else is printed by `_zeek-ascii.ts`, whose output this matches byte for byte.
 * Not part of the public API; `_logfiles.ts` uses it.
 */

import { grisuAgrees, jsonFormatter, jsonKey, tsvFormatter, type ValueFormatter } from "./_zeek-ascii.ts";
import type { LogField } from "./logformat.ts";

// A closed file holds no buffer: a logger may know many more paths than it keeps open.
const EMPTY = Buffer.alloc(0);
const MIN_SIZE = 64 * 1024;

/**
 * Bytes gathered for one file, `buf[0, pos)`, until they are handed to the OS.
 *
 * @example Text and integers
 * ```ts
 * import { ByteOut } from "./_log-out.ts";
 *
 * const out = new ByteOut();
 * out.text("port ");
 * out.uint(443);
 * console.log(out.buf.toString("utf8", 0, out.pos)); // "port 443"
 * ```
 */
export class ByteOut {
  buf: Buffer = EMPTY;
  /** A view of `buf`, for generated code that writes four bytes at once (`_log-zeek-compiled.ts`). */
  view: DataView = new DataView(EMPTY.buffer, EMPTY.byteOffset, 0);
  pos = 0;

  /** Room for `n` more bytes. */
  ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const grown = Buffer.allocUnsafe(Math.max(MIN_SIZE, this.buf.length * 2, this.pos + n));
    this.buf.copy(grown, 0, 0, this.pos);
    this.buf = grown;
    this.view = new DataView(grown.buffer, grown.byteOffset, grown.byteLength);
  }

  /** Appends `s` as UTF-8 (ASCII, the common case, copied code by code). */
  text(s: string): void {
    this.ensure(s.length * 3);
    const buf = this.buf;
    let p = this.pos;
    for (let i = 0; i < s.length; i++) {
      const c = s.charCodeAt(i);
      if (c >= 0x80) return void (this.pos += buf.write(s, this.pos));
      buf[p++] = c;
    }
    this.pos = p;
  }

  /** Appends bytes. */
  bytes(b: Uint8Array): void {
    this.ensure(b.length);
    const buf = this.buf;
    let p = this.pos;
    for (let i = 0; i < b.length; i++) buf[p++] = b[i]!;
    this.pos = p;
  }

  /** Appends the digits of an integer `0 ≤ n < 2^31`, in 32-bit integer arithmetic (a double's `%` is slow). */
  uint(n: number): void {
    this.ensure(10);
    this.pos = putUint(this.buf, this.pos, n);
  }

  /**
   * Appends `x` (0 < x < 2^31 - 1) with six decimals as C's `%.6f` prints it (ties to even); with
   * `shortest`, as rapidjson prints it instead: the fewest decimals that read back as `x`, `.0` for none.
   * Returns false, with nothing appended, where doubles cannot decide quickly (near a tie, digits
   * Grisu2 would not print): `_zeek-ascii.ts` prints those.
   */
  decimal(x: number, shortest: boolean): boolean {
    if (!(x > 0 && x < 2147483647)) return false;
    let whole = Math.floor(x);
    const f = (x - whole) * 1e6; // x - whole is exact; the product is within 2^-33 of the true one
    let frac = Math.floor(f) | 0; // kept in 32-bit integers from here: a double's `%` is slow
    const rest = f - frac;
    if (rest > 0.499999 && rest < 0.500001) return false;
    if (rest > 0.5) frac++;
    if (frac === 1000000) {
      whole++;
      frac = 0;
    }
    if (whole >= 2147483647) return false;
    // The six decimals as three pairs of digits: two integer divisions, not six.
    const hi = (frac / 10000) | 0;
    const low4 = frac - hi * 10000;
    const mid = (low4 / 100) | 0;
    const lo = low4 - mid * 100;
    let k = 6;
    if (shortest) {
      // Below 2^31 no two numbers of six decimals read back as the same double: if this one does, it is
      // the only candidate, and without its trailing zeros the shortest.
      if ((whole * 1e6 + frac) / 1e6 !== x) return false;
      const end = lo !== 0 ? 2 * lo + 1 : mid !== 0 ? 2 * mid + 1 : hi !== 0 ? 2 * hi + 1 : -1;
      k = (lo !== 0 ? 6 : mid !== 0 ? 4 : hi !== 0 ? 2 : 0) - (end >= 0 && PAIRS[end] === 48 ? 1 : 0);
      if (!grisuAgrees(x, k)) return false;
    }
    this.ensure(18);
    const buf = this.buf;
    let p = this.pos;
    // Timestamps of a batch share their seconds: their digits are kept.
    if (whole !== lastWhole) {
      lastWhole = whole;
      wholeLength = putUint(wholeDigits, 0, whole);
    }
    for (let i = 0; i < wholeLength; i++) buf[p++] = wholeDigits[i]!;
    buf[p++] = 46;
    if (k === 0) buf[p++] = 48;
    else {
      buf[p] = PAIRS[2 * hi]!;
      buf[p + 1] = PAIRS[2 * hi + 1]!;
      buf[p + 2] = PAIRS[2 * mid]!;
      buf[p + 3] = PAIRS[2 * mid + 1]!;
      buf[p + 4] = PAIRS[2 * lo]!;
      buf[p + 5] = PAIRS[2 * lo + 1]!;
      p += k; // the bytes after the last decimal are overwritten by what follows
    }
    this.pos = p;
    return true;
  }

  /** Forgets the bytes and the buffer. */
  release(): void {
    this.buf = EMPTY;
    this.view = new DataView(EMPTY.buffer, EMPTY.byteOffset, 0);
    this.pos = 0;
  }
}

/**
 * Writes the digits of an integer `0 ≤ n < 2^31` at `buf[at]` (room for 10 bytes); returns where they end.
 *
 * @example A port
 * ```ts
 * import { putUint } from "./_log-out.ts";
 *
 * const buf = Buffer.alloc(10);
 * console.log(buf.toString("latin1", 0, putUint(buf, 0, 8080))); // "8080"
 * ```
 */
export function putUint(buf: Uint8Array, at: number, n: number): number {
  let m = n | 0;
  const end =
    at +
    (m < 100000
      ? m < 10
        ? 1
        : m < 100
          ? 2
          : m < 1000
            ? 3
            : m < 10000
              ? 4
              : 5
      : m < 1000000
        ? 6
        : m < 10000000
          ? 7
          : m < 100000000
            ? 8
            : m < 1000000000
              ? 9
              : 10);
  let p = end;
  do {
    const q = (m / 10) | 0;
    buf[--p] = 48 + m - q * 10;
    m = q;
  } while (m !== 0);
  return end;
}

/** "00" to "99". */
const PAIRS = Uint8Array.from({ length: 200 }, (_, i) => 48 + (i % 2 ? (i >> 1) % 10 : ((i >> 1) / 10) | 0));
let lastWhole = -1;
let wholeLength = 0;
const wholeDigits = new Uint8Array(10);

const TRUE = Buffer.from("true");
const FALSE = Buffer.from("false");

/** How a field's present values are appended: the common ones inline, the rest through `_zeek-ascii.ts`. */
enum Kind {
  Integer,
  Double,
  /** TSV's `time` and `interval`: always six decimals. */
  Time,
  Bool,
  Addr,
  Text,
  Other,
}

function kindOf(type: string, json: boolean): Kind {
  switch (type) {
    case "int":
    case "count":
    case "port":
      return Kind.Integer;
    case "double":
      return Kind.Double;
    case "time":
    case "interval":
      return json ? Kind.Double : Kind.Time;
    case "bool":
      return Kind.Bool;
    case "addr":
    case "subnet":
      return Kind.Addr;
    case "string":
    case "enum":
    case "func":
    case "file":
      return Kind.Text;
  }
  return Kind.Other; // sets and vectors
}

const encoder = new TextEncoder();

/**
 * How one file's records become lines: JSON (`LogAscii::use_json=T`, unset fields left out) or TSV
 * (unset fields `-`, a line that would start with `#` escaped).
 *
 * @example A JSON line and a TSV line of the same record
 * ```ts
 * import { ByteOut, LineWriter } from "./_log-out.ts";
 *
 * const fields = [{ name: "ts", type: "time", optional: false }, { name: "peer", type: "string", optional: true }] as const;
 * const out = new ByteOut();
 * new LineWriter("json", [...fields]).line(out, [1700000000.5, null]);
 * new LineWriter("tsv", [...fields]).line(out, [1700000000.5, "worker-1"]);
 * console.log(out.buf.toString("utf8", 0, out.pos)); // '{"ts":1700000000.5}\n1700000000.500000\tworker-1\n'
 * ```
 */
export class LineWriter {
  /** JSON lines, or TSV. */
  readonly json: boolean;
  readonly #kinds: Kind[];
  /** Per field: how `_zeek-ascii.ts` prints a value, for whatever takes no fast path. */
  readonly #slow: ValueFormatter[];
  /** Per double field: the last value and its text (a duration, a timestamp within a millisecond repeat). */
  readonly #last: number[];
  readonly #lastText: string[];
  /** JSON: per field, `,"name":`, and `"name":` for the first field a line has. */
  readonly keys: Uint8Array[];
  readonly firstKeys: Uint8Array[];

  constructor(format: "json" | "tsv", fields: readonly LogField[]) {
    const json = (this.json = format === "json");
    this.#kinds = fields.map((f) => kindOf(f.type, json));
    this.#slow = fields.map((f) => (json ? jsonFormatter : tsvFormatter)(f.type));
    this.#last = fields.map(() => Number.NaN);
    this.#lastText = fields.map(() => "");
    this.keys = fields.map((f) => encoder.encode(`,${jsonKey(f.name)}:`));
    this.firstKeys = fields.map((f) => encoder.encode(`${jsonKey(f.name)}:`));
  }

  /** Appends one record's line to `o`. */
  line(o: ByteOut, record: readonly unknown[]): void {
    const json = this.json;
    const start = o.pos;
    o.ensure(1);
    if (json) o.buf[o.pos++] = 123;
    let first = true;
    for (let i = 0; i < record.length; i++) {
      const v = record[i];
      if (v === null || v === undefined) {
        if (json) continue; // unset fields are left out (`LogAscii::json_include_unset_fields=F`)
        o.ensure(2);
        if (i > 0) o.buf[o.pos++] = 9;
        o.buf[o.pos++] = 45;
        continue;
      }
      if (json) o.bytes(first ? this.firstKeys[i]! : this.keys[i]!);
      else if (i > 0) {
        o.ensure(1);
        o.buf[o.pos++] = 9;
      }
      first = false;
      this.value(o, i, v);
    }
    this.end(o, start);
  }

  /** Ends the line begun at `start` (JSON: its closing brace). */
  end(o: ByteOut, start: number): void {
    const json = this.json;
    o.ensure(2);
    if (json) o.buf[o.pos++] = 125;
    o.buf[o.pos++] = 10;
    // A TSV line starting with `#` would read as one of Zeek's meta lines: its first byte becomes `\x23`.
    if (json || o.buf[start] !== 35) return;
    o.ensure(3);
    o.buf.copyWithin(start + 4, start + 1, o.pos);
    o.buf.write("\\x23", start, "latin1");
    o.pos += 3;
  }

  /** Appends the present value `v` of field `i`. */
  value(o: ByteOut, i: number, v: unknown): void {
    switch (this.#kinds[i]) {
      case Kind.Integer:
        if (typeof v === "number" && (v | 0) === v && v >= 0) return o.uint(v);
        break;
      case Kind.Time:
      case Kind.Double: {
        const d = v as number;
        // 0 and -0 print differently, and are equal.
        if (d === this.#last[i] && d !== 0) return o.text(this.#lastText[i]!);
        if (this.#kinds[i] === Kind.Time ? o.decimal(d, false) : this.json && o.decimal(d, true)) return;
        this.#lastText[i] = this.#slow[i]!((this.#last[i] = d));
        return o.text(this.#lastText[i]!);
      }
      case Kind.Bool:
        if (this.json) return o.bytes(v ? TRUE : FALSE);
        break;
      case Kind.Addr:
        if (!this.json) return o.text(v as string);
        o.ensure(1);
        o.buf[o.pos++] = 34;
        o.text(v as string);
        o.ensure(1);
        o.buf[o.pos++] = 34;
        return;
      case Kind.Text:
        if (typeof v === "string" && this.#plain(o, v)) return;
        break;
    }
    o.text(this.#slow[i]!(v));
  }

  /**
   * Appends printable ASCII text as it is (JSON: in quotes, without `"` or a backslash; TSV: without a backslash, and
   * not one of Zeek's markers `""`, `-`, `(empty)`); false, with nothing kept, for any other text.
   */
  #plain(o: ByteOut, v: string): boolean {
    const json = this.json;
    if (!json && (v.length === 0 || v === "-" || v === "(empty)")) return false;
    o.ensure(v.length + 2);
    const buf = o.buf;
    let p = o.pos;
    if (json) buf[p++] = 34;
    for (let i = 0; i < v.length; i++) {
      const c = v.charCodeAt(i);
      if (c < 0x20 || c > 0x7e || c === 0x5c || (c === 0x22 && json)) return false;
      buf[p++] = c;
    }
    if (json) buf[p++] = 34;
    o.pos = p;
    return true;
  }
}
