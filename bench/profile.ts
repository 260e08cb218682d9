#!/usr/bin/env bun
/**
 * @module `bun bench/profile.ts [--ms 2000]`: where the time goes at saturation. Runs the BLOCK chain
 * as fast as it goes in each event format and reports, for publisher, broker and subscriber, the CPU of
 * every thread over the measured window (/proc/<pid>/task/<tid>/stat) and, when `perf` is installed, the
 * share of samples by thread and library (`perf record -g -p <pid>`, `perf report --sort comm,dso`).
 * Writes bench/results/profile.json. docs/performance.md, "Where the time goes", is made from it.
 */

import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { type ChainRun, runChain } from "./chain.ts";
import { fmt, table } from "./report.ts";
import { FORMATS } from "./results.ts";

const { values } = parseArgs({ args: Bun.argv.slice(2), options: { ms: { type: "string" } } });
const ms = Number(values.ms ?? 2000);
if (!Number.isInteger(ms) || ms < 100) throw new RangeError(`--ms must be an integer ≥ 100, got ${values.ms}`);
const perf = Bun.which("perf");
const tmp = mkdtempSync(join(tmpdir(), "bench-profile-"));
const ROLES = ["pub", "broker", "sub"] as const;

/** `perf report` of one process by thread and library: the lines with at least 1 % of the samples. */
function perfShares(file: string): { share: number; thread: string; dso: string }[] {
  const out = Bun.spawnSync(
    [perf!, "report", "-i", file, "--stdio", "--no-children", "--sort", "comm,dso", "-g", "none"],
    {
      stderr: "pipe",
    },
  );
  return out.stdout
    .toString()
    .split("\n")
    .map((line) => line.match(/^\s+([\d.]+)%\s+(.+?)\s{2,}(.+?)\s*$/))
    .filter((m): m is RegExpMatchArray => m !== null && Number(m[1]) >= 1)
    .map((m) => ({ share: Number(m[1]), thread: m[2]!, dso: m[3]! }));
}

const profiles: { format: string; run: ChainRun; perf: Record<string, ReturnType<typeof perfShares>> }[] = [];
try {
  for (const format of FORMATS) {
    const files: Record<string, string> = {};
    console.log(
      `${format}: BLOCK as fast as it goes for ${ms} ms${perf ? ", under perf record" : " (no perf installed)"}`,
    );
    const run = await runChain({
      policy: "BLOCK",
      rate: 0,
      count: 1e9,
      durationMs: ms,
      warmup: 50_000,
      format,
      onWindow: (pids) => {
        if (!perf) return async () => undefined;
        const recorders = ROLES.map((role) => {
          files[role] = join(tmp, `${format}-${role}.data`);
          const args = ["record", "-F", "2999", "-g", "-o", files[role]!, "-p", String(pids[role])];
          return Bun.spawn([perf, ...args], { stdout: "ignore", stderr: "ignore" });
        });
        return async () => {
          for (const r of recorders) r.kill("SIGINT");
          await Promise.all(recorders.map((r) => r.exited));
        };
      },
    });
    const shares = Object.fromEntries(ROLES.map((role) => [role, files[role] ? perfShares(files[role]!) : []]));
    profiles.push({ format, run, perf: shares });
    console.log(
      `\n${format}: ${fmt(run.receivedPerSec)} events/s, CPU per thread over the window (ms) and µs per event\n${table(
        ["process", "µs/event", "threads (ms)"],
        ROLES.map((role) => [
          role,
          run.cpu[role].usPerEvent,
          Object.entries(run.cpu[role].threads)
            .filter(([, us]) => us > 0)
            .sort((a, b) => b[1] - a[1])
            .map(([name, us]) => `${name} ${fmt(us / 1000)}`)
            .join(", "),
        ]),
      )}`,
    );
    for (const role of ROLES)
      if (shares[role]!.length)
        console.log(
          `\nperf, ${role}: share of samples by thread and library\n${table(
            ["%", "thread", "library"],
            shares[role]!.map((s) => [s.share, s.thread, s.dso]),
          )}`,
        );
  }
} finally {
  rmSync(tmp, { recursive: true, force: true });
}
const dir = join(import.meta.dir, "results");
mkdirSync(dir, { recursive: true });
writeFileSync(join(dir, "profile.json"), JSON.stringify({ at: new Date().toISOString(), ms, profiles }, null, 2));
console.log(`\nWrote ${join(dir, "profile.json")}`);
