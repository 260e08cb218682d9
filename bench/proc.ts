/**
 * @module Peer processes for the benchmarks: spawned by argv, talking JSON lines on stdout
 * (`{"type":"ready",…}` once set up, `{"type":"result",…}` at the end), every wait bounded, every
 * process killed by its own pid when the benchmark ends or fails; and what a process costs, read from
 * /proc (CPU per process and per thread, RSS).
 */

import { dlopen, FFIType } from "bun:ffi";
import { readdirSync, readFileSync } from "node:fs";
import type { Subprocess } from "bun";
import { within } from "../lib/_deadline.ts";

/** A line a peer printed: `type` plus whatever it reports. */
export type PeerMessage = { type: string } & Record<string, unknown>;

/** A numeric field of a peer's message (0 when absent). */
export const num = (m: PeerMessage, k: string): number => Number(m[k] ?? 0);

/** A running peer. */
export interface Peer {
  readonly name: string;
  readonly proc: Subprocess<"pipe", "pipe", "pipe">;
  /** Resolves with the first message of `type` (earlier ones included), failing after `timeoutMs`. */
  next(type: string, timeoutMs?: number): Promise<PeerMessage>;
  /** The most recent message of `type` so far, if any. */
  latest(type: string): PeerMessage | undefined;
  /** Writes one line to the peer's stdin (a command). */
  send(line: string): void;
  /** Stderr and non-JSON stdout so far, for error messages. */
  readonly log: string[];
  /** Resolves with the exit code, SIGKILLing the peer after `timeoutMs`. */
  exited(timeoutMs?: number): Promise<number | null>;
}

const running = new Set<Subprocess>();

/** Kills every peer still running (by pid). Called after each scenario and on exit. */
export function killPeers(): void {
  for (const proc of running) if (proc.exitCode === null && proc.signalCode === null) proc.kill("SIGKILL");
  running.clear();
}
process.on("exit", killPeers);
for (const signal of ["SIGINT", "SIGTERM"] as const) process.on(signal, () => (killPeers(), process.exit(130)));

/** Starts `cmd` as peer `name`. */
export function spawnPeer(name: string, cmd: string[], env: Record<string, string> = {}): Peer {
  const proc = Bun.spawn(cmd, { stdin: "pipe", stdout: "pipe", stderr: "pipe", env: { ...process.env, ...env } });
  running.add(proc);
  proc.exited.then(() => running.delete(proc));
  const messages: PeerMessage[] = [];
  const waiters: (() => void)[] = [];
  const log: string[] = [];
  const wake = () => {
    for (const w of waiters.splice(0)) w();
  };
  const lines = async (stream: ReadableStream<Uint8Array>, parse: boolean) => {
    const decoder = new TextDecoder();
    let rest = "";
    for await (const chunk of stream) {
      const parts = (rest + decoder.decode(chunk, { stream: true })).split("\n");
      rest = parts.pop() ?? "";
      for (const line of parts) {
        if (parse && line.startsWith("{")) {
          try {
            messages.push(JSON.parse(line) as PeerMessage);
            continue;
          } catch {
            // not one of ours: keep it in the log
          }
        }
        if (line.trim()) log.push(line);
      }
      wake();
    }
    if (rest.trim()) log.push(rest);
    wake();
  };
  const done = Promise.all([lines(proc.stdout, true), lines(proc.stderr, false)]).then(wake);
  return {
    name,
    proc,
    log,
    send(line) {
      if (proc.exitCode !== null || proc.signalCode !== null) return; // it is gone: nothing to tell
      try {
        proc.stdin.write(`${line}\n`);
        proc.stdin.flush();
      } catch {
        // it exited meanwhile
      }
    },
    latest(type) {
      return messages.findLast((m) => m.type === type);
    },
    async next(type, timeoutMs = 20_000) {
      const deadline = performance.now() + timeoutMs;
      for (;;) {
        const found = messages.find((m) => m.type === type);
        if (found) return found;
        const exited = proc.exitCode !== null || proc.signalCode !== null;
        if (exited || performance.now() > deadline) {
          await within(done, 200); // give output still in the pipes a moment
          const again = messages.find((m) => m.type === type);
          if (again) return again;
          const why = exited ? `exited (${proc.exitCode ?? proc.signalCode})` : `timed out after ${timeoutMs} ms`;
          throw new Error(`${name}: no '${type}' message, ${why}\n${log.slice(-20).join("\n")}`);
        }
        await new Promise<void>((resolve) => {
          waiters.push(resolve);
          setTimeout(resolve, 50);
        });
      }
    },
    async exited(timeoutMs = 10_000) {
      const timer = setTimeout(() => proc.kill("SIGKILL"), timeoutMs);
      const code = await proc.exited;
      clearTimeout(timer);
      return code;
    },
  };
}

// Bun's process.hrtime counts from process start, so it cannot time a message between processes;
// CLOCK_MONOTONIC can (Node's hrtime and the C peers use it too).
const libc = dlopen(process.platform === "darwin" ? "libc.dylib" : "libc.so.6", {
  clock_gettime: { args: [FFIType.i32, FFIType.ptr], returns: FFIType.i32 },
});
const CLOCK_MONOTONIC = process.platform === "darwin" ? 6 : 1;
const timespec = new BigInt64Array(2);

function clockMonotonicUs(): number {
  libc.symbols.clock_gettime(CLOCK_MONOTONIC, timespec);
  return Number(timespec[0]!) * 1e6 + Number(timespec[1]!) / 1e3;
}
// performance.now() reads the same clock more cheaply; only its origin differs, so measure that once.
const origin = clockMonotonicUs() - performance.now() * 1000;

/** A monotonic clock in µs that every process on this machine shares (CLOCK_MONOTONIC). */
export function monotonicUs(): number {
  return origin + performance.now() * 1000;
}

/** The value at fraction `p` of `sorted` (ascending), or 0 when it is empty. */
export function percentile(sorted: ArrayLike<number>, p: number): number {
  return sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]! : 0;
}

/**
 * Event-loop lag: how late a 5 ms interval fires. `stop()` ends the probe and returns the largest lag
 * and the 99th percentile, in ms.
 */
export function lagProbe(): { stop(): { maxLagMs: number; lagP99Ms: number } } {
  const lags: number[] = [];
  let expected = performance.now() + 5;
  const timer = setInterval(() => {
    const now = performance.now();
    lags.push(Math.max(0, now - expected));
    expected = now + 5;
  }, 5);
  return {
    stop() {
      clearInterval(timer);
      lags.sort((a, b) => a - b);
      return { maxLagMs: lags.at(-1) ?? 0, lagP99Ms: percentile(lags, 0.99) };
    },
  };
}

// Clock ticks per second of the utime/stime fields in /proc/<pid>/stat (USER_HZ, 100 on Linux).
let ticksPerSec: number | undefined;
function clockTicks(): number {
  if (ticksPerSec === undefined) {
    const out = Bun.spawnSync(["getconf", "CLK_TCK"]).stdout.toString().trim();
    ticksPerSec = Number(out) > 0 ? Number(out) : 100;
  }
  return ticksPerSec;
}

/** utime + stime of a `stat` line, in µs; the name field may hold spaces and parentheses, so split after the last ")". */
function statCpuUs(stat: string): number {
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  // After the name: state is field 3, utime field 14, stime field 15 (1-based, proc(5)).
  return ((Number(fields[11]) + Number(fields[12])) * 1e6) / clockTicks();
}

/** User + system CPU a process has used so far (all its threads), in µs, or undefined once it is gone. */
export function cpuUs(pid: number): number | undefined {
  try {
    return statCpuUs(readFileSync(`/proc/${pid}/stat`, "utf8"));
  } catch {
    return undefined;
  }
}

/** User + system CPU of each thread of a process so far, in µs, keyed `name#tid`. */
export function threadCpuUs(pid: number): Map<string, number> {
  const out = new Map<string, number>();
  let tids: string[] = [];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return out;
  }
  for (const tid of tids) {
    try {
      const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, "utf8");
      const name = stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")"));
      out.set(`${name}#${tid}`, statCpuUs(stat));
    } catch {
      // the thread ended meanwhile
    }
  }
  return out;
}

/** A process's resident set size now, in bytes (VmRSS), or 0 once it is gone. */
export function rssBytes(pid: number): number {
  try {
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    return Number(status.match(/^VmRSS:\s+(\d+) kB/m)?.[1] ?? 0) * 1024;
  } catch {
    return 0;
  }
}

/** CPU of a set of processes between `start()` and `stop()`: µs per process and per thread (by name, tids merged). */
export function cpuWindow(pids: Record<string, number>): {
  stop(): Record<string, { us: number; threads: Record<string, number> }>;
} {
  const at = Object.fromEntries(Object.entries(pids).map(([role, pid]) => [role, threadCpuUs(pid)]));
  const total = Object.fromEntries(Object.entries(pids).map(([role, pid]) => [role, cpuUs(pid) ?? 0]));
  return {
    stop() {
      const out: Record<string, { us: number; threads: Record<string, number> }> = {};
      for (const [role, pid] of Object.entries(pids)) {
        const now = threadCpuUs(pid);
        const threads: Record<string, number> = {};
        for (const [key, us] of now) {
          const name = key.slice(0, key.lastIndexOf("#"));
          threads[name] = (threads[name] ?? 0) + us - (at[role]!.get(key) ?? 0);
        }
        out[role] = { us: (cpuUs(pid) ?? 0) - total[role]!, threads };
      }
      return out;
    },
  };
}
