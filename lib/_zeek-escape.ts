/**
 * @module Strings as Zeek's ASCII log writer escapes them (Zeek 9, `LogAscii::enable_utf_8=T`): in TSV
 * and in JSON (the HEX policy), from a JavaScript string or from raw bytes that are not UTF-8. Not part
 * of the public API; `_zeek-ascii.ts` uses it.
 */

const utf8 = new TextDecoder("utf-8", { ignoreBOM: true });
const encoder = new TextEncoder();
const HEX = Array.from({ length: 256 }, (_, b) => `\\x${b.toString(16).padStart(2, "0")}`);

/**
 * Length of the character at `i` if Zeek lets it through unescaped (`check_ok_utf8`): well-formed
 * UTF-8 within `end`, and no control character, private-use or U+FFF0–U+FFFF code point; else 0.
 */
function goodChar(b: Uint8Array, i: number, end: number): number {
  const c = b[i]!;
  const n = c < 0x80 ? 1 : c < 0xc2 ? 0 : c < 0xe0 ? 2 : c < 0xf0 ? 3 : c < 0xf5 ? 4 : 0;
  if (n === 0 || i + n > end) return 0;
  if (n === 1) return c < 0x20 || c === 0x7f ? 0 : 1;
  const c1 = b[i + 1]!;
  const lo = c === 0xe0 ? 0xa0 : c === 0xf0 ? 0x90 : 0x80;
  const hi = c === 0xed ? 0x9f : c === 0xf4 ? 0x8f : 0xbf;
  if (c1 < lo || c1 > hi) return 0;
  for (let j = 2; j < n; j++) if ((b[i + j]! & 0xc0) !== 0x80) return 0;
  if (n === 2) return c === 0xc2 && c1 < 0xa0 ? 0 : 2; // U+0080–U+009F
  if (n === 3) {
    const cp = ((c & 0x0f) << 12) | ((c1 & 0x3f) << 6) | (b[i + 2]! & 0x3f);
    return (cp >= 0xe000 && cp <= 0xf8ff) || cp >= 0xfff0 ? 0 : 3;
  }
  return 4;
}

/**
 * Zeek's `escape_utf8` over `b[start, end)`: printable ASCII stays, so do good characters, but once one
 * byte is bad every byte outside printable ASCII becomes `\xHH`, the good characters before it too.
 * `keepWhitespace` lets \b \f \n \r \t through (the JSON policy; TSV escapes them).
 */
function escapeUtf8(b: Uint8Array, start: number, end: number, keepWhitespace: boolean): string {
  let good = "";
  let escaped = "";
  let bad = false;
  for (let i = start; i < end; ) {
    const c = b[i]!;
    if ((c >= 0x20 && c < 0x7f) || (keepWhitespace && ((c >= 8 && c <= 10) || c === 12 || c === 13))) {
      const ch = String.fromCharCode(c);
      if (!bad) good += ch;
      escaped += ch;
      i++;
      continue;
    }
    const n = bad ? 0 : goodChar(b, i, end);
    if (n === 0) {
      bad = true;
      escaped += HEX[c];
      i++;
      continue;
    }
    for (let j = 0; j < n; j++) escaped += HEX[b[i + j]!];
    good += utf8.decode(b.subarray(i, i + n));
    i += n;
  }
  return bad ? escaped : good;
}

const TSV_CLEAN = /^[^\x00-\x1f\x5c\x7f-\x9f\ud800-\udfff\ue000-\uf8ff\ufff0-\uffff]*$/;
const TSV_CLEAN_IN_SET = /^[^\x00-\x1f\x2c\x5c\x7f-\x9f\ud800-\udfff\ue000-\uf8ff\ufff0-\uffff]*$/;
const JSON_CLEAN = /^[^\x00-\x07\x0b\x0e-\x1f\x7f-\x9f\ud800-\udfff\ue000-\uf8ff\ufff0-\uffff]*$/;

/** A string value's bytes: raw bytes as given, text as UTF-8. */
const bytesOf = (v: string | Uint8Array): Uint8Array => (typeof v === "string" ? encoder.encode(v) : v);

function isReserved(b: Uint8Array, word: string): boolean {
  if (b.length !== word.length) return false;
  for (let i = 0; i < b.length; i++) if (b[i] !== word.charCodeAt(i)) return false;
  return true;
}

/**
 * A `string` or `enum` in TSV: `(empty)` for "", the first byte of a value reading `-` or `(empty)` as
 * `\xHH`; a backslash doubled, the tab (and inside sets the comma) as `\xHH`; between those, Zeek's
 * UTF-8 rule (see {@linkcode jsonString}, but \n and \t count as bad too).
 *
 * @example A backslash, a control character after valid UTF-8, a comma in a set
 * ```ts
 * import { tsvString } from "./_zeek-escape.ts";
 *
 * console.log(tsvString("a\\b", false), tsvString("é\x01", false), tsvString("a,b", true)); // "a\\\\b" "\\xc3\\xa9\\x01" "a\\x2cb"
 * ```
 */
export function tsvString(v: string | Uint8Array, inSet: boolean): string {
  if (typeof v === "string") {
    if (v === "") return "(empty)";
    if (v === "-") return "\\x2d";
    if (v === "(empty)") return "\\x28empty)";
    if ((inSet ? TSV_CLEAN_IN_SET : TSV_CLEAN).test(v)) return v;
  } else if (v.length === 0) return "(empty)";
  const b = bytesOf(v);
  if (isReserved(b, "-") || isReserved(b, "(empty)")) return HEX[b[0]!] + escapeTsvRange(b, 1, inSet);
  return escapeTsvRange(b, 0, inSet);
}

function escapeTsvRange(b: Uint8Array, from: number, inSet: boolean): string {
  let out = "";
  let start = from;
  for (let i = from; i < b.length; i++) {
    const c = b[i]!;
    if (c !== 0x5c && c !== 0x09 && !(inSet && c === 0x2c)) continue;
    out += escapeUtf8(b, start, i, false) + (c === 0x5c ? "\\\\" : HEX[c]);
    start = i + 1;
  }
  return out + escapeUtf8(b, start, b.length, false);
}

const JSON_ESCAPES: Record<string, string> = {
  '"': '\\"',
  "\\": "\\\\",
  "\b": "\\b",
  "\f": "\\f",
  "\n": "\\n",
  "\r": "\\r",
  "\t": "\\t",
};

/** Printable ASCII without `"` and `\\`: JSON as it is. A loop beats a regular expression on short strings. */
function plainAscii(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c > 0x7e || c === 0x22 || c === 0x5c) return false;
  }
  return true;
}

/**
 * A `string` or `enum` in JSON (the HEX policy): valid UTF-8 as it is; if any byte is bad (invalid
 * UTF-8, a control character other than \b \f \n \r \t, DEL, C1, private use, U+FFF0–U+FFFF) every
 * byte outside printable ASCII becomes the text `\xHH`; then JSON's escapes.
 *
 * @example One bad byte escapes the good characters before it too
 * ```ts
 * import { jsonString } from "./_zeek-escape.ts";
 *
 * console.log(jsonString("é"), jsonString(new Uint8Array([0xc3, 0xa9, 0x80]))); // "\"é\"" "\"\\\\xc3\\\\xa9\\\\x80\""
 * ```
 */
export function jsonString(v: string | Uint8Array): string {
  if (typeof v === "string") {
    if (v.length < 64 && plainAscii(v)) return `"${v}"`;
    if (JSON_CLEAN.test(v)) return JSON.stringify(v);
  }
  const b = bytesOf(v);
  return `"${escapeUtf8(b, 0, b.length, true).replace(/["\\\b\f\n\r\t]/g, (c) => JSON_ESCAPES[c]!)}"`;
}

/**
 * An object key as rapidjson writes it (upper-case `\u00XX`).
 *
 * @example A field name
 * ```ts
 * import { jsonKey } from "./_zeek-escape.ts";
 *
 * console.log(jsonKey("id.orig_h")); // "\"id.orig_h\""
 * ```
 */
export function jsonKey(name: string): string {
  return JSON.stringify(name).replace(/\\u00([0-9a-f]{2})/g, (_, h: string) => `\\u00${h.toUpperCase()}`);
}
