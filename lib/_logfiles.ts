/**
 * @module Log files on a logger: one file per path, written byte for byte as Zeek's ASCII writer writes
 * them, as JSON lines (`LogAscii::use_json=T`, the default here) or as TSV with Zeek's header and
 * `#close` footer (see `_zeek-ascii.ts`), with rotation by interval and by size. A rotated file is
 * closed and renamed in one step (`rename(2)`) to `<path>.<open>-<close>.log`, times in UTC as
 * `YYYY-MM-DD-HH-MM-SS`, so a reader never sees half a file and no record is split. At most
 * `maxOpenFiles` files are open at once: the least recently written is closed and reopened for
 * appending when its path is written again (no second header), and a process that meets its
 * open-file limit (`EMFILE`, or the system's: `ENFILE`) closes files and tries again; what still
 * cannot be written is counted in `failedRecords` and reported once per kind, never thrown.
 */

import { closeSync, existsSync, fstatSync, mkdirSync, openSync, renameSync, statSync, writeSync } from "node:fs";
import { join } from "node:path";
import { ByteOut, LineWriter } from "./_log-out.ts";
import { metaStamp } from "./_zeek-ascii.ts";
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
  /**
   * Files open at once, at most: beyond, the least recently written is closed and reopened when its
   * path is written again. Met sooner by the process's open-file limit (`ulimit -n`), it is lowered
   * to three quarters of what fit, leaving descriptors for sockets. @default {256}
   */
  maxOpenFiles?: number;
}

/** What the files tell their owner. */
export interface LogFilesHooks {
  /** A problem worth telling once per `key`: the open-file limit met, records that could not be written. */
  report?(level: "warning" | "error", message: string, key: string): void;
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
  /** -1 while closed by the open-file budget. */
  fd: number;
  path: string;
  file: string;
  openedAt: number;
  bytes: number;
  fields: LogField[];
  fieldsKey: string;
  /** The last list of fields (of a batch) found to be the file's: the same list again needs no comparing. */
  sameFields?: LogField[];
  /** How its records are printed. */
  lines: LineWriter;
  /** Bytes written but not yet handed to the OS (none kept while closed), holding `pending` records. */
  out: ByteOut;
  pending: number;
}

/** Appends `text` as UTF-8 to the file's buffer; returns the bytes appended. */
function append(f: OpenFile, text: string): number {
  const before = f.out.pos;
  f.out.text(text);
  return f.out.pos - before;
}

const fieldsKey = (fields: LogField[]) => fields.map((f) => `${f.name}:${f.type}`).join("\t");
const errorCode = (err: unknown) => (err as NodeJS.ErrnoException)?.code ?? "error";
const errorMessage = (err: unknown) => (err instanceof Error ? err.message : String(err));

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
  readonly #report: NonNullable<LogFilesHooks["report"]>;
  /** Every path's current file, open or closed by the budget. */
  readonly #files = new Map<string, OpenFile>();
  /** The open ones, least recently written first. */
  readonly #lru = new Set<OpenFile>();
  #maxOpen: number;
  #failed = 0;
  #timer: Timer | undefined;

  constructor(options: LogFilesOptions = {}, hooks: LogFilesHooks = {}) {
    this.dir = options.dir ?? "logs";
    this.format = options.format ?? "json";
    this.#rotateSize = options.rotateSize ?? 0;
    this.#rotateInterval = options.rotateInterval ?? 0;
    this.#maxOpen = options.maxOpenFiles ?? 256;
    this.#report = (level, message, key) => hooks.report?.(level, message, key);
    if (this.format !== "json" && this.format !== "tsv")
      throw new RangeError(`Invalid log option 'format': expected "json" or "tsv", got '${this.format}'`);
    for (const [name, v, min] of [
      ["rotateSize", this.#rotateSize, 0],
      ["rotateInterval", this.#rotateInterval, 0],
      ["maxOpenFiles", this.#maxOpen, 1],
    ] as const) {
      if (!Number.isInteger(v) || v < min) {
        const what = `expected a ${min ? "positive" : "non-negative"} integer, got ${typeof v === "string" ? `'${v}'` : v}`;
        throw new (typeof v === "number" ? RangeError : TypeError)(`Invalid log option '${name}': ${what}`);
      }
    }
  }

  /** Records that could not be written (a file that would not open, a write that failed). */
  get failedRecords(): number {
    return this.#failed;
  }

  /** Files open now: at most `maxOpenFiles`. */
  get openFiles(): number {
    return this.#lru.size;
  }

  /**
   * Appends the records of a batch to its path's file, rotating by size between records. Never throws
   * for the files' sake: records that cannot be written are counted in `failedRecords` and reported.
   */
  write(batch: LogBatch): void {
    let done = 0;
    try {
      if (this.#rotateSize === 0) {
        const f = this.#fileFor(batch.path, batch.fields);
        const { out, lines } = f;
        const before = out.pos;
        for (const record of batch.records) lines.line(out, record);
        f.bytes += out.pos - before;
        f.pending += batch.records.length;
        return;
      }
      let f: OpenFile | undefined;
      for (const record of batch.records) {
        f ??= this.#fileFor(batch.path, batch.fields); // only when a record needs it: none opened for nothing
        const before = f.out.pos;
        f.lines.line(f.out, record);
        f.bytes += f.out.pos - before;
        f.pending++;
        done++;
        if (f.bytes >= this.#rotateSize) {
          this.#rotate(batch.path, f);
          f = undefined;
        }
      }
    } catch (err: unknown) {
      this.#lost(batch.path, batch.records.length - done, err);
    }
  }

  /**
   * Appends `count` records that `fill` formats straight into the file of `path` (a batch formatted as
   * it is read); if `fill` throws, nothing of it stays and the error is thrown on. False, with nothing
   * done, unless the path has a file for these fields already (so a malformed batch never makes one)
   * and files rotate by time only: then `write` takes the batch.
   */
  writeWith(path: string, fields: LogField[], count: number, fill: (lines: LineWriter, out: ByteOut) => void): boolean {
    const known = this.#files.get(path);
    if (this.#rotateSize > 0 || known === undefined) return false;
    if (known.sameFields !== fields) {
      if (known.fieldsKey !== fieldsKey(fields)) return false;
      known.sameFields = fields;
    }
    const f = known; // as #fileFor finds it: the path's file, of these fields
    try {
      this.#use(f);
    } catch {
      return false;
    }
    const before = f.out.pos;
    try {
      fill(f.lines, f.out);
    } catch (err: unknown) {
      f.out.pos = before;
      throw err;
    }
    f.bytes += f.out.pos - before;
    f.pending += count;
    return true;
  }

  /** Writes what is buffered to the files (the OS has it afterwards). */
  flush(): void {
    for (const f of this.#lru) this.#flushFile(f);
  }

  /** Rotates every file now, the ones closed by the budget too. */
  rotateAll(): void {
    for (const [path, f] of [...this.#files]) this.#rotate(path, f);
  }

  /** Flushes and closes every file; with rotation configured, closed files are rotated too. */
  close(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
    for (const [path, f] of [...this.#files]) this.#rotateOrClose(path, f);
    this.#files.clear();
  }

  #rotateOrClose(path: string, f: OpenFile): void {
    if (this.#rotateSize > 0 || this.#rotateInterval > 0) return this.#rotate(path, f);
    this.#closeFile(f);
    this.#files.delete(path);
  }

  /** The path's file, open and the most recently used. Throws if it cannot be opened. */
  #fileFor(path: string, fields: LogField[]): OpenFile {
    const existing = this.#files.get(path);
    if (existing && existing.fieldsKey === fieldsKey(fields)) {
      this.#use(existing);
      return existing;
    }
    if (existing) this.#rotateOrClose(path, existing); // the stream's fields changed: start a new file
    if (this.#files.size === 0) {
      mkdirSync(this.dir, { recursive: true });
      if (this.#rotateInterval > 0) this.#timer ??= setInterval(() => this.rotateAll(), this.#rotateInterval).unref();
    }
    const file = join(this.dir, `${path}.log`);
    const rotating = this.#rotateSize > 0 || this.#rotateInterval > 0;
    if (rotating && existsSync(file))
      this.#rename(path, file, statSync(file).birthtimeMs || statSync(file).mtimeMs, statSync(file).mtimeMs);
    const f: OpenFile = {
      fd: -1,
      path,
      file,
      openedAt: Date.now(),
      bytes: 0,
      fields,
      fieldsKey: fieldsKey(fields),
      lines: new LineWriter(this.format, fields),
      out: new ByteOut(),
      pending: 0,
    };
    this.#use(f, true);
    this.#files.set(path, f);
    return f;
  }

  /**
   * Opens `f` within the budget unless open; now the most recently used. A header once per file: a
   * reopened file gets one only if it is empty now (removed while it was closed).
   */
  #use(f: OpenFile, fresh = false): void {
    if (f.fd >= 0) {
      this.#lru.delete(f);
      this.#lru.add(f);
      return;
    }
    while (this.#lru.size >= this.#maxOpen) this.#release(this.#lru.values().next().value!); // the least recently used
    f.fd = this.#openFile(f.file);
    this.#lru.add(f);
    const size = fstatSync(f.fd).size;
    if (!fresh && size > 0) return;
    f.bytes = size;
    if (this.format === "json") return;
    // Zeek's meta lines; #open and #close in local time, as Zeek writes them.
    const header = `${[
      "#separator \\x09",
      "#set_separator\t,",
      "#empty_field\t(empty)",
      "#unset_field\t-",
      `#path\t${f.path}`,
      `#open\t${metaStamp(f.openedAt)}`,
      `#fields\t${f.fields.map((x) => x.name).join("\t")}`,
      `#types\t${f.fields.map((x) => x.type).join("\t")}`,
    ].join("\n")}\n`;
    f.bytes += append(f, header);
  }

  /**
   * `open(2)` for appending. At the open-file limit (the process's or the system's) the budget drops to
   * three quarters of the files open, leaving sockets room and sparing later opens a failure; files
   * are closed down to it and the open tried again, until none of ours is left to close.
   */
  #openFile(file: string): number {
    for (;;) {
      try {
        return openSync(file, "a");
      } catch (err: unknown) {
        const code = errorCode(err);
        if ((code !== "EMFILE" && code !== "ENFILE") || this.#lru.size === 0) throw err;
        const fit = this.#lru.size;
        this.#maxOpen = Math.max(1, Math.floor((fit * 3) / 4));
        this.#report(
          "warning",
          `log: the open-file limit was met (${code}) with ${fit} log files open; at most ${this.#maxOpen} stay open from now on, the least recently written closed and reopened as needed`,
          "log-files-limit",
        );
        do this.#release(this.#lru.values().next().value!);
        while (this.#lru.size >= this.#maxOpen);
      }
    }
  }

  /** Closes `f` (its path stays known), its buffer written first and then freed. */
  #release(f: OpenFile): void {
    this.#flushFile(f);
    this.#lru.delete(f);
    try {
      closeSync(f.fd);
    } catch {} // Linux frees the descriptor even when close(2) reports an error
    f.fd = -1;
    f.out.release();
  }

  /** Hands the buffer to the OS; records of a failed write are counted, not kept (that would grow without end). */
  #flushFile(f: OpenFile): void {
    try {
      const { buf, pos } = f.out;
      for (let done = 0; done < pos; ) done += writeSync(f.fd, buf, done, pos - done);
    } catch (err: unknown) {
      this.#lost(f.file, f.pending, err);
    }
    f.out.pos = 0;
    f.pending = 0;
  }

  /** Flushes and closes `f` (TSV: with Zeek's `#close` line, for which a file closed by the budget is reopened). */
  #closeFile(f: OpenFile): void {
    try {
      if (this.format === "tsv") {
        this.#use(f);
        append(f, `#close\t${metaStamp(Date.now())}\n`);
      }
    } catch (err: unknown) {
      this.#report("error", `log: could not end ${f.file} with #close: ${errorMessage(err)}`, "log-files-close");
    }
    if (f.fd >= 0) this.#release(f);
  }

  #rotate(path: string, f: OpenFile): void {
    this.#closeFile(f);
    this.#files.delete(path);
    try {
      this.#rename(path, f.file, f.openedAt, Date.now());
    } catch (err: unknown) {
      // The records stay in `<path>.log`; the next file of the path tries the rename again.
      this.#report("error", `log: could not rotate ${f.file}: ${errorMessage(err)}`, "log-files-rotate");
    }
  }

  #rename(path: string, file: string, openedAt: number, closedAt: number): void {
    const base = `${path}.${rotationStamp(openedAt)}-${rotationStamp(closedAt)}`;
    let target = join(this.dir, `${base}.log`);
    for (let n = 1; existsSync(target); n++) target = join(this.dir, `${base}-${n}.log`);
    renameSync(file, target);
  }

  /** Records that could not be written: counted, and reported once per kind of error. */
  #lost(where: string, records: number, err: unknown): void {
    if (records === 0) return;
    this.#failed += records;
    this.#report(
      "error",
      `log: could not write ${records} log record(s) to '${where}': ${errorMessage(err)} (counted in logFailedRecords; reported once per error)`,
      `log-files-${errorCode(err)}`,
    );
  }
}
