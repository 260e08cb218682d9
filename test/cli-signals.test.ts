// Ctrl-C under `bunx zeek-zmq-cluster cluster up …`, the README's command: bunx forwards every SIGINT
// it gets to the launcher, and a terminal's Ctrl-C reaches both, so one Ctrl-C is two signals.
import { beforeAll, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { childProcesses, isRunning, spawnChild, waitFor } from "./helpers.ts";

const ROOT = new URL("..", import.meta.url).pathname;
const FILE = new URL("./fixtures/cluster/signals/cluster.json", import.meta.url).pathname;

/** A project that depends on this package as `bun link` would set it up, with bun and bunx on PATH. */
let project = "";
let path = "";
beforeAll(() => {
  project = mkdtempSync(join(tmpdir(), "bunx-project-"));
  mkdirSync(join(project, "node_modules", ".bin"), { recursive: true });
  mkdirSync(join(project, "bin"));
  symlinkSync(ROOT, join(project, "node_modules", "zeek-zmq-cluster"));
  symlinkSync("../zeek-zmq-cluster/lib/cli.ts", join(project, "node_modules", ".bin", "zeek-zmq-cluster"));
  // One binary: run as "bunx" it is bunx. The CLI's `#!/usr/bin/env bun` finds bun on PATH.
  symlinkSync(process.execPath, join(project, "bin", "bun"));
  symlinkSync(process.execPath, join(project, "bin", "bunx"));
  path = `${join(project, "bin")}:${process.env.PATH}`;
});

/** Runs `bunx zeek-zmq-cluster cluster up` in the project; resolves once the worker has logged records. */
async function clusterUp(logs: string) {
  const bunx = [
    join(project, "bin", "bunx"),
    "zeek-zmq-cluster",
    "cluster",
    "up",
    FILE,
    "--isolated",
    "--log-dir",
    logs,
  ];
  // In the project, where bunx finds node_modules/.bin/zeek-zmq-cluster; `exec` keeps bunx's pid ours.
  const run = spawnChild(["/bin/sh", "-c", 'cd "$0" && exec "$@"', project, ...bunx], { PATH: path });
  await run.waitForLine(/^cluster ready in \d+ ms$/, 20_000);
  await run.waitForLine(/^worker-1 +\| accepted [1-9]\d* records so far$/, 10_000);
  const launcher = await waitFor(() => childProcesses(run.proc.pid).find((c) => !c.zombie)?.pid, "the launcher");
  const nodes = childProcesses(launcher).map((c) => c.pid);
  expect(nodes).toHaveLength(3);
  return { run, launcher, nodes };
}

/** What the launcher prints as it takes the 1st, 2nd and 3rd SIGINT. */
const ACKS = [
  /^cluster: SIGINT, stopping$/,
  /^cluster: SIGINT again \(2nd signal\), still stopping in order; a 4th signal or SIGQUIT forces$/,
  /^cluster: SIGINT again \(3rd signal\), still stopping in order; a 4th signal or SIGQUIT forces$/,
];

/** The seq numbers in the logger's seq.* file. */
function loggedSeqs(logs: string): number[] {
  const file = readdirSync(logs).find((f) => f.startsWith("seq."));
  if (!file) return [];
  return readFileSync(join(logs, file), "utf8")
    .trim()
    .split("\n")
    .map((l) => (JSON.parse(l) as { seq: number }).seq);
}

describe("bunx zeek-zmq-cluster cluster up", () => {
  test("three SIGINTs in quick succession: the ordered stop completes, no record is lost, exit 0", async () => {
    const logs = mkdtempSync(join(tmpdir(), "bunx-logs-"));
    const { run, nodes } = await clusterUp(logs);
    const before = Math.max(...run.lines.map((l) => Number(l.match(/accepted (\d+) records so far$/)?.[1] ?? 0)));
    // bunx forwards each to the launcher. Each is sent once the launcher has taken the one before:
    // the kernel keeps one pending signal of a kind, so two sent at once could arrive as one.
    for (const ack of ACKS.slice(0, 3)) {
      run.proc.kill("SIGINT");
      await run.waitForLine(ack, 2000);
    }
    expect(await run.exited(20_000)).toBe(0);
    const out = run.lines.join("\n");
    expect(run.lines).toContain("cluster: SIGINT, stopping");
    expect(out).toContain("cluster: SIGINT again (2nd signal), still stopping in order");
    expect(out).toContain("cluster: SIGINT again (3rd signal), still stopping in order");
    expect(run.lines).toContain("cluster: stopped");
    expect(out).not.toContain("forced stop");
    const accepted = Number(out.match(/^worker-1 +\| accepted (\d+) records$/m)?.[1]);
    expect(accepted).toBeGreaterThanOrEqual(before);
    const seqs = loggedSeqs(logs);
    // Every record the worker's writer accepted, before the first signal and until it stopped, is in
    // the file, each once.
    expect(seqs.length).toBe(accepted);
    expect(new Set(seqs).size).toBe(accepted);
    expect(Math.max(...seqs)).toBe(accepted - 1);
    await waitFor(() => nodes.every((p) => !isRunning(p)), "every node process gone");
  });

  test("a 4th signal forces the stop and says so", async () => {
    const logs = mkdtempSync(join(tmpdir(), "bunx-logs-"));
    const { run, launcher, nodes } = await clusterUp(logs);
    // Two Ctrl-Cs on a terminal: each reaches bunx and the launcher, and bunx forwards its copy.
    const targets = [launcher, run.proc.pid, launcher, run.proc.pid];
    for (const [i, pid] of targets.entries()) {
      process.kill(pid, "SIGINT");
      if (i < 3) await run.waitForLine(ACKS[i]!, 2000);
    }
    expect(await run.exited(20_000)).toBe(130);
    expect(run.lines).toContain("cluster: forced stop (4th signal)");
    await waitFor(() => nodes.every((p) => !isRunning(p)), "every node process gone");
  });

  test("SIGQUIT forces the stop at once", async () => {
    const logs = mkdtempSync(join(tmpdir(), "bunx-logs-"));
    const { run, launcher, nodes } = await clusterUp(logs);
    process.kill(launcher, "SIGQUIT");
    expect(await run.exited(20_000)).toBe(131);
    expect(run.lines).toContain("cluster: forced stop (SIGQUIT)");
    await waitFor(() => nodes.every((p) => !isRunning(p)), "every node process gone");
  });
});
