/**
 * @module Log files on a logger: one file per path, JSON lines (the default) or Zeek's ASCII TSV, with
 * rotation by interval and by size. A rotated file is closed and renamed in one step (`rename(2)`) to
 * `<path>.<open>-<close>.log`, times in UTC as `YYYY-MM-DD-HH-MM-SS`, so a reader never sees half a
 * file and no record is split.
 */

import { closeSync, existsSync, fstatSync, mkdirSync, openSync, renameSync, statSync, writeSync } from "node:fs";
import { join } from "node:path";
import { type LogBatch, type LogField, parseFieldType } from "./logformat.ts";

/** How records are written. */
export type LogFileFormat = "json" | "tsv";

/** Options of {@linkcode LogFiles}. */
export interface LogFilesOptions {
  /** The directory for the files; created if missing. @default {"logs"} */
  dir?: string;
  /** JSON lines, or Zeek's ASCII format with `#fields`/`#types` headers. @default {"json"} */
  format?: LogFileFormat;
  /** Rotate every file after this many ms; 0 never. @default {0} */
  rotateInterval?: number;
  /** Rotate a file once it holds at least this many bytes; 0 never. @default {0} */
  rotateSize?: number;
}

/**
 * `YYYY-MM-DD-HH-MM-SS` in UTC (Zeek's rotation date format).
 *
 * @example The name a rotated file gets
 * ```ts
 * import { rotationStamp } from "./logfiles.ts";
 *
 * console.log(`conn.${rotationStamp(0)}-${rotationStamp(3_600_000)}.log`); // "conn.1970-01-01-00-00-00-1970-01-01-01-00-00.log"
 * ```
 */
export function rotationStamp(ms: number): string {
  return new Date(ms).toISOString().slice(0, 19).replace(/[T:]/g, "-");
}

// Zeek's ASCII escaping (LogAscii::enable_utf_8 off, its default): bytes that are not printable
// ASCII, the backslash, and inside sets the set separator become \xHH; a value equal to "-" or
// "(empty)" gets its first byte escaped so it cannot be mistaken for unset or empty.
const encoder = new TextEncoder();
const PLAIN = /^[\x20-\x5b\x5d-\x7e]*$/;
const PLAIN_IN_SET = /^[\x20-\x2b\x2d-\x5b\x5d-\x7e]*$/;
const hex = (b: number) => `\\x${b.toString(16).padStart(2, "0")}`;

function escape(s: string, inSet: boolean): string {
  if (s === "") return "(empty)";
  if (s === "-" || s === "(empty)") return hex(s.charCodeAt(0)) + s.slice(1);
  if ((inSet ? PLAIN_IN_SET : PLAIN).test(s)) return s;
  let out = "";
  for (const b of encoder.encode(s)) {
    out += b < 0x20 || b > 0x7e || b === 0x5c || (inSet && b === 0x2c) ? hex(b) : String.fromCharCode(b);
  }
  return out;
}

// Zeek renders a double with at most 6 decimals, trailing zeros dropped, and ".0" when the value is
// within 1e-9 of an integer; time and interval always get 6 decimals.
function tsvDouble(d: number): string {
  if (!Number.isFinite(d)) return Number.isNaN(d) ? "nan" : d > 0 ? "inf" : "-inf";
  const text = Math.abs(d) >= 1e21 ? BigInt(Math.trunc(d)).toString() : d.toFixed(6).replace(/\.?0+$/, "");
  return Math.abs(d - Math.round(d)) < 1e-9 ? `${text}.0` : text;
}

function tsvScalar(type: string, v: unknown, inSet: boolean): string {
  switch (type) {
    case "bool":
      return v ? "T" : "F";
    case "double":
      return tsvDouble(v as number);
    case "time":
    case "interval":
      return (v as number).toFixed(6);
    case "string":
    case "enum":
      return escape(v as string, inSet);
    default:
      return String(v);
  }
}

function tsvValue(field: LogField, v: unknown): string {
  if (v === null || v === undefined) return "-";
  const { container, scalar } = parseFieldType(field.type)!;
  if (!container) return tsvScalar(scalar, v, false);
  const items = v as unknown[];
  return items.length === 0 ? "(empty)" : items.map((item) => tsvScalar(scalar, item, true)).join(",");
}

interface OpenFile {
  fd: number;
  file: string;
  openedAt: number;
  bytes: number;
  fields: LogField[];
  fieldsKey: string;
  /** A field is named `__proto__`: JSON lines need objects without a prototype. */
  protoField: boolean;
  /** Bytes written but not yet handed to the OS: `out[0, used)`. */
  out: Buffer;
  used: number;
}

/** Appends `text` as UTF-8 to the file's buffer; returns the bytes appended. */
function append(f: OpenFile, text: string): number {
  if (f.used + text.length * 3 > f.out.length) {
    const grown = Buffer.allocUnsafe(Math.max(f.out.length * 2, f.used + text.length * 3));
    f.out.copy(grown, 0, 0, f.used);
    f.out = grown;
  }
  const n = f.out.write(text, f.used);
  f.used += n;
  return n;
}

const fieldsKey = (fields: LogField[]) => fields.map((f) => `${f.name}:${f.type}`).join("\t");

/**
 * The files of one logger.
 *
 * @example Writing a batch as JSON lines
 * ```ts ignore
 * import { LogFiles } from "./logfiles.ts";
 *
 * const files = new LogFiles({ dir: "/tmp/logs", rotateSize: 10_000_000 });
 * files.write(batch);
 * await files.close();
 * ```
 */
export class LogFiles {
  readonly dir: string;
  readonly format: LogFileFormat;
  readonly #rotateSize: number;
  readonly #rotateInterval: number;
  readonly #open = new Map<string, OpenFile>();
  #timer: Timer | undefined;

  constructor(options: LogFilesOptions = {}) {
    this.dir = options.dir ?? "logs";
    this.format = options.format ?? "json";
    this.#rotateSize = options.rotateSize ?? 0;
    this.#rotateInterval = options.rotateInterval ?? 0;
    if (this.format !== "json" && this.format !== "tsv") throw new RangeError(`Invalid log option 'format': expected "json" or "tsv", got '${this.format}'`);
    for (const [name, v] of [["rotateSize", this.#rotateSize], ["rotateInterval", this.#rotateInterval]] as const) {
      if (!Number.isInteger(v) || v < 0) throw new RangeError(`Invalid log option '${name}': expected a non-negative integer, got ${v}`);
    }
  }

  /** Appends the records of a batch to its path's file, rotating by size between records. */
  write(batch: LogBatch): void {
    let f = this.#fileFor(batch.path, batch.fields);
    for (const record of batch.records) {
      f.bytes += this.format === "json" ? jsonLine(f, record) : append(f, `${record.map((v, i) => tsvValue(batch.fields[i]!, v)).join("\t")}\n`);
      if (this.#rotateSize > 0 && f.bytes >= this.#rotateSize) {
        this.#rotate(batch.path, f);
        f = this.#fileFor(batch.path, batch.fields);
      }
    }
  }

  /** Writes what is buffered to the files (the OS has it afterwards). */
  flush(): void {
    for (const f of this.#open.values()) this.#flushFile(f);
  }

  /** Rotates every open file now. */
  rotateAll(): void {
    for (const [path, f] of [...this.#open]) this.#rotate(path, f);
  }

  /** Flushes and closes every file; with rotation configured, closed files are rotated too. */
  close(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
    for (const [path, f] of [...this.#open]) this.#rotateOrClose(path, f);
    this.#open.clear();
  }

  #rotateOrClose(path: string, f: OpenFile): void {
    if (this.#rotateSize > 0 || this.#rotateInterval > 0) return this.#rotate(path, f);
    this.#closeFile(f);
    this.#open.delete(path);
  }

  #fileFor(path: string, fields: LogField[]): OpenFile {
    const existing = this.#open.get(path);
    if (existing && existing.fieldsKey === fieldsKey(fields)) return existing;
    if (existing) this.#rotateOrClose(path, existing); // the stream's fields changed: start a new file
    if (this.#open.size === 0) {
      mkdirSync(this.dir, { recursive: true });
      if (this.#rotateInterval > 0) this.#timer ??= setInterval(() => this.rotateAll(), this.#rotateInterval).unref();
    }
    const file = join(this.dir, `${path}.log`);
    const rotating = this.#rotateSize > 0 || this.#rotateInterval > 0;
    if (rotating && existsSync(file)) this.#rename(path, file, statSync(file).birthtimeMs || statSync(file).mtimeMs, statSync(file).mtimeMs);
    const fd = openSync(file, "a");
    const now = Date.now();
    const f: OpenFile = { fd, file, openedAt: now, bytes: fstatSync(fd).size, fields, fieldsKey: fieldsKey(fields), protoField: fields.some((x) => x.name === "__proto__"), out: Buffer.allocUnsafe(64 * 1024), used: 0 };
    if (this.format === "tsv") {
      const header = [
        "#separator \\x09",
        "#set_separator\t,",
        "#empty_field\t(empty)",
        "#unset_field\t-",
        `#path\t${path}`,
        `#open\t${rotationStamp(now)}`,
        `#fields\t${fields.map((x) => x.name).join("\t")}`,
        `#types\t${fields.map((x) => x.type).join("\t")}`,
      ].join("\n") + "\n";
      f.bytes += append(f, header);
    }
    this.#open.set(path, f);
    return f;
  }

  #flushFile(f: OpenFile): void {
    for (let done = 0; done < f.used; ) done += writeSync(f.fd, f.out, done, f.used - done);
    f.used = 0;
  }

  #closeFile(f: OpenFile): void {
    if (this.format === "tsv") append(f, `#close\t${rotationStamp(Date.now())}\n`);
    this.#flushFile(f);
    closeSync(f.fd);
  }

  #rotate(path: string, f: OpenFile): void {
    this.#closeFile(f);
    this.#open.delete(path);
    this.#rename(path, f.file, f.openedAt, Date.now());
  }

  #rename(path: string, file: string, openedAt: number, closedAt: number): void {
    const base = `${path}.${rotationStamp(openedAt)}-${rotationStamp(closedAt)}`;
    let target = join(this.dir, `${base}.log`);
    for (let n = 1; existsSync(target); n++) target = join(this.dir, `${base}-${n}.log`);
    renameSync(file, target);
  }
}

/** Appends a record as one JSON line; returns its bytes. */
function jsonLine(f: OpenFile, record: unknown[]): number {
  // A plain object and JSON.stringify beat building the line by hand (measured).
  const fields = f.fields;
  const line: Record<string, unknown> = f.protoField ? Object.create(null) : {};
  for (let i = 0; i < record.length; i++) {
    const v = record[i];
    if (v !== null && v !== undefined) line[fields[i]!.name] = jsonSafe(v);
  }
  return append(f, JSON.stringify(line)) + append(f, "\n");
}

/** bigints (counts beyond 2^53) as numbers, also inside sets and vectors, as Zeek's JSON writer does. */
function jsonSafe(v: unknown): unknown {
  if (typeof v === "bigint") return Number(v);
  if (Array.isArray(v) && v.some((x) => typeof x === "bigint")) return v.map(jsonSafe);
  return v;
}
