/**
 * @module Finds and loads libzmq for `bun:ffi`, and declares its C symbols. Only `_zmq.ts` calls them
 * (test/ffi-boundary.test.ts checks it); everything else talks to the safe wrappers there. The one
 * exception is {@linkcode ZmqError}, which asks libzmq for the text of its errno.
 *
 * libzmq comes from the `zeromq` npm package: its prebuilt Node-API addon links libzmq statically and
 * exports the whole C API, which `dlopen` can use directly (zeromq.js itself aborts under Bun).
 * The environment variable `ZMQ_LIBRARY` points at another build instead, such as a system
 * `libzmq.so.5`.
 */

import { type CString, dlopen, FFIType, type Pointer } from "bun:ffi";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { errnoName } from "./_zmq-constants.ts";
import { ClusterError } from "./errors.ts";

interface FFIFunctionSpec {
  args: FFIType[];
  returns: FFIType;
}

/** `long` is 32 bits on Windows (LLP64), 64 bits elsewhere. */
const long: FFIType.i32 | FFIType.i64 = process.platform === "win32" ? FFIType.i32 : FFIType.i64;

const zmqSymbols: Record<keyof ZmqSymbols, FFIFunctionSpec> = {
  zmq_version: { args: [FFIType.ptr, FFIType.ptr, FFIType.ptr], returns: FFIType.void },
  zmq_has: { args: [FFIType.cstring], returns: FFIType.i32 },
  zmq_errno: { args: [], returns: FFIType.i32 },
  zmq_strerror: { args: [FFIType.i32], returns: FFIType.cstring },
  zmq_ctx_new: { args: [], returns: FFIType.ptr },
  zmq_ctx_set: { args: [FFIType.ptr, FFIType.i32, FFIType.i32], returns: FFIType.i32 },
  zmq_ctx_get: { args: [FFIType.ptr, FFIType.i32], returns: FFIType.i32 },
  zmq_ctx_shutdown: { args: [FFIType.ptr], returns: FFIType.i32 },
  zmq_ctx_term: { args: [FFIType.ptr], returns: FFIType.i32 },
  zmq_socket: { args: [FFIType.ptr, FFIType.i32], returns: FFIType.ptr },
  zmq_close: { args: [FFIType.ptr], returns: FFIType.i32 },
  zmq_setsockopt: { args: [FFIType.ptr, FFIType.i32, FFIType.ptr, FFIType.u64_fast], returns: FFIType.i32 },
  zmq_getsockopt: { args: [FFIType.ptr, FFIType.i32, FFIType.ptr, FFIType.ptr], returns: FFIType.i32 },
  zmq_bind: { args: [FFIType.ptr, FFIType.cstring], returns: FFIType.i32 },
  zmq_connect: { args: [FFIType.ptr, FFIType.cstring], returns: FFIType.i32 },
  zmq_unbind: { args: [FFIType.ptr, FFIType.cstring], returns: FFIType.i32 },
  zmq_disconnect: { args: [FFIType.ptr, FFIType.cstring], returns: FFIType.i32 },
  zmq_send: { args: [FFIType.ptr, FFIType.ptr, FFIType.u64_fast, FFIType.i32], returns: FFIType.i32 },
  zmq_msg_init: { args: [FFIType.ptr], returns: FFIType.i32 },
  zmq_msg_init_size: { args: [FFIType.ptr, FFIType.u64_fast], returns: FFIType.i32 },
  zmq_msg_close: { args: [FFIType.ptr], returns: FFIType.i32 },
  zmq_msg_data: { args: [FFIType.ptr], returns: FFIType.ptr },
  zmq_msg_size: { args: [FFIType.ptr], returns: FFIType.u64_fast },
  zmq_msg_more: { args: [FFIType.ptr], returns: FFIType.i32 },
  zmq_msg_send: { args: [FFIType.ptr, FFIType.ptr, FFIType.i32], returns: FFIType.i32 },
  zmq_msg_recv: { args: [FFIType.ptr, FFIType.ptr, FFIType.i32], returns: FFIType.i32 },
  zmq_poll: { args: [FFIType.ptr, FFIType.i32, long], returns: FFIType.i32 },
  zmq_proxy_steerable: { args: [FFIType.ptr, FFIType.ptr, FFIType.ptr, FFIType.ptr], returns: FFIType.i32 },
  zmq_socket_monitor: { args: [FFIType.ptr, FFIType.cstring, FFIType.i32], returns: FFIType.i32 },
  zmq_curve_keypair: { args: [FFIType.ptr, FFIType.ptr], returns: FFIType.i32 },
  zmq_curve_public: { args: [FFIType.ptr, FFIType.ptr], returns: FFIType.i32 },
  zmq_z85_encode: { args: [FFIType.ptr, FFIType.ptr, FFIType.u64_fast], returns: FFIType.ptr },
  zmq_z85_decode: { args: [FFIType.ptr, FFIType.ptr], returns: FFIType.ptr },
};

const libcSymbols: Record<keyof LibcSymbols, FFIFunctionSpec> = {
  malloc: { args: [FFIType.u64_fast], returns: FFIType.ptr },
  free: { args: [FFIType.ptr], returns: FFIType.void },
  memcpy: { args: [FFIType.ptr, FFIType.ptr, FFIType.u64_fast], returns: FFIType.ptr },
};

/** A pointer argument: C memory, a typed array (its current address is passed), or NULL. */
type Ptr = Pointer | NodeJS.TypedArray | null;

/** The libzmq C functions the binding uses, with `bun:ffi`'s JS types. */
export interface ZmqSymbols {
  zmq_version(major: Ptr, minor: Ptr, patch: Ptr): void;
  zmq_has(capability: Ptr): number;
  zmq_errno(): number;
  zmq_strerror(errno: number): CString;
  zmq_ctx_new(): Pointer | null;
  zmq_ctx_set(ctx: Ptr, option: number, value: number): number;
  zmq_ctx_get(ctx: Ptr, option: number): number;
  zmq_ctx_shutdown(ctx: Ptr): number;
  zmq_ctx_term(ctx: Ptr): number;
  zmq_socket(ctx: Ptr, type: number): Pointer | null;
  zmq_close(socket: Ptr): number;
  zmq_setsockopt(socket: Ptr, option: number, value: Ptr, size: number): number;
  zmq_getsockopt(socket: Ptr, option: number, value: Ptr, size: Ptr): number;
  zmq_bind(socket: Ptr, endpoint: Ptr): number;
  zmq_connect(socket: Ptr, endpoint: Ptr): number;
  zmq_unbind(socket: Ptr, endpoint: Ptr): number;
  zmq_disconnect(socket: Ptr, endpoint: Ptr): number;
  zmq_send(socket: Ptr, data: Ptr, size: number, flags: number): number;
  zmq_msg_init(msg: Ptr): number;
  zmq_msg_init_size(msg: Ptr, size: number): number;
  zmq_msg_close(msg: Ptr): number;
  zmq_msg_data(msg: Ptr): Pointer | null;
  zmq_msg_size(msg: Ptr): number;
  zmq_msg_more(msg: Ptr): number;
  zmq_msg_send(msg: Ptr, socket: Ptr, flags: number): number;
  zmq_msg_recv(msg: Ptr, socket: Ptr, flags: number): number;
  zmq_poll(items: Ptr, count: number, timeout: number): number;
  zmq_proxy_steerable(frontend: Ptr, backend: Ptr, capture: Ptr, control: Ptr): number;
  zmq_socket_monitor(socket: Ptr, endpoint: Ptr, events: number): number;
  zmq_curve_keypair(publicKey: Ptr, secretKey: Ptr): number;
  zmq_curve_public(publicKey: Ptr, secretKey: Ptr): number;
  zmq_z85_encode(dest: Ptr, data: Ptr, size: number): Pointer | null;
  zmq_z85_decode(dest: Ptr, text: Ptr): Pointer | null;
}

/** `malloc`, `free` and `memcpy` from the C library. */
export interface LibcSymbols {
  malloc(size: number): Pointer | null;
  free(p: Ptr): void;
  memcpy(dest: Ptr, src: Ptr, size: number): Pointer | null;
}

/** The loaded libzmq: its path and its symbols. */
export interface LoadedLibzmq {
  /** The file that was loaded. */
  path: string;
  /** The C functions. */
  symbols: ZmqSymbols;
  /** The C library, for memory that must never move. */
  libc: LibcSymbols;
}

function hostLibc(): string {
  if (process.platform === "linux") return existsSync("/etc/alpine-release") ? "musl" : "glibc";
  if (process.platform === "darwin") return "libc";
  if (process.platform === "win32") return "msvc";
  return "unknown";
}

interface ManifestEntry {
  os?: string;
  arch?: string;
  libc?: string;
  abi?: number;
}

/**
 * Lists the addon files of the `zeromq` package that may work here, best first, the way its own
 * loader (cmake-ts) chooses: manifest entries for this os, arch and libc, highest ABI first; then
 * any other `addon.node` under the platform directory as a fallback.
 */
export function addonCandidates(): string[] {
  let pkgJson: string;
  try {
    pkgJson = createRequire(import.meta.url).resolve("zeromq/package.json");
  } catch {
    return [];
  }
  const buildDir = join(dirname(pkgJson), "build");
  const candidates: string[] = [];
  const manifestPath = join(buildDir, "manifest.json");
  if (existsSync(manifestPath)) {
    const manifest = JSON.parse(readFileSync(manifestPath, "utf8")) as Record<string, string>;
    const libc = hostLibc();
    const matching: [number, string][] = [];
    for (const [key, file] of Object.entries(manifest)) {
      let entry: ManifestEntry;
      try {
        entry = JSON.parse(key) as ManifestEntry;
      } catch {
        continue;
      }
      if (entry.os !== process.platform || entry.arch !== process.arch || entry.libc !== libc) continue;
      matching.push([entry.abi ?? 0, join(buildDir, file.replaceAll("\\", "/"))]);
    }
    matching.sort((a, b) => b[0] - a[0]);
    candidates.push(...matching.map(([, file]) => file));
  }
  // Fallback: addons the manifest does not list, except those built for another C library.
  const platformDir = join(buildDir, process.platform, process.arch, "node");
  const otherLibc = /^(glibc|musl|libc|msvc)-/;
  if (existsSync(platformDir)) {
    for (const sub of readdirSync(platformDir).sort().reverse()) {
      if (otherLibc.test(sub) && !sub.startsWith(`${hostLibc()}-`)) continue;
      const file = join(platformDir, sub, "addon.node");
      if (existsSync(file) && !candidates.includes(file)) candidates.push(file);
    }
  }
  return candidates;
}

function libcCandidates(): string[] {
  if (process.platform === "darwin") return ["libc.dylib", "/usr/lib/libSystem.B.dylib"];
  if (process.platform === "win32") return ["msvcrt.dll", "ucrtbase.dll"];
  return ["libc.so.6", `libc.musl-${process.arch === "arm64" ? "aarch64" : "x86_64"}.so.1`, "libc.so"];
}

function firstThatLoads(
  files: string[],
  symbols: Record<string, FFIFunctionSpec>,
  tried: string[],
): { path: string; symbols: unknown } | undefined {
  for (const path of files) {
    try {
      return { path, symbols: dlopen(path, symbols).symbols };
    } catch (err: unknown) {
      tried.push(`${path}: ${err instanceof Error ? (err.message.split("\n")[0] ?? "") : String(err)}`);
    }
  }
  return undefined;
}

let loaded: LoadedLibzmq | undefined;

/**
 * Loads libzmq once per thread and returns it. `ZMQ_LIBRARY`, when set, is the only file tried.
 *
 * @throws {ClusterError} `LIBZMQ_NOT_FOUND` listing every file tried and why it failed.
 */
export function libzmq(): LoadedLibzmq {
  if (loaded) return loaded;
  const tried: string[] = [];
  const override = process.env.ZMQ_LIBRARY;
  const files = override ? [override] : addonCandidates();
  if (files.length === 0) tried.push("no addon.node found in the 'zeromq' package (is it installed?)");
  const zmq = firstThatLoads(files, zmqSymbols, tried);
  if (!zmq) {
    const hint = override
      ? "ZMQ_LIBRARY names a file that could not be loaded"
      : "install the 'zeromq' package or set ZMQ_LIBRARY to a libzmq shared library";
    throw new ClusterError("LIBZMQ_NOT_FOUND", `Cannot load libzmq (${hint}). Tried:\n  ${tried.join("\n  ")}`);
  }
  const libcTried: string[] = [];
  const libc = firstThatLoads(libcCandidates(), libcSymbols, libcTried);
  if (!libc) {
    throw new ClusterError(
      "LIBC_NOT_FOUND",
      `Cannot load the C library for malloc. Tried:\n  ${libcTried.join("\n  ")}`,
    );
  }
  loaded = { path: zmq.path, symbols: zmq.symbols as ZmqSymbols, libc: libc.symbols as LibcSymbols };
  return loaded;
}

/**
 * A failed libzmq call. `code` is the errno name (`"EADDRINUSE"`), `errno` the number and `detail`
 * libzmq's `zmq_strerror` text.
 *
 * @example Catching a bind conflict
 * ```ts
 * import { Context, ZmqError } from "./_zmq.ts";
 *
 * const ctx = new Context();
 * const a = ctx.socket("PULL");
 * a.bind("tcp://127.0.0.1:*");
 * const b = ctx.socket("PULL");
 * try {
 *   b.bind(a.lastEndpoint);
 * } catch (err) {
 *   if (err instanceof ZmqError) console.log(err.code); // "EADDRINUSE"
 * }
 * ctx.close();
 * ```
 */
export class ZmqError extends ClusterError {
  /** The errno value libzmq reported. */
  readonly errno: number;
  /** libzmq's description of the errno (`zmq_strerror`). */
  readonly detail: string;

  /**
   * @param errno The errno value.
   * @param action What was attempted, e.g. `Cannot bind XSUB socket to 'tcp://127.0.0.1:5556'`.
   */
  constructor(errno: number, action: string) {
    const name = errnoName(errno);
    const detail = String(libzmq().symbols.zmq_strerror(errno));
    super(name, `${action}: ${detail} (${name})`);
    this.name = "ZmqError";
    this.errno = errno;
    this.detail = detail;
  }
}
