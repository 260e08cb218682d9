/**
 * @module Private: how generated code writes the common `zeek-bin-serializer` Values inline, per type
 * tag: the test a value must pass, and the code that writes its payload after the 9 bytes of its
 * header at `p` in `buf` (`view` over it), advancing `p`. Shared by the compiled encoders of
 * `_zeek-log-encode.ts` (records as values) and `_zeek-log-stream.ts` (record objects). Holds code as
 * text and nothing of any batch: only tags select it.
 */

const STRING_TEST = `typeof v === "string"`;
// ASCII copied char by char; anything else encoded again from the start by Buffer.write (UTF-8).
const STRING_WRITE = `let at = p + 13; const n = v.length;
      for (let c = 0; c < n; c++) { const ch = v.charCodeAt(c); if (ch >= 0x80) { at = p + 13 + buf.write(v, p + 13); break; } buf[at++] = ch; }
      view.setUint32(p + 9, at - p - 13); p = at;`;
const UINT_TEST = `typeof v === "number" && (v >>> 0) === v`;
const UINT_WRITE = `view.setUint32(p + 9, 0); view.setUint32(p + 13, v); p += 17;`;
const DOUBLE: [string, string, number] = [`typeof v === "number"`, `view.setFloat64(p + 9, v); p += 17;`, 8];
const STRING: [string, string, number] = [STRING_TEST, STRING_WRITE, 4];
/** Per tag: the inline test, the payload's code after the header, and its most bytes beyond the strings' text. */
export const INLINE_VALUE: Record<number, [string, string, number]> = {
  1: [`v === true || v === false`, `view.setUint32(p + 9, 0); view.setUint32(p + 13, v ? 1 : 0); p += 17;`, 8],
  2: [UINT_TEST, UINT_WRITE, 8],
  3: [UINT_TEST, UINT_WRITE, 8],
  4: DOUBLE,
  5: DOUBLE,
  6: DOUBLE,
  7: STRING,
  9: STRING,
  10: [UINT_TEST, `view.setUint32(p + 9, 0); view.setUint32(p + 13, v); view.setInt32(p + 17, 0); p += 21;`, 12],
  11: [`typeof v === "string" && (u = v4(v)) >= 0`, `buf[p + 9] = 4; view.setUint32(p + 10, u); p += 14;`, 5],
  17: STRING,
  18: STRING,
};

/** Zeek's Value header, written by generated code at `p`: the type tag, subtype 0, whether it is set. */
const header = (tag: number, set: 0 | 1) => `view.setUint32(p, ${tag}); view.setUint32(p + 4, 0); buf[p + 8] = ${set};`;

/**
 * The generated code writing one field's Value, `v` read from the expression `source`: unset for null
 * or undefined, inline when it passes its tag's test (`inline`, {@linkcode INLINE_VALUE}'s by default),
 * else `slow` (code that writes it from `p` with the generic encoder, then reloads `p`, `buf` and
 * `view`). With it, the most bytes the inline path writes beyond a string's text, and the bound of
 * that text when the value is a string.
 */
export function fieldCode(
  tag: number,
  source: string,
  slow: string,
  inline: [string, string, number] = INLINE_VALUE[tag] ?? ["false", "", 0],
): { lines: string[]; fixed: number; text: string | undefined } {
  const [test, write, size] = inline;
  return {
    lines: [
      `v = ${source};`,
      `if (v === null || v === undefined) { ${header(tag, 0)} p += 9; }`,
      `else if (${test}) { ${header(tag, 1)} ${write} }`,
      `else { ${slow} }`,
    ],
    fixed: 9 + size,
    text: test === STRING_TEST ? `(typeof ${source} === "string" ? ${source}.length * 3 : 0)` : undefined,
  };
}
