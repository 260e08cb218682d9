/**
 * @module The one shape of a validation error, shared by options (`config.ts`), layouts (`layout.ts`)
 * and cluster files (`cluster-file.ts`): `Invalid <where>: expected <what>, got <value>`, a `TypeError`
 * for a value of the wrong type and a `RangeError` for a bad value of the right type, so that a message
 * always names the setting, what it takes, and what it was given. Not part of the public API.
 */

/** How {@linkcode invalid} shows the value and what it adds. */
export interface InvalidOptions {
  /** Show the value as JSON, strings too (`"x"` rather than `'x'`): what a JSON file holds. @default {false} */
  json?: boolean;
  /** A likely cause, added in parentheses. @default {""} */
  hint?: string;
}

/**
 * The error for a setting `where` that should be `expected` but is `value`; the caller throws it.
 * Strings are shown in single quotes, objects and arrays as JSON, anything else as `String()` does.
 *
 * @example A port out of range, and one of the wrong type
 * ```ts
 * import { invalid } from "./_invalid.ts";
 *
 * console.log(invalid(RangeError, "layout: nodes[\"logger\"].port", "a port from 1 to 65535", 0).message);
 * // 'Invalid layout: nodes["logger"].port: expected a port from 1 to 65535, got 0'
 * console.log(invalid(TypeError, "option 'ipv6'", "a boolean", "yes").message);
 * // "Invalid option 'ipv6': expected a boolean, got 'yes'"
 * ```
 */
export function invalid(
  Err: TypeErrorConstructor | RangeErrorConstructor,
  where: string,
  expected: string,
  value: unknown,
  options: InvalidOptions = {},
): TypeError | RangeError {
  const hint = options.hint ? ` (${options.hint})` : "";
  return new Err(`Invalid ${where}: expected ${expected}, got ${show(value, options.json ?? false)}${hint}`);
}

function show(value: unknown, json: boolean): string {
  if (typeof value === "string" && !json) return `'${value}'`;
  if (!json && (typeof value !== "object" || value === null)) return String(value);
  try {
    return String(JSON.stringify(value));
  } catch {
    return String(value); // a cycle or a bigint inside
  }
}
