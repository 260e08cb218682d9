/**
 * @module Log files on a logger: one file per path, written byte for byte as Zeek's ASCII writer writes
 * them, as JSON lines (`LogAscii::use_json=T`, the default here) or as TSV with Zeek's header and
 * `#close` footer (see `_zeek-ascii.ts`), with rotation by interval and by size. A rotated file is
 * closed and renamed in one step (`rename(2)`) to `<path>.<open>-<close>.log`, times in UTC as
 * `YYYY-MM-DD-HH-MM-SS`, so a reader never sees half a file and no record is split.
 */

import { closeSync, existsSync, fstatSync, mkdirSync, openSync, renameSync, statSync, writeSync } from "node:fs";
import { join } from "node:path";
import { jsonFormatter, jsonKey, metaStamp, tsvFormatter, type ValueFormatter } from "./_zeek-ascii.ts";
import type { LogBatch, LogField } from "./logformat.ts";

/** How records are written. */
export type LogFileFormat = "json" | "tsv";

/** Options of {@linkcode LogFiles}. */
export interface LogFilesOptions {
  /** The directory for the files; created if missing. @default {"logs"} */
  dir?: string;
  /** JSON lines as Zeek's `LogAscii::use_json=T` writes them, or Zeek's TSV with its `#` header lines. @default {"json"} */
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
 * import { rotationStamp } from "./_logfiles.ts";
 *
 * console.log(`conn.${rotationStamp(0)}-${rotationStamp(3_600_000)}.log`); // "conn.1970-01-01-00-00-00-1970-01-01-01-00-00.log"
 * ```
 */
export function rotationStamp(ms: number): string {
  return new Date(ms).toISOString().slice(0, 19).replace(/[T:]/g, "-");
}

interface OpenFile {
  fd: number;
  file: string;
  openedAt: number;
  bytes: number;
  fields: LogField[];
  fieldsKey: string;
  /** Per field: how its present values are printed. */
  formatters: ValueFormatter[];
  /** JSON: per field, `,"name":`, and `"name":` for the first field a line has. */
  keys: string[];
  firstKeys: string[];
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
 * ```ts
 * import { mkdtempSync, readFileSync } from "node:fs";
 * import { tmpdir } from "node:os";
 * import { join } from "node:path";
 * import { defineStream, recordValues } from "./logformat.ts";
 * import { LogFiles } from "./_logfiles.ts";
 *
 * const PING = defineStream({ id: "Ping::LOG", path: "ping", fields: { ts: "time", peer: "string" } });
 * const dir = mkdtempSync(join(tmpdir(), "logs-"));
 * const files = new LogFiles({ dir }); // JSON lines, no rotation
 * files.write({ stream: PING.id, path: PING.path, fields: [...PING.fields], records: [recordValues(PING, { ts: 1700000000, peer: "worker-1" })] });
 * files.close(); // flushes
 * console.log(readFileSync(join(dir, "ping.log"), "utf8")); // '{"ts":1700000000.0,"peer":"worker-1"}\n'
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
    if (this.format !== "json" && this.format !== "tsv")
      throw new RangeError(`Invalid log option 'format': expected "json" or "tsv", got '${this.format}'`);
    for (const [name, v] of [
      ["rotateSize", this.#rotateSize],
      ["rotateInterval", this.#rotateInterval],
    ] as const) {
      if (!Number.isInteger(v) || v < 0)
        throw new RangeError(`Invalid log option '${name}': expected a non-negative integer, got ${v}`);
    }
  }

  /** Appends the records of a batch to its path's file, rotating by size between records. */
  write(batch: LogBatch): void {
    let f = this.#fileFor(batch.path, batch.fields);
    const line = this.format === "json" ? jsonLine : tsvLine;
    if (this.#rotateSize === 0) {
      // One string for the whole batch: a single UTF-8 copy into the buffer is cheaper than one per line.
      const lines = new Array<string>(batch.records.length);
      for (let i = 0; i < lines.length; i++) lines[i] = line(f, batch.records[i]!);
      f.bytes += append(f, lines.join(""));
      return;
    }
    for (const record of batch.records) {
      f.bytes += append(f, line(f, record));
      if (f.bytes >= this.#rotateSize) {
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
    if (rotating && existsSync(file))
      this.#rename(path, file, statSync(file).birthtimeMs || statSync(file).mtimeMs, statSync(file).mtimeMs);
    const fd = openSync(file, "a");
    const now = Date.now();
    const json = this.format === "json";
    const f: OpenFile = {
      fd,
      file,
      openedAt: now,
      bytes: fstatSync(fd).size,
      fields,
      fieldsKey: fieldsKey(fields),
      formatters: fields.map((x) => (json ? jsonFormatter : tsvFormatter)(x.type)),
      keys: fields.map((x) => `,${jsonKey(x.name)}:`),
      firstKeys: fields.map((x) => `${jsonKey(x.name)}:`),
      out: Buffer.allocUnsafe(64 * 1024),
      used: 0,
    };
    if (!json) {
      // Zeek's meta lines; #open and #close in local time, as Zeek writes them.
      const header = `${[
        "#separator \\x09",
        "#set_separator\t,",
        "#empty_field\t(empty)",
        "#unset_field\t-",
        `#path\t${path}`,
        `#open\t${metaStamp(now)}`,
        `#fields\t${fields.map((x) => x.name).join("\t")}`,
        `#types\t${fields.map((x) => x.type).join("\t")}`,
      ].join("\n")}\n`;
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
    if (this.format === "tsv") append(f, `#close\t${metaStamp(Date.now())}\n`);
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

/** One TSV line: unset fields `-`; a line that would start with `#` (Zeek's meta prefix) escapes it. */
function tsvLine(f: OpenFile, record: unknown[]): string {
  let line = "";
  for (let i = 0; i < record.length; i++) {
    const v = record[i];
    line += (i ? "\t" : "") + (v === null || v === undefined ? "-" : f.formatters[i]!(v));
  }
  return line.charCodeAt(0) === 35 ? `\\x23${line.slice(1)}\n` : `${line}\n`;
}

/** One JSON line: unset fields left out (`LogAscii::json_include_unset_fields=F`). */
function jsonLine(f: OpenFile, record: unknown[]): string {
  let line = "{";
  let sep = 0; // the keys come with a comma before them; skip it on the first field written
  for (let i = 0; i < record.length; i++) {
    const v = record[i];
    if (v === null || v === undefined) continue;
    line += (sep === 0 ? f.firstKeys[i]! : f.keys[i]!) + f.formatters[i]!(v);
    sep = 1;
  }
  return `${line}}\n`;
}
