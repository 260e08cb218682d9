/**
 * @module Where a JSON text stops being JSON, as line and column: Bun's `JSON.parse` says what is wrong
 * ("Property name must be a string literal") but not where, and a cluster file is edited by hand.
 * Only called after `JSON.parse` failed, so it is written for clarity, not speed.
 */

/** The first syntax error of a JSON text: 1-based line and column, and what was expected there. */
export interface JsonSyntaxError {
  line: number;
  column: number;
  /** The index into the text. */
  offset: number;
  /** e.g. `expected a property name in double quotes, got '}'` */
  reason: string;
}

const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
const STRING = /"(?:[^"\\\0-\x1f]|\\(?:["\\/bfnrt]|u[0-9a-fA-F]{4}))*"/y;
const WORD = /true|false|null/y;

class Failed extends Error {
  constructor(
    readonly at: number,
    readonly expected: string,
  ) {
    super(expected);
  }
}

/**
 * Finds the first syntax error in `text`, or undefined when it is valid JSON.
 *
 * @example A trailing comma
 * ```ts
 * import { findJsonSyntaxError } from "./_json-syntax.ts";
 *
 * console.log(findJsonSyntaxError('{\n  "a": 1,\n}'));
 * // { line: 3, column: 1, offset: 12, reason: "expected a property name in double quotes, got '}'" }
 * ```
 */
export function findJsonSyntaxError(text: string): JsonSyntaxError | undefined {
  let i = 0;
  const space = () => {
    while (i < text.length && " \t\n\r".includes(text[i]!)) i++;
  };
  const match = (re: RegExp, expected: string) => {
    re.lastIndex = i;
    if (!re.test(text)) throw new Failed(i, expected);
    i = re.lastIndex;
  };
  const punct = (c: string, expected: string) => {
    space();
    if (text[i] !== c) throw new Failed(i, expected);
    i++;
  };
  const value = (depth: number): void => {
    space();
    const c = text[i];
    if (depth > 512) throw new Failed(i, "less nesting");
    if (c === "{") {
      i++;
      space();
      if (text[i] === "}") return void i++;
      for (;;) {
        space();
        match(STRING, "a property name in double quotes");
        punct(":", "':' after the property name");
        value(depth + 1);
        space();
        if (text[i] === "}") return void i++;
        punct(",", "',' or '}'");
      }
    }
    if (c === "[") {
      i++;
      space();
      if (text[i] === "]") return void i++;
      for (;;) {
        value(depth + 1);
        space();
        if (text[i] === "]") return void i++;
        punct(",", "',' or ']'");
      }
    }
    if (c === '"') return match(STRING, "a string with valid escapes and no control characters");
    if (c === "-" || (c !== undefined && c >= "0" && c <= "9")) return match(NUMBER, "a number");
    match(WORD, "a value");
  };
  try {
    value(0);
    space();
    if (i < text.length) throw new Failed(i, "the end of the text");
    return undefined;
  } catch (err: unknown) {
    if (!(err instanceof Failed)) throw err;
    const before = text.slice(0, err.at).split("\n");
    const got = err.at < text.length ? `'${text[err.at]}'` : "the end of the text";
    const column = before.at(-1)!.length + 1;
    return { line: before.length, column, offset: err.at, reason: `expected ${err.expected}, got ${got}` };
  }
}
