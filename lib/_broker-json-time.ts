/**
 * @module Broker's text for `timestamp` and `timespan` values in `broker-json-v1`, both ways: what
 * `_broker-json.ts` writes and what `_broker-json-reader.ts` reads, in int64 nanoseconds. Not part of
 * the public API.
 */

const NS = 1_000_000_000n;

const TIMESTAMP = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.(\d{1,9}))?(?:Z|([+-])(\d\d)(?::?(\d\d))?)?$/;
const MONTH_DAYS = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/**
 * `YYYY-MM-DDTHH:MM:SS[.f{1,9}][Z|±HH[:MM]]` (UTC without a zone) in ns; `undefined` if malformed.
 *
 * @example A valid time, and a day February does not have
 * ```ts
 * import { parseTimestamp } from "./_broker-json-time.ts";
 *
 * console.log(parseTimestamp("2024-01-02T03:04:05.5Z")); // 1704164645500000000n
 * console.log(parseTimestamp("2024-02-30T00:00:00")); // undefined
 * ```
 */
export function parseTimestamp(t: string): bigint | undefined {
  const m = TIMESTAMP.exec(t);
  if (!m) return undefined;
  const n = (k: number): number => (t.charCodeAt(k) - 48) * 10 + t.charCodeAt(k + 1) - 48; // digits: see TIMESTAMP
  const [y, mo, d, h, mi, s, oh, om] = [
    n(0) * 100 + n(2),
    n(5),
    n(8),
    n(11),
    n(14),
    n(17),
    m[3] ? +m[3] : 0,
    m[4] ? +m[4] : 0,
  ];
  const leap = y % 4 === 0 && (y % 100 !== 0 || y % 400 === 0);
  if (mo < 1 || mo > 12 || d < 1 || d > MONTH_DAYS[mo - 1]! + (mo === 2 && leap ? 1 : 0)) return undefined;
  if (h > 23 || mi > 59 || s > 59 || oh > 23 || om > 59) return undefined;
  // Days since 1970-01-01 of the proleptic Gregorian date (H. Hinnant's days_from_civil).
  const yy = mo <= 2 ? y - 1 : y;
  const era = Math.floor(yy / 400);
  const yoe = yy - era * 400;
  const days =
    era * 146097 +
    yoe * 365 +
    Math.floor(yoe / 4) -
    Math.floor(yoe / 100) +
    Math.floor((153 * (mo > 2 ? mo - 3 : mo + 9) + 2) / 5) +
    d -
    1 -
    719468;
  const secs = days * 86400 + h * 3600 + mi * 60 + s - (m[2] === "-" ? -1 : 1) * (oh * 3600 + om * 60);
  const frac = m[1] ? +m[1] * 10 ** (9 - m[1].length) : 0;
  return frac % 1e6 === 0 ? BigInt(secs * 1000 + frac / 1e6) * 1_000_000n : BigInt(secs) * NS + BigInt(frac);
}

const TIMESPAN = /^([+-]?(?:0|[1-9]\d{0,18}))(ns|us|ms|s|min|h)$/;
const UNIT_NS: Readonly<Record<string, bigint>> = {
  ns: 1n,
  us: 1000n,
  ms: 1_000_000n,
  s: NS,
  min: 60n * NS,
  h: 3600n * NS,
};

/**
 * A signed integer and one of ns, us, ms, s, min, h (no fractions, no days) in ns; `undefined` if
 * malformed.
 *
 * @example Whole units only
 * ```ts
 * import { parseTimespan } from "./_broker-json-time.ts";
 *
 * console.log(parseTimespan("90s"), parseTimespan("1.5s")); // 90000000000n undefined
 * ```
 */
export function parseTimespan(text: string): bigint | undefined {
  const m = TIMESPAN.exec(text);
  return m ? BigInt(m[1]!) * UNIT_NS[m[2]!]! : undefined;
}

/**
 * Broker prints `YYYY-MM-DDTHH:MM:SS.mmm` (UTC, no zone), dropping what is below a millisecond and
 * printing `.000` as the milliseconds of times before 1970. We print `.mmm` for whole milliseconds, as
 * Broker does, and otherwise up to nine digits (CAF reads `.f{1,9}`), and floor negative times to the
 * second below. Every int64 nanosecond count, 1677-09-21 to 2262-04-11, has a four-digit year.
 *
 * @example Milliseconds as Broker prints them, nanoseconds beyond
 * ```ts
 * import { timestampText } from "./_broker-json-time.ts";
 *
 * console.log(timestampText(1704164645500000000n)); // "2024-01-02T03:04:05.500"
 * console.log(timestampText(1n)); // "1970-01-01T00:00:00.000000001"
 * ```
 */
export function timestampText(ns: bigint): string {
  let secs = ns / NS;
  let frac = Number(ns % NS);
  if (frac < 0) [secs, frac] = [secs - 1n, frac + 1e9];
  const date = new Date(Number(secs) * 1000).toISOString().slice(0, 19);
  return `${date}.${frac % 1e6 === 0 ? String(frac / 1e6).padStart(3, "0") : String(frac).padStart(9, "0").replace(/0+$/, "")}`;
}

/**
 * Broker's rule, which loses nothing: `0s`, or the value in the largest of ns, us, ms and s that
 * divides it.
 *
 * @example Seconds when they divide, else a smaller unit
 * ```ts
 * import { timespanText } from "./_broker-json-time.ts";
 *
 * console.log(timespanText(90_000_000_000n), timespanText(1500n)); // "90s" "1500ns"
 * ```
 */
export function timespanText(ns: bigint): string {
  if (ns % 1000n !== 0n) return `${ns}ns`;
  if (ns % 1_000_000n !== 0n) return `${ns / 1000n}us`;
  return ns % NS !== 0n ? `${ns / 1_000_000n}ms` : `${ns / NS}s`;
}
