// `cluster top` on a real terminal (a pseudo-terminal from Bun.spawn): it takes the alternate screen,
// redraws in place, and q, Ctrl-C, SIGTERM or --duration end it with the terminal restored.
import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Subprocess } from "bun";
import { spawnBun, waitFor } from "./helpers.ts";

const CLI = new URL("../lib/cli.ts", import.meta.url).pathname;
const ALT_SCREEN = "\x1b[?1049h\x1b[?25l";
const RESTORE = "\x1b[?25h\x1b[?1049l";

let runDir = "";
let launcher = 0;
const tops = new Set<Subprocess>();

beforeAll(async () => {
  const dir = mkdtempSync(join(tmpdir(), "control-top-"));
  const file = join(dir, "cluster.json");
  writeFileSync(
    file,
    JSON.stringify({
      nodes: {
        manager: { type: "manager", ip: "127.0.0.1", port: 27762 },
        "worker-1": { type: "worker", ip: "127.0.0.1" },
      },
    }),
  );
  runDir = join(dir, "run");
  const up = spawnBun([CLI, "cluster", "up", file, "--isolated", "--detach", "--run-dir", runDir]);
  const code = await up.exited(60_000);
  launcher = Number(readFileSync(join(runDir, "launcher.pid"), "utf8"));
  expect(code).toBe(0);
});

afterEach(() => {
  for (const top of tops) if (top.exitCode === null && top.signalCode === null) top.kill("SIGKILL");
  tops.clear();
});

afterAll(async () => {
  // The launcher stops its nodes in order; killing it by pid afterwards covers a stop that failed.
  await spawnBun([CLI, "cluster", "stop", "--run-dir", runDir]).exited(30_000);
  try {
    process.kill(launcher, "SIGKILL");
  } catch {
    // stopped already
  }
});

/** `cluster top` on a pseudo-terminal; everything it writes, decoded. */
function topOnTerminal(...args: string[]): { proc: Subprocess; output: () => string; write: (s: string) => void } {
  let output = "";
  const decoder = new TextDecoder();
  const proc = Bun.spawn([process.execPath, CLI, "cluster", "top", "--run-dir", runDir, ...args], {
    terminal: { cols: 150, rows: 30, data: (_term, data) => void (output += decoder.decode(data, { stream: true })) },
  });
  tops.add(proc);
  return { proc, output: () => output, write: (s) => proc.terminal!.write(s) };
}

const frames = (output: string) => output.split("\x1b[H").length - 1;

describe("cluster top on a terminal", () => {
  for (const [how, end] of [
    ["q", (t: ReturnType<typeof topOnTerminal>) => t.write("q")],
    ["Ctrl-C", (t: ReturnType<typeof topOnTerminal>) => t.write("\x03")],
    ["SIGTERM", (t: ReturnType<typeof topOnTerminal>) => t.proc.kill("SIGTERM")],
  ] as const) {
    test(`redraws in place and ${how} ends it with the terminal restored`, async () => {
      const top = topOnTerminal("--interval", "200");
      await waitFor(() => frames(top.output()) >= 3, "three views", 15_000);
      const out = top.output();
      expect(out.startsWith(ALT_SCREEN)).toBe(true);
      expect(out).toContain("q quits");
      expect(out).toMatch(/manager\s+manager\s+\d+\s+up/);
      expect(out).toMatch(/worker-1\s+worker\s+\d+\s+up/);
      end(top);
      const code = await Promise.race([top.proc.exited, Bun.sleep(10_000).then(() => "timeout")]);
      expect(code).toBe(0);
      expect(top.output().endsWith(RESTORE) || top.output().trimEnd().endsWith(RESTORE)).toBe(true);
    });
  }

  test("--duration ends it by itself", async () => {
    const top = topOnTerminal("--duration", "1", "--interval", "200");
    const code = await Promise.race([top.proc.exited, Bun.sleep(10_000).then(() => "timeout")]);
    expect(code).toBe(0);
    expect(frames(top.output())).toBeGreaterThanOrEqual(3);
    expect(top.output()).toContain(RESTORE);
  });
});
