/**
 * @module Private: the run directory of a cluster launcher, where `cluster status`, `stop`, `restart`
 * and `top` find it: the launcher's pid, the cluster file's path, its control socket, and (when it
 * runs in the background) its log. One launcher per directory; the default directory is derived from
 * the cluster file's path, so that the same file finds the same launcher.
 */

import { createHash } from "node:crypto";
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { basename, extname, join, resolve } from "node:path";

/** The files of a run directory. */
export interface RunDir {
  dir: string;
  /** The launcher's pid. */
  pidFile: string;
  /** The cluster file's absolute path. */
  fileFile: string;
  /** The launcher's control socket (HTTP over a Unix socket). */
  socket: string;
  /** Output of a launcher started with `--detach`. */
  log: string;
}

/** Where run directories go: `$XDG_RUNTIME_DIR/zeek-zmq-cluster`, else `/tmp/zeek-zmq-cluster-<uid>`. */
export function runDirBase(): string {
  const xdg = process.env.XDG_RUNTIME_DIR;
  return xdg ? join(xdg, "zeek-zmq-cluster") : join("/tmp", `zeek-zmq-cluster-${process.getuid?.() ?? "user"}`);
}

/** The default run directory of a cluster file: its name and a hash of its absolute path. */
export function defaultRunDir(clusterFile: string): string {
  const path = resolve(clusterFile);
  const hash = createHash("sha256").update(path).digest("hex").slice(0, 8);
  return join(runDirBase(), `${basename(path, extname(path))}-${hash}`);
}

/** The files of run directory `dir`. */
export function runDir(dir: string): RunDir {
  const d = resolve(dir);
  return {
    dir: d,
    pidFile: join(d, "launcher.pid"),
    fileFile: join(d, "cluster-file"),
    socket: join(d, "control.sock"),
    log: join(d, "launcher.log"),
  };
}

/** Whether a process with this pid runs; a zombie (ended, not reaped by an init that never reaps) does not. */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err: unknown) {
    if ((err as NodeJS.ErrnoException).code !== "EPERM") return false;
  }
  try {
    // /proc/<pid>/stat: "pid (comm) state …"; comm may hold spaces and parentheses, so read after the last ")".
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) !== "Z";
  } catch {
    return true; // no /proc (macOS): kill(0) is all there is
  }
}

/** The pid of the launcher of `dir` if one runs, else undefined (a stale pid file counts as none). */
export function launcherPid(dir: RunDir): number | undefined {
  let pid: number;
  try {
    pid = Number(readFileSync(dir.pidFile, "utf8").trim());
  } catch {
    return undefined;
  }
  return Number.isInteger(pid) && pid > 0 && isAlive(pid) ? pid : undefined;
}

/** The cluster file a run directory was made for, if it says. */
export function clusterFileOf(dir: RunDir): string | undefined {
  try {
    return readFileSync(dir.fileFile, "utf8").trim() || undefined;
  } catch {
    return undefined;
  }
}

/**
 * Makes `dir` this process's run directory for `clusterFile`, and returns how to give it up again.
 *
 * @throws {Error} another launcher runs there, naming its pid and how to stop it.
 */
export function claimRunDir(dir: RunDir, clusterFile: string): () => void {
  const other = launcherPid(dir);
  if (other !== undefined && other !== process.pid)
    throw new Error(
      `a launcher (pid ${other}) already runs from ${dir.dir}; stop it with \`cluster stop --run-dir ${dir.dir}\`, or give this one another --run-dir`,
    );
  // A Unix socket's path is limited (108 bytes on Linux); fail here with the path, not in bind().
  if (Buffer.byteLength(dir.socket) > 100)
    throw new RangeError(`Invalid run directory '${dir.dir}': too long a path for a Unix socket; choose a shorter one`);
  mkdirSync(dir.dir, { recursive: true, mode: 0o700 });
  rmSync(dir.socket, { force: true }); // left by a launcher that was killed
  writeFileSync(dir.pidFile, `${process.pid}\n`);
  writeFileSync(dir.fileFile, `${resolve(clusterFile)}\n`);
  return () => {
    if (launcherPid(dir) === process.pid) rmSync(dir.pidFile, { force: true });
    rmSync(dir.socket, { force: true });
  };
}

/** The run directories under {@linkcode runDirBase} whose launcher runs. */
export function liveRunDirs(): RunDir[] {
  let names: string[];
  try {
    names = readdirSync(runDirBase());
  } catch {
    return [];
  }
  return names.map((n) => runDir(join(runDirBase(), n))).filter((d) => launcherPid(d) !== undefined);
}
