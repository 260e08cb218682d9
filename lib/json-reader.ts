/**
 * @module The reading half of `broker-json.ts`, not part of the public API. `JsonReader` is a cursor
 * over JSON text: it reads one token at a time so that its caller can build values as it goes, hands
 * out each number's source text, and skips unwanted values without recursion, with a bound on their
 * nesting. `BrokerReader` builds Broker values on it by Broker's rules (see `decodeBrokerJson`). In
 * "binary" mode the text is bytes as Latin-1 (input that was not UTF-8), and `\u` escapes come back as
 * UTF-8 bytes too, so that a string's characters are exactly its bytes.
 */

import { formatAddr, formatSubnet, isV4Mapped, maskAddr, parseAddr } from "./addr.ts";
import { BROKER_TAGS, type BrokerType, type BrokerValue, compareBroker, NONE, textOrBytes } from "./broker-value.ts";

export const INT64_MIN: bigint = -(1n << 63n);
export const INT64_MAX: bigint = (1n << 63n) - 1n;
export const UINT64_MAX: bigint = (1n << 64n) - 1n;
export const NS = 1_000_000_000n;
/** The deepest nesting either direction accepts, so that recursion stays far from the stack's end. */
export const MAX_NESTING = 1000;
type Entry = readonly [BrokerValue, BrokerValue];

const TYPES: ReadonlyMap<string, BrokerType> = new Map(Object.keys(BROKER_TAGS).map((t) => [t, t as BrokerType]));
/** The type names by length, first and last letter (one each), to find them without slicing the text. */
const TYPE_KEYS: ReadonlyMap<number, BrokerType> = new Map([...TYPES.values()].map((t) => [t.length * 65536 + t.charCodeAt(0) * 256 + t.charCodeAt(t.length - 1), t]));
const TRUE: BrokerValue = Object.freeze({ type: "boolean", value: true });
const FALSE: BrokerValue = Object.freeze({ type: "boolean", value: false });
const QUOTE = 34;
const SIMPLE_ESCAPES: ReadonlyMap<string, string> = new Map([
  // `\/` is JSON, but CAF's unescaper turns it into `?`: read here, never written by broker-json.ts.
  ['"', '"'], ["\\", "\\"], ["/", "/"], ["b", "\b"], ["f", "\f"], ["n", "\n"], ["r", "\r"], ["t", "\t"],
  // Not JSON, but Broker's encoder writes it for U+000B, and CAF reads it.
  ["v", "\v"],
]);

const isDigit = (c: number): boolean => c >= 48 && c <= 57;

/** Text for an error message, shortened. */
export const show = (s: string): string => JSON.stringify(s.length > 40 ? `${s.slice(0, 40)}…` : s);

/** A path as in error messages: `$.data[2].key`. */
export function pathText(path: readonly (string | number)[]): string {
  let where = "$";
  for (const p of path) where += typeof p === "number" ? `[${p}]` : `.${p}`;
  return where;
}

/** Reads JSON from `text`, failing with a `TypeError` that names the path and the offset. */
export class JsonReader {
  /** The offset of the next character. */
  i = 0;
  /** Whether the number read last had a fraction or an exponent. */
  fraction = false;
  /** Where the reader is, for error messages: member names and array indexes. */
  readonly path: (string | number)[] = [];
  /** The offset of the next backslash at or after a past search (Infinity: none), so that scanning stays linear. */
  private backslash = -1;

  constructor(
    readonly text: string,
    readonly binary: boolean,
    /** How deeply a skipped value may nest. */
    readonly skipDepth: number,
  ) {}

  /** Throws the `TypeError` for `what`, at the current path and at offset `at`. */
  fail(what: string, at: number = this.i): never {
    throw new TypeError(`broker-json-v1: ${what} at ${pathText(this.path)} (offset ${at})`);
  }

  /** Moves the cursor (backwards too), e.g. to read a member again. */
  seek(i: number): void {
    this.i = i;
    this.backslash = -1;
  }

  /** Skips whitespace; the code of the next character, NaN at the end. */
  ws(): number {
    const s = this.text;
    let i = this.i;
    let c = s.charCodeAt(i);
    if (c > 32) return c;
    while (c === 32 || c === 10 || c === 13 || c === 9) c = s.charCodeAt(++i);
    this.i = i;
    return c;
  }

  /** Consumes `char` after whitespace, or fails saying `what` was expected. */
  expect(char: number, what: string): void {
    if (this.ws() !== char) this.fail(this.i >= this.text.length ? `unexpected end of input, expected ${what}` : `expected ${what}`);
    this.i++;
  }

  /** Whether `literal` is at `at` (faster than startsWith for short literals). */
  matches(at: number, literal: string): boolean {
    const s = this.text;
    if (at < 0 || at + literal.length > s.length) return false;
    for (let k = 0; k < literal.length; k++) if (s.charCodeAt(at + k) !== literal.charCodeAt(k)) return false;
    return true;
  }

  /** Consumes `word` (`true`, `false`, `null`) if it is next. */
  word(word: string): boolean {
    if (!this.matches(this.i, word)) return false;
    this.i += word.length;
    return true;
  }

  /** Fails unless only whitespace is left. */
  end(): void {
    this.ws();
    if (this.i < this.text.length) this.fail("trailing characters after the value");
  }

  /** Reads a string; the cursor is on its opening quote. */
  string(): string {
    const s = this.text;
    let start = this.i + 1;
    let out = "";
    let quote = s.indexOf('"', start);
    for (;;) {
      if (quote < 0) this.fail("unterminated string", s.length);
      if (this.backslash < start) {
        const found = s.indexOf("\\", start);
        this.backslash = found < 0 ? Infinity : found;
      }
      const b = this.backslash;
      if (b > quote) {
        this.i = quote + 1;
        return out === "" ? s.slice(start, quote) : out + s.slice(start, quote);
      }
      out += s.slice(start, b) + this.#escape(b);
      start = this.i;
      if (quote < start) quote = s.indexOf('"', start);
    }
  }

  /** The text of the escape at `at` (a backslash); leaves the cursor after it. */
  #escape(at: number): string {
    const s = this.text;
    const c = s[at + 1] ?? "";
    this.i = at + 2;
    if (c !== "u") {
      const simple = SIMPLE_ESCAPES.get(c);
      return simple ?? this.fail(c === "" ? "unterminated string" : `invalid escape \\${c} in a string`, at);
    }
    let cp = this.#hex4(at);
    if (cp >= 0xdc00 && cp <= 0xdfff) this.fail("unpaired surrogate escape in a string", at);
    if (cp >= 0xd800 && cp <= 0xdbff) {
      const low = s.startsWith("\\u", at + 6) ? this.#hex4(at + 6) : -1;
      if (low < 0xdc00 || low > 0xdfff) this.fail("unpaired surrogate escape in a string", at);
      cp = 0x10000 + ((cp - 0xd800) << 10) + (low - 0xdc00);
    }
    if (!this.binary || cp < 0x80) return String.fromCodePoint(cp);
    // Binary mode: the code point's UTF-8 bytes, one character each.
    if (cp < 0x800) return String.fromCharCode(0xc0 | (cp >> 6), 0x80 | (cp & 63));
    if (cp < 0x10000) return String.fromCharCode(0xe0 | (cp >> 12), 0x80 | ((cp >> 6) & 63), 0x80 | (cp & 63));
    return String.fromCharCode(0xf0 | (cp >> 18), 0x80 | ((cp >> 12) & 63), 0x80 | ((cp >> 6) & 63), 0x80 | (cp & 63));
  }

  /** The four hex digits of the `\u` escape at `at`; leaves the cursor after them. */
  #hex4(at: number): number {
    let v = 0;
    for (let k = at + 2; k < at + 6; k++) {
      const c = this.text.charCodeAt(k) | 0x20; // ASCII lower case
      const d = c >= 48 && c <= 57 ? c - 48 : c >= 97 && c <= 102 ? c - 87 : -1;
      if (d < 0) this.fail("invalid \\u escape in a string (four hex digits needed)", at);
      v = v * 16 + d;
    }
    this.i = at + 6;
    return v;
  }

  /**
   * Reads a number in JSON's grammar (`-?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?`) and returns its
   * text; `fraction` says whether it had a fraction or an exponent.
   */
  number(): string {
    const s = this.text;
    const start = this.i;
    let i = start + (s.charCodeAt(start) === 45 ? 1 : 0);
    if (s.charCodeAt(i) === 48) i++;
    else if (isDigit(s.charCodeAt(i))) while (isDigit(s.charCodeAt(++i)));
    else this.fail("invalid number", i);
    this.fraction = false;
    if (s.charCodeAt(i) === 46) {
      if (!isDigit(s.charCodeAt(++i))) this.fail("invalid number: digits must follow the decimal point", i);
      while (isDigit(s.charCodeAt(++i)));
      this.fraction = true;
    }
    if ((s.charCodeAt(i) | 0x20) === 101) {
      const sign = s.charCodeAt(++i);
      if (sign === 43 || sign === 45) i++;
      if (!isDigit(s.charCodeAt(i))) this.fail("invalid number: digits must follow the exponent", i);
      while (isDigit(s.charCodeAt(++i)));
      this.fraction = true;
    }
    this.i = i;
    return s.slice(start, i);
  }

  /** Skips one value of any kind, without recursion; arrays and objects may nest `skipDepth` deep. */
  skip(): void {
    const open: number[] = []; // 93 `]` or 125 `}`: what closes each open array or object
    for (;;) {
      // A value is next.
      const c = this.ws();
      if (c === 91 || c === 123) {
        if (open.length >= this.skipDepth) this.fail(`JSON nested deeper than ${this.skipDepth}`);
        this.i++;
        if (this.ws() === c + 2) this.i++; // empty
        else {
          open.push(c + 2);
          if (c === 123) this.memberName();
          continue;
        }
      } else if (c === QUOTE) this.string();
      else if (c === 45 || isDigit(c)) this.number();
      else if (!this.word("true") && !this.word("false") && !this.word("null")) {
        this.fail(this.i >= this.text.length ? "unexpected end of input" : "invalid JSON value");
      }
      // After a value: close what is complete, or go on with the next element.
      for (;;) {
        const close = open[open.length - 1];
        if (close === undefined) return;
        const d = this.ws();
        this.i++;
        if (d === close) open.pop();
        else if (d === 44) {
          if (close === 125) this.memberName();
          break;
        } else this.fail(`expected ',' or '${String.fromCharCode(close)}'`, this.i - 1);
      }
    }
  }

  /** Reads an object's member name (the cursor before its quote) and the colon after it. */
  memberName(): string {
    if (this.ws() !== QUOTE) this.fail(this.i >= this.text.length ? "unexpected end of input" : "expected a member name");
    const name = this.string();
    this.expect(58, "':'");
    return name;
  }

  /** After a member or element: true on `,`, false on `close`, else fails. */
  next(close: number): boolean {
    const c = this.ws();
    this.i++;
    if (c === 44) return true;
    if (c === close) return false;
    return this.fail(c !== c ? "unexpected end of input" : `expected ',' or '${String.fromCharCode(close)}'`, this.i - 1);
  }
}

/** The index of a set element or table key equal to an earlier one, or -1. */
export function duplicateAt(type: "set" | "table", items: readonly BrokerValue[] | readonly Entry[]): number {
  if (items.length < 2) return -1;
  const keys = type === "set" ? (items as readonly BrokerValue[]) : (items as readonly Entry[]).map((e) => e[0]);
  const order = keys.map((_, i) => i).sort((a, b) => compareBroker(keys[a]!, keys[b]!) || a - b);
  for (let k = 1; k < order.length; k++) if (compareBroker(keys[order[k - 1]!]!, keys[order[k]!]!) === 0) return order[k]!;
  return -1;
}

/** Reads Broker values by Broker's rules (see `decodeBrokerJson`). */
export class BrokerReader extends JsonReader {
  constructor(text: string, binary: boolean, readonly maxDepth: number) {
    super(text, binary, 3 * maxDepth + 4);
  }

  /** A value object inside `depth` containers. */
  value(depth: number): BrokerValue {
    const at = this.i;
    this.expect(123, 'an object {"@data-type":…,"data":…}');
    let type: BrokerType | undefined;
    let result: BrokerValue | undefined;
    let dataAt = -1;
    // Broker's own layout first, {"@data-type":"<type>","data":<data>}, without slicing the text.
    const close = this.matches(this.i, '"@data-type":"') ? this.text.indexOf('"', this.i + 14) : -1;
    const known = close > 0 ? TYPE_KEYS.get((close - this.i - 14) * 65536 + this.text.charCodeAt(this.i + 14) * 256 + this.text.charCodeAt(close - 1)) : undefined;
    if (known && this.matches(this.i + 14, known) && this.matches(close + 1, ',"data":')) {
      this.i = dataAt = close + 9;
      result = this.data((type = known), depth);
      if (!this.next(125)) return result;
    } else if (this.ws() === 125) this.fail('missing "@data-type"', at);
    do {
      const name = this.memberName();
      if (name === "@data-type") {
        if (type !== undefined) this.fail('duplicate "@data-type"');
        const t = this.ws() === 34 ? this.string() : this.fail('"@data-type" must be a string');
        type = TYPES.get(t) ?? this.fail(`unknown @data-type ${show(t)}`);
      } else if (name === "data") {
        if (dataAt >= 0) this.fail('duplicate "data"');
        dataAt = this.i;
        if (type === undefined) this.skip(); // read below, once the type is known
        else result = this.data(type, depth);
      } else this.skip();
    } while (this.next(125));
    if (type === undefined) return this.fail('missing "@data-type"', at);
    if (result !== undefined || type === "none") return result ?? NONE;
    if (dataAt < 0) return this.fail('missing "data"', at);
    const end = this.i;
    this.seek(dataAt);
    result = this.data(type, depth);
    this.seek(end);
    return result;
  }

  data(type: BrokerType, depth: number): BrokerValue {
    this.path.push("data");
    const c = this.ws();
    const at = this.i;
    let result: BrokerValue;
    if (type === "none") {
      this.skip();
      result = NONE;
    } else if (type === "boolean") {
      result = this.word("true") ? TRUE : this.word("false") ? FALSE : this.fail("boolean data must be true or false");
    } else if (type === "count" || type === "integer" || type === "real") {
      if (c !== 45 && !(c >= 48 && c <= 57)) this.fail(`${type} data must be a JSON number`);
      const text = this.number();
      if (type === "real") {
        if (!this.fraction) this.fail(`real ${show(text)} needs a fraction or an exponent (1.0, not 1)`, at);
        const value = Number(text);
        result = Number.isFinite(value) ? { type, value } : this.fail(`real ${show(text)} beyond the double range`, at);
      } else {
        if (this.fraction) this.fail(`${type} data must be a JSON integer, not ${show(text)}`, at);
        const value = text.length < 16 ? BigInt(+text) : text.length > 20 ? INT64_MIN - 1n : BigInt(text);
        const ok = type === "count" ? value >= 0n && value <= UINT64_MAX : value >= INT64_MIN && value <= INT64_MAX;
        result = ok ? { type, value } : this.fail(`${type} out of range`, at);
      }
    } else if (type === "vector" || type === "set" || type === "table") {
      result = this.container(type, depth);
    } else {
      if (c !== 34) this.fail(`${type} data must be a JSON string`);
      result = this.textData(type, this.string(), at);
    }
    this.path.pop();
    return result;
  }

  container(type: "vector" | "set" | "table", depth: number): BrokerValue {
    if (this.ws() !== 91) this.fail(`${type} data must be a JSON array`);
    if (depth >= this.maxDepth) this.fail(`values nested deeper than ${this.maxDepth}`);
    this.i++;
    const items: (BrokerValue | Entry)[] = [];
    const starts: number[] = []; // where set elements and table entries start, for error messages
    if (this.ws() === 93) this.i++;
    else {
      this.path.push(0);
      do {
        this.path[this.path.length - 1] = items.length;
        this.ws();
        if (type !== "vector") starts.push(this.i);
        items.push(type === "table" ? this.entry(depth + 1) : this.value(depth + 1));
      } while (this.next(93));
      this.path.pop();
    }
    const dup = type === "vector" ? -1 : duplicateAt(type, items as BrokerValue[] | Entry[]);
    if (dup >= 0) this.path.push(dup);
    return dup < 0 ? ({ type, value: items } as BrokerValue) : this.fail(`duplicate ${type === "set" ? "set element" : "table key"}`, starts[dup]);
  }

  entry(depth: number): Entry {
    const at = this.i;
    this.expect(123, 'a table entry {"key":…,"value":…}');
    const kv: (BrokerValue | undefined)[] = [];
    if (this.ws() === 125) this.i++;
    else {
      do {
        const name = this.memberName();
        const k = name === "key" ? 0 : name === "value" ? 1 : -1;
        if (k < 0) this.skip();
        else if (kv[k] !== undefined) this.fail(`duplicate "${name}"`);
        else {
          this.path.push(name);
          kv[k] = this.value(depth);
          this.path.pop();
        }
      } while (this.next(125));
    }
    const [key, value] = kv;
    return key && value ? [key, value] : this.fail(`table entry without "${key ? "value" : "key"}"`, at);
  }

  textData(type: BrokerType, raw: string, at: number): BrokerValue {
    let bad: string | undefined;
    if (type === "string" || type === "enum-value") {
      const value = this.binary ? textOrBytes(Uint8Array.from(raw, (ch) => ch.charCodeAt(0))) : raw;
      if (typeof value === "string" ? value.isWellFormed() : type === "string") return { type, value } as BrokerValue;
      bad = `${type} that is not valid Unicode`;
    } else if (type === "address") {
      const bytes = parseAddr(raw);
      if (bytes) return { type, value: formatAddr(bytes) };
    } else if (type === "subnet") {
      // Broker's rule: the length counts from the IPv4 address when the bytes are IPv4-mapped.
      const slash = raw.indexOf("/");
      const addr = slash > 0 ? parseAddr(raw.slice(0, slash)) : undefined;
      const length = raw.slice(slash + 1);
      const bits = /^\d{1,3}$/.test(length) ? Number(length) + (addr && isV4Mapped(addr) ? 96 : 0) : 999;
      if (addr && bits <= 128) return { type, value: formatSubnet(maskAddr(addr, bits), bits) };
    } else if (type === "port") {
      const m = /^(\d{1,5})(?:\/(.*))?$/s.exec(raw);
      const proto = m?.[2] === undefined ? "tcp" : ["tcp", "udp", "icmp"].includes(m[2]) ? m[2] : "?";
      if (m && Number(m[1]) <= 65535) return { type, value: `${Number(m[1])}/${proto}` };
    } else {
      const ns = type === "timestamp" ? parseTimestamp(raw) : parseTimespan(raw);
      if (ns !== undefined && ns >= INT64_MIN && ns <= INT64_MAX) return { type, value: ns } as BrokerValue;
      if (ns !== undefined) bad = `${type} ${show(raw)} beyond the int64 nanosecond range`;
    }
    return this.fail(bad ?? `invalid ${type} ${show(raw)}`, at);
  }
}

const TIMESTAMP = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.(\d{1,9}))?(?:Z|([+-])(\d\d)(?::?(\d\d))?)?$/;
const MONTH_DAYS = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/** `YYYY-MM-DDTHH:MM:SS[.f{1,9}][Z|±HH[:MM]]` (UTC without a zone) in ns; `undefined` if malformed. */
function parseTimestamp(t: string): bigint | undefined {
  const m = TIMESTAMP.exec(t);
  if (!m) return undefined;
  const n = (k: number): number => (t.charCodeAt(k) - 48) * 10 + t.charCodeAt(k + 1) - 48; // digits: see TIMESTAMP
  const [y, mo, d, h, mi, s, oh, om] = [n(0) * 100 + n(2), n(5), n(8), n(11), n(14), n(17), m[3] ? +m[3] : 0, m[4] ? +m[4] : 0];
  const leap = y % 4 === 0 && (y % 100 !== 0 || y % 400 === 0);
  if (mo < 1 || mo > 12 || d < 1 || d > MONTH_DAYS[mo - 1]! + (mo === 2 && leap ? 1 : 0)) return undefined;
  if (h > 23 || mi > 59 || s > 59 || oh > 23 || om > 59) return undefined;
  // Days since 1970-01-01 of the proleptic Gregorian date (H. Hinnant's days_from_civil).
  const yy = mo <= 2 ? y - 1 : y;
  const era = Math.floor(yy / 400);
  const yoe = yy - era * 400;
  const days = era * 146097 + yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + Math.floor((153 * (mo > 2 ? mo - 3 : mo + 9) + 2) / 5) + d - 1 - 719468;
  const secs = days * 86400 + h * 3600 + mi * 60 + s - (m[2] === "-" ? -1 : 1) * (oh * 3600 + om * 60);
  const frac = m[1] ? +m[1] * 10 ** (9 - m[1].length) : 0;
  return frac % 1e6 === 0 ? BigInt(secs * 1000 + frac / 1e6) * 1_000_000n : BigInt(secs) * NS + BigInt(frac);
}

const TIMESPAN = /^([+-]?(?:0|[1-9]\d{0,18}))(ns|us|ms|s|min|h)$/;
const UNIT_NS: Readonly<Record<string, bigint>> = { ns: 1n, us: 1000n, ms: 1_000_000n, s: NS, min: 60n * NS, h: 3600n * NS };

/** A signed integer and one of ns, us, ms, s, min, h (no fractions, no days) in ns; `undefined` if malformed. */
function parseTimespan(text: string): bigint | undefined {
  const m = TIMESPAN.exec(text);
  return m ? BigInt(m[1]!) * UNIT_NS[m[2]!]! : undefined;
}
