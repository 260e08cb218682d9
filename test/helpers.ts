/** Helpers shared by the tests: bounded waits, subprocesses killed by pid, and peer detection. */

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Subprocess } from "bun";
import { DONTWAIT, type Socket } from "../lib/_zmq.ts";

/** Bind here to get an ephemeral loopback port; read the real one back from `lastEndpoint`. */
export const ANY_PORT = "tcp://127.0.0.1:*";

const decoder = new TextDecoder();
const encoder = new TextEncoder();

/** UTF-8 decode. */
export const text = (bytes: Uint8Array | undefined): string => decoder.decode(bytes ?? new Uint8Array());
/** UTF-8 encode. */
export const bytes = (s: string): Uint8Array => encoder.encode(s);

/**
 * Event-loop lag: how much later than scheduled an `intervalMs` timer fires, the largest so far in ms.
 * `tick` runs at each firing (a sampler that shares the timer).
 */
export function lagMonitor(intervalMs: number, tick?: () => void): { readonly maxMs: number; stop(): void } {
  let maxMs = 0;
  let last = performance.now();
  const timer = setInterval(() => {
    const now = performance.now();
    maxMs = Math.max(maxMs, now - last - intervalMs);
    last = now;
    tick?.();
  }, intervalMs);
  return {
    get maxMs() {
      return maxMs;
    },
    stop: () => clearInterval(timer),
  };
}

/** The lines of standard input, trimmed, empty ones left out, until it closes (a fixture's commands). */
export async function* stdinLines(): AsyncGenerator<string> {
  const utf8 = new TextDecoder();
  let buffered = "";
  for await (const chunk of Bun.stdin.stream()) {
    buffered += utf8.decode(chunk, { stream: true });
    for (let nl = buffered.indexOf("\n"); nl >= 0; nl = buffered.indexOf("\n")) {
      const line = buffered.slice(0, nl).trim();
      buffered = buffered.slice(nl + 1);
      if (line) yield line;
    }
  }
}

/** Temporary directories named `<prefix>…`, removed by `cleanup()` (a test file calls it in `afterEach`). */
export class TempDirs {
  readonly #made: string[] = [];
  constructor(readonly prefix: string) {}

  /** A new empty directory. */
  readonly make = (): string => {
    const dir = mkdtempSync(join(tmpdir(), this.prefix));
    this.#made.push(dir);
    return dir;
  };

  /** Removes every directory made so far. */
  readonly cleanup = (): void => {
    for (const dir of this.#made.splice(0)) rmSync(dir, { recursive: true, force: true });
  };
}

/** Polls `fn` until it returns a truthy value, failing after `timeoutMs`. */
export async function waitFor<T>(fn: () => T | Promise<T>, what: string, timeoutMs = 5000): Promise<NonNullable<T>> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const value = await fn();
    if (value) return value as NonNullable<T>;
    if (performance.now() > deadline) throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}`);
    await Bun.sleep(2);
  }
}

/** Receives one multipart message, failing after `timeoutMs`. */
export function recvWithin(socket: Socket, what: string, timeoutMs = 5000): Promise<Uint8Array[]> {
  return waitFor(() => socket.recv(DONTWAIT), what, timeoutMs);
}

/** Asserts that nothing arrives on `socket` for `ms`. */
export async function expectSilence(socket: Socket, ms: number): Promise<void> {
  const deadline = performance.now() + ms;
  while (performance.now() < deadline) {
    const got = socket.recv(DONTWAIT);
    if (got) throw new Error(`Expected nothing, got [${got.map((f) => JSON.stringify(text(f))).join(", ")}]`);
    await Bun.sleep(2);
  }
}

const spawned = new Set<Subprocess>();

/** Kills (by pid) every process spawned through these helpers that is still running. test/setup.ts runs it after each test. */
export function killSpawned(): void {
  for (const proc of spawned) if (proc.exitCode === null && proc.signalCode === null) proc.kill("SIGKILL");
  spawned.clear();
}
process.on("exit", killSpawned);

/** A spawned process with line-by-line access to its output. */
export interface Child {
  /** The process; killed by pid after the test if still running. */
  proc: Subprocess<"pipe", "pipe", "pipe">;
  /** Writes one line (a JSON command for the node driver) to the process's stdin. */
  send(command: unknown): void;
  /** Every stdout and stderr line so far. */
  lines: string[];
  /** Resolves with the first line matching `pattern`, failing after `timeoutMs`. */
  waitForLine(pattern: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
  /** Resolves with the exit code, failing after `timeoutMs`. */
  exited(timeoutMs?: number): Promise<number>;
}

async function collect(stream: ReadableStream<Uint8Array>, lines: string[]): Promise<void> {
  let rest = "";
  for await (const chunk of stream) {
    const parts = (rest + decoder.decode(chunk)).split("\n");
    rest = parts.pop() ?? "";
    lines.push(...parts);
  }
  if (rest) lines.push(rest);
}

/** Spawns `cmd` with piped output; the test's afterEach kills it by its own pid. */
export function spawnChild(cmd: string[], env: Record<string, string | undefined> = {}): Child {
  const proc = Bun.spawn(cmd, { stdin: "pipe", stdout: "pipe", stderr: "pipe", env: { ...process.env, ...env } });
  spawned.add(proc);
  const lines: string[] = [];
  const done = Promise.all([collect(proc.stdout, lines), collect(proc.stderr, lines)]);
  return {
    proc,
    lines,
    send: (command) => {
      proc.stdin.write(`${typeof command === "string" ? command : JSON.stringify(command)}\n`);
      proc.stdin.flush();
    },
    waitForLine: (pattern, timeoutMs = 10_000) => {
      const found = () => lines.map((l) => l.match(pattern)).find((m) => m !== null);
      return waitFor(found, `a line matching ${pattern} (output so far:\n${lines.join("\n")})`, timeoutMs);
    },
    exited: async (timeoutMs = 10_000) => {
      const code = await Promise.race([proc.exited, Bun.sleep(timeoutMs).then(() => "timeout" as const)]);
      if (code === "timeout")
        throw new Error(`Process ${proc.pid} did not exit within ${timeoutMs} ms:\n${lines.join("\n")}`);
      await done;
      return code;
    },
  };
}

/** Spawns a Bun script of this repository. */
export function spawnBun(args: string[], env: Record<string, string | undefined> = {}): Child {
  // --no-orphans: the child exits by itself should this process die before it can kill it.
  return spawnChild([process.execPath, "--no-orphans", ...args], env);
}

/** The children of `parent` as `ps` lists them (the `ps` itself left out); a zombie has exited but is not reaped yet. */
export function childProcesses(parent: number = process.pid): { pid: number; zombie: boolean }[] {
  const out = Bun.spawnSync(["ps", "-o", "pid=,stat=,comm=", "--ppid", String(parent)]).stdout.toString();
  return out
    .split("\n")
    .map((l) => l.trim().split(/\s+/))
    .filter(([pid, , comm]) => Number(pid) > 0 && comm !== "ps")
    .map(([pid, stat]) => ({ pid: Number(pid), zombie: stat!.startsWith("Z") }));
}

/** The pids of `parent`'s children, zombies included. */
export function childPids(parent: number = process.pid): number[] {
  return childProcesses(parent).map((c) => c.pid);
}

/** Whether `pid` runs. An orphan's zombie counts as gone: its new parent may never reap it here. */
export function isRunning(pid: number): boolean {
  const stat = Bun.spawnSync(["ps", "-o", "stat=", "-p", String(pid)])
    .stdout.toString()
    .trim();
  return stat !== "" && !stat.startsWith("Z");
}

/** Debian's python3 with pyzmq and msgpack, an independent ZeroMQ peer; `undefined` if not installed. */
export const PYTHON: string | undefined = (() => {
  for (const python of ["/usr/bin/python3", "python3"]) {
    const probe = Bun.spawnSync([python, "-c", "import zmq, msgpack"], { stdout: "ignore", stderr: "ignore" });
    if (probe.exitCode === 0) return python;
  }
  return undefined;
})();

const DRIVER = new URL("./fixtures/node-driver.ts", import.meta.url).pathname;

/** A node in its own process (see fixtures/node-driver.ts), ready once it printed `ready`. */
export async function startNodeProcess(spec: Record<string, unknown>): Promise<Child & { id: string }> {
  const child = spawnBun([DRIVER, JSON.stringify(spec)]);
  const id = (await child.waitForLine(/^ready (\S+)/, 15_000))[1]!;
  return Object.assign(child, { id });
}

/** Asks a node driver for its counters. */
export async function statsOf(
  child: Child,
): Promise<Record<string, unknown> & { counts: Record<string, { received: number; last: number; gaps: number }> }> {
  const before = child.lines.length;
  child.send({ cmd: "stats" });
  const line = await waitFor(() => child.lines.slice(before).find((l) => l.startsWith("stats ")), "a stats line");
  return JSON.parse(line.slice(6));
}
