/**
 * @module A cursor over JSON text, the reading half of `_broker-json.ts` below the Broker values (those
 * are `_broker-json-reader.ts`), not part of the public API. `JsonReader` reads one token at a time so
 * that its caller can build values as it goes, hands out each number's source text, and skips unwanted
 * values without recursion, with a bound on their nesting. In "binary" mode the text is bytes as
 * Latin-1 (input that was not UTF-8), and `\u` escapes come back as UTF-8 bytes too, so that a
 * string's characters are exactly its bytes.
 */

const QUOTE = 34;
const SIMPLE_ESCAPES: ReadonlyMap<string, string> = new Map([
  // `\/` is JSON, but CAF's unescaper turns it into `?`: read here, never written by _broker-json.ts.
  ['"', '"'],
  ["\\", "\\"],
  ["/", "/"],
  ["b", "\b"],
  ["f", "\f"],
  ["n", "\n"],
  ["r", "\r"],
  ["t", "\t"],
  // Not JSON, but Broker's encoder writes it for U+000B, and CAF reads it.
  ["v", "\v"],
]);

const isDigit = (c: number): boolean => c >= 48 && c <= 57;

/**
 * Text for an error message: quoted as JSON, shortened to 40 characters.
 *
 * @example A long value
 * ```ts
 * import { show } from "./_json-reader.ts";
 *
 * console.log(show("0123456789".repeat(5))); // '"0123456789012345678901234567890123456789…"'
 * ```
 */
export const show = (s: string): string => JSON.stringify(s.length > 40 ? `${s.slice(0, 40)}…` : s);

/**
 * A path as in error messages.
 *
 * @example The key of a table's third entry
 * ```ts
 * import { pathText } from "./_json-reader.ts";
 *
 * console.log(pathText(["data", 2, "key"])); // "$.data[2].key"
 * ```
 */
export function pathText(path: readonly (string | number)[]): string {
  let where = "$";
  for (const p of path) where += typeof p === "number" ? `[${p}]` : `.${p}`;
  return where;
}

/**
 * Reads JSON from `text`, failing with a `TypeError` that names the path and the offset.
 *
 * @example A number's text, a skipped member, a string
 * ```ts
 * import { JsonReader } from "./_json-reader.ts";
 *
 * const r = new JsonReader('{"n":1.50,"skip":[1,{"a":null}],"s":"x"}', false, 10);
 * r.expect(123, "an object"); // consumes the "{"
 * console.log(r.memberName(), r.number(), r.fraction); // "n" "1.50" true
 * r.next(125);
 * r.memberName();
 * r.skip(); // the whole array, without recursion
 * r.next(125);
 * console.log(r.memberName(), r.string()); // "s" "x"
 * ```
 */
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
    if (this.ws() !== char)
      this.fail(this.i >= this.text.length ? `unexpected end of input, expected ${what}` : `expected ${what}`);
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
        if (this.ws() === c + 2)
          this.i++; // empty
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
    if (this.ws() !== QUOTE)
      this.fail(this.i >= this.text.length ? "unexpected end of input" : "expected a member name");
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
    return this.fail(
      Number.isNaN(c) ? "unexpected end of input" : `expected ',' or '${String.fromCharCode(close)}'`,
      this.i - 1,
    );
  }
}
