// Control of a running cluster through the real command line: `cluster up --detach`, `status` (text
// and JSON), `restart <node>`, `top`, `stop`, and a foreground `cluster up` that answers `status` too.
// The detached launcher outlives the command that started it, so each test kills it (and its nodes)
// by pid afterwards, whatever happened.
import { afterEach, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { ClusterStatus } from "../lib/_control.ts";
import { defaultRunDir } from "../lib/_run-dir.ts";
import { isRunning, spawnBun, waitFor } from "./helpers.ts";

const CLI = new URL("../lib/cli.ts", import.meta.url).pathname;
const RUNTIME = new URL("../lib/runtime.ts", import.meta.url).pathname;

/** Pids to kill after each test: detached launchers and their nodes. */
const leftovers = new Set<number>();
afterEach(() => {
  for (const pid of leftovers)
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // gone already
    }
  leftovers.clear();
});

/** A cluster file of four nodes whose manager and workers print node_up and node_down. */
function clusterFile(): { dir: string; file: string; runDir: string } {
  const dir = mkdtempSync(join(tmpdir(), "control-"));
  writeFileSync(
    join(dir, "node.ts"),
    `import { runNode } from ${JSON.stringify(RUNTIME)};
await runNode((node) => {
  node.on("Cluster::node_up", (name: string) => console.log("node_up " + name));
  node.on("Cluster::node_down", (name: string) => console.log("node_down " + name));
});
`,
  );
  const file = join(dir, "cluster.json");
  writeFileSync(
    file,
    JSON.stringify({
      nodes: {
        manager: { type: "manager", ip: "127.0.0.1" },
        logger: { type: "logger", ip: "127.0.0.1", port: 27762 },
        "worker-1": { type: "worker", ip: "127.0.0.1" },
        "worker-2": { type: "worker", ip: "127.0.0.1" },
      },
      scripts: { manager: "./node.ts", worker: "./node.ts" },
    }),
  );
  return { dir, file, runDir: join(dir, "run") };
}

/** Runs one CLI command to its end; its output lines and exit code. */
async function cli(...args: string[]): Promise<{ code: number; lines: string[]; out: string }> {
  const child = spawnBun([CLI, ...args]);
  const code = await child.exited(60_000);
  return { code, lines: child.lines, out: child.lines.join("\n") };
}

/** `cluster status --json`, with every pid it names marked for killing. */
async function status(runDir: string): Promise<ClusterStatus> {
  const { code, out } = await cli("cluster", "status", "--run-dir", runDir, "--json");
  expect(code).toBe(0);
  const s = JSON.parse(out) as ClusterStatus;
  for (const pid of [s.pid, ...s.nodes.map((n) => n.pid)]) leftovers.add(pid);
  return s;
}

const launcherPid = (runDir: string) => Number(readFileSync(join(runDir, "launcher.pid"), "utf8"));
const logLines = (runDir: string) => readFileSync(join(runDir, "launcher.log"), "utf8").split("\n");

describe("cluster up --detach", () => {
  test("returns once ready; status, restart of one node, top and stop work on the launcher in the background", async () => {
    const { file, runDir } = clusterFile();
    const up = await cli("cluster", "up", file, "--isolated", "--detach", "--run-dir", runDir);
    if (existsSync(join(runDir, "launcher.pid"))) leftovers.add(launcherPid(runDir));
    expect(up.code).toBe(0);
    expect(up.lines[0]).toMatch(/^cluster: ready in \d+ ms, running in the background \(launcher pid \d+\)$/);
    expect(up.out).toContain(`cluster: run dir ${runDir} (output in ${runDir}/launcher.log)`);
    const pid = launcherPid(runDir);
    expect(isRunning(pid)).toBe(true); // outlived the command

    // JSON: every node, up, with its pid; rates, drops and RSS once the first stats report is in.
    const first = await status(runDir);
    expect(first).toMatchObject({ file, runDir, pid, ready: true, stopping: false });
    expect(first.nodes.map((n) => [n.name, n.type, n.state, n.restarts])).toEqual([
      ["manager", "manager", "up", 0],
      ["logger", "logger", "up", 0],
      ["worker-1", "worker", "up", 0],
      ["worker-2", "worker", "up", 0],
    ]);
    for (const n of first.nodes) expect(isRunning(n.pid)).toBe(true);
    const reported = await waitFor(
      async () => {
        const s = await status(runDir);
        return s.nodes.every((n) => n.rssBytes !== null) ? s : undefined;
      },
      "every node's first stats report",
      10_000,
    );
    for (const n of reported.nodes) {
      expect(n.rssBytes).toBeGreaterThan(1_000_000);
      expect(n.drops).toBe(0);
      expect(n.eventsInPerSec).toBeGreaterThanOrEqual(0);
      expect(Date.parse(n.upSince!)).toBeGreaterThan(0);
    }

    // Text: a line about the cluster, then a table row per node.
    const text = await cli("cluster", "status", "--run-dir", runDir);
    expect(text.code).toBe(0);
    expect(text.lines[0]).toBe(
      `cluster ${file}: ready, 4/4 nodes up · launcher pid ${pid} since ${text.lines[0]!.match(/since (\S+)/)![1]} · run dir ${runDir}`,
    );
    expect(text.lines[2]).toMatch(/^NODE\s+TYPE\s+PID\s+STATE\s+UP SINCE\s+RESTARTS\s+IN\/S\s+OUT\/S\s+DROPS\s+RSS$/);
    const worker1 = first.nodes.find((n) => n.name === "worker-1")!;
    expect(text.lines.find((l) => l.startsWith("worker-1 "))).toMatch(
      new RegExp(`^worker-1\\s+worker\\s+${worker1.pid}\\s+up\\s+\\S+\\s+0\\s+\\d+\\s+\\d+\\s+0\\s+[\\d.]+ MB$`),
    );

    // Restart one node: a new process; the others see node_down, then node_up for it.
    const before = logLines(runDir).length - 1; // the last "line" is what follows the last newline
    const restart = await cli("cluster", "restart", "worker-1", "--run-dir", runDir);
    expect(restart.code).toBe(0);
    expect(restart.lines[0]).toMatch(/^cluster: worker-1 restarted \(pid \d+, restart 1\)$/);
    const newPid = Number(restart.lines[0]!.match(/pid (\d+)/)![1]);
    leftovers.add(newPid);
    expect(newPid).not.toBe(worker1.pid);
    expect(isRunning(worker1.pid)).toBe(false);
    for (const other of ["manager", "worker-2"]) {
      const seen = () => logLines(runDir).slice(before);
      const down = await waitFor(
        () => seen().findIndex((l) => new RegExp(`^${other}\\s+\\| node_down worker-1$`).test(l)) + 1,
        `${other} seeing node_down worker-1`,
        10_000,
      );
      await waitFor(
        () => seen().findIndex((l, i) => i >= down && new RegExp(`^${other}\\s+\\| node_up worker-1$`).test(l)) >= 0,
        `${other} seeing node_up worker-1 after its node_down`,
        10_000,
      );
    }
    const after = await waitFor(
      async () => {
        const s = await status(runDir);
        return s.ready ? s : undefined;
      },
      "the cluster ready again",
      10_000,
    );
    expect(after.nodes.find((n) => n.name === "worker-1")).toMatchObject({ pid: newPid, state: "up", restarts: 1 });

    // top where stdout is no terminal: one view, or one after another until --duration.
    const once = await cli("cluster", "top", "--once", "--run-dir", runDir);
    expect(once.code).toBe(0);
    expect(once.lines[0]).toMatch(/^zeek-zmq-cluster top · \d\d:\d\d:\d\d · every 1 s$/);
    expect(once.lines.filter((l) => l.startsWith("zeek-zmq-cluster top"))).toHaveLength(1);
    const frames = await cli("cluster", "top", "--duration", "2.5", "--interval", "500", "--run-dir", runDir);
    expect(frames.code).toBe(0);
    expect(frames.lines.filter((l) => l.startsWith("zeek-zmq-cluster top")).length).toBeGreaterThanOrEqual(3);
    expect(frames.out).not.toContain("\x1b["); // no terminal control where there is no terminal

    // Stop: in order, and the command returns once the launcher has exited.
    const nodes = after.nodes.map((n) => n.pid);
    const stop = await cli("cluster", "stop", "--run-dir", runDir);
    expect(stop.code).toBe(0);
    expect(stop.lines).toEqual([
      `cluster: stopping (launcher pid ${pid}): workers first, then the manager, then the loggers`,
      "cluster: stopped",
    ]);
    expect(isRunning(pid)).toBe(false);
    await waitFor(() => nodes.every((p) => !isRunning(p)), "every node process gone");
    expect(logLines(runDir)).toContain("cluster: stopped");
    expect(existsSync(join(runDir, "control.sock"))).toBe(false);
    expect(existsSync(join(runDir, "launcher.pid"))).toBe(false);
    const none = await cli("cluster", "status", "--run-dir", runDir);
    expect(none.code).toBe(1);
    expect(none.out).toContain(`cluster: no cluster runs from ${runDir}`);
  });

  test("a cluster that cannot start makes --detach exit 1 with the end of the launcher's output", async () => {
    const { dir, file, runDir } = clusterFile();
    writeFileSync(join(dir, "node.ts"), 'throw new Error("this node is broken on purpose");\n');
    const up = await cli("cluster", "up", file, "--isolated", "--detach", "--run-dir", runDir);
    expect(up.code).toBe(1);
    expect(up.out).toMatch(/^cluster: the cluster did not start \(the launcher, pid \d+, ended\); the end of /m);
    expect(up.out).toContain("this node is broken on purpose");
    expect(up.out).toMatch(/exited while starting/);
  });

  test("a second launcher for the same run directory is refused, naming the first", async () => {
    const { file, runDir } = clusterFile();
    const up = await cli("cluster", "up", file, "--isolated", "--detach", "--run-dir", runDir);
    leftovers.add(launcherPid(runDir));
    expect(up.code).toBe(0);
    await status(runDir);
    const again = await cli("cluster", "up", file, "--isolated", "--detach", "--run-dir", runDir);
    expect(again.code).toBe(1);
    expect(again.out).toContain(`a launcher (pid ${launcherPid(runDir)}) already runs from ${runDir}`);
    expect((await cli("cluster", "stop", "--run-dir", runDir)).code).toBe(0);
  });
});

describe("cluster up in the foreground", () => {
  test("answers status by its cluster file, and gives its run directory up when it stops", async () => {
    const { file } = clusterFile();
    const runDir = defaultRunDir(file);
    const up = spawnBun([CLI, "cluster", "up", file, "--isolated"]);
    await up.waitForLine(/^cluster ready in \d+ ms$/, 20_000);
    const s = await cli("cluster", "status", file, "--json");
    expect(s.code).toBe(0);
    const parsed = JSON.parse(s.out) as ClusterStatus;
    expect(parsed).toMatchObject({ file, runDir, pid: up.proc.pid, ready: true });
    up.proc.kill("SIGINT");
    expect(await up.exited(15_000)).toBe(0);
    expect(existsSync(join(runDir, "control.sock"))).toBe(false);
    const none = await cli("cluster", "status", file);
    expect(none.code).toBe(1);
    expect(none.out).toContain("cluster: no cluster runs from");
  });
});
