/** Helpers shared by the tests: bounded waits, subprocesses killed by pid, and peer detection. */

import { afterEach } from "bun:test";
import type { Subprocess } from "bun";
import { DONTWAIT, type Socket } from "../lib/zmq.ts";

/** Bind here to get an ephemeral loopback port; read the real one back from `lastEndpoint`. */
export const ANY_PORT = "tcp://127.0.0.1:*";

const decoder = new TextDecoder();
const encoder = new TextEncoder();

/** UTF-8 decode. */
export const text = (bytes: Uint8Array | undefined): string => decoder.decode(bytes ?? new Uint8Array());
/** UTF-8 encode. */
export const bytes = (s: string): Uint8Array => encoder.encode(s);

/** Polls `fn` until it returns a truthy value, failing after `timeoutMs`. */
export async function waitFor<T>(
  fn: () => T | Promise<T>,
  what: string,
  timeoutMs = 5000,
): Promise<NonNullable<T>> {
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

afterEach(() => {
  for (const proc of spawned) if (proc.exitCode === null && proc.signalCode === null) proc.kill("SIGKILL");
  spawned.clear();
});

/** A spawned process with line-by-line access to its output. */
export interface Child {
  /** The process; killed by pid after the test if still running. */
  proc: Subprocess<"ignore", "pipe", "pipe">;
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
  const proc = Bun.spawn(cmd, { stdin: "ignore", stdout: "pipe", stderr: "pipe", env: { ...process.env, ...env } });
  spawned.add(proc);
  const lines: string[] = [];
  const done = Promise.all([collect(proc.stdout, lines), collect(proc.stderr, lines)]);
  return {
    proc,
    lines,
    waitForLine: (pattern, timeoutMs = 10_000) => {
      const found = () => lines.map((l) => l.match(pattern)).find((m) => m !== null);
      return waitFor(found, `a line matching ${pattern} (output so far:\n${lines.join("\n")})`, timeoutMs);
    },
    exited: async (timeoutMs = 10_000) => {
      const code = await Promise.race([proc.exited, Bun.sleep(timeoutMs).then(() => "timeout" as const)]);
      if (code === "timeout") throw new Error(`Process ${proc.pid} did not exit within ${timeoutMs} ms:\n${lines.join("\n")}`);
      await done;
      return code;
    },
  };
}

/** Spawns a Bun script of this repository. */
export function spawnBun(args: string[], env: Record<string, string | undefined> = {}): Child {
  return spawnChild([process.execPath, ...args], env);
}

/** Debian's python3 with pyzmq and msgpack, an independent ZeroMQ peer; `undefined` if not installed. */
export const PYTHON: string | undefined = (() => {
  for (const python of ["/usr/bin/python3", "python3"]) {
    const probe = Bun.spawnSync([python, "-c", "import zmq, msgpack"], { stdout: "ignore", stderr: "ignore" });
    if (probe.exitCode === 0) return python;
  }
  return undefined;
})();
