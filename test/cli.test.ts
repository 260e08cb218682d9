import { describe, expect, test } from "bun:test";
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { childProcesses, isRunning, spawnBun, spawnChild, waitFor } from "./helpers.ts";

const CLI = new URL("../lib/cli.ts", import.meta.url).pathname;
const FIVE = new URL("./fixtures/cluster/five.json", import.meta.url).pathname;
const EXAMPLES = new URL("../scripts/examples/", import.meta.url).pathname;

/** The node processes a CLI runs (zombies of killed ones count as gone). */
const runningChildren = (pid: number) =>
  childProcesses(pid)
    .filter((c) => !c.zombie)
    .map((c) => c.pid);

describe("cluster up", () => {
  test("Ctrl-C stops every node in order and leaves no child process behind", async () => {
    const cli = spawnBun([CLI, "cluster", "up", FIVE, "--isolated", "--grace", "3000"]);
    await cli.waitForLine(/^cluster ready in \d+ ms$/, 20_000);
    const nodes = runningChildren(cli.proc.pid);
    expect(nodes).toHaveLength(5);
    cli.proc.kill("SIGINT");
    expect(await cli.exited(15_000)).toBe(0);
    expect(cli.lines).toContain("cluster: SIGINT, stopping");
    expect(cli.lines).toContain("cluster: stopped");
    await waitFor(() => nodes.every((p) => !isRunning(p)), "every node process gone");
  });

  test("a node that dies makes the command exit non-zero with a message naming it", async () => {
    const cli = spawnBun([CLI, "cluster", "up", FIVE, "--isolated", "--grace", "3000"]);
    await cli.waitForLine(/^cluster ready/, 20_000);
    const nodes = runningChildren(cli.proc.pid);
    // Which pid is worker-2 does not matter: any node dying unexpectedly fails the cluster.
    process.kill(nodes[nodes.length - 1]!, "SIGKILL");
    expect(await cli.exited(15_000)).toBe(1);
    expect(cli.lines.some((l) => /^cluster: node \S+ died \(signal SIGKILL\)$/.test(l))).toBe(true);
    expect(cli.lines).toContain("cluster: stopped after a node died");
    await waitFor(() => nodes.every((p) => !isRunning(p)), "every node process gone");
  });

  test("with --restart on-failure a killed node comes back", async () => {
    const cli = spawnBun([CLI, "cluster", "up", FIVE, "--isolated", "--restart", "on-failure"]);
    await cli.waitForLine(/^cluster ready/, 20_000);
    const victim = runningChildren(cli.proc.pid)[0]!;
    process.kill(victim, "SIGKILL");
    await cli.waitForLine(/^cluster: node \S+ died \(signal SIGKILL\), restarting it$/);
    await cli.waitForLine(/^cluster: node \S+ started again \(restart 1\)$/, 15_000);
    const now = runningChildren(cli.proc.pid);
    expect(now).toHaveLength(5);
    expect(now).not.toContain(victim);
    cli.proc.kill("SIGTERM");
    expect(await cli.exited(15_000)).toBe(0);
  });

  test("an invalid cluster file is refused with a message naming the node and field", async () => {
    const dir = mkdtempSync(join(tmpdir(), "cli-bad-"));
    const file = join(dir, "cluster.json");
    writeFileSync(
      file,
      JSON.stringify({
        nodes: { manager: { type: "manager", ip: "127.0.0.1" }, "worker-1": { type: "wrker", ip: "127.0.0.1" } },
      }),
    );
    const cli = spawnBun([CLI, "cluster", "up", file]);
    expect(await cli.exited()).toBe(1);
    expect(cli.lines.join("\n")).toMatch(/nodes\["worker-1"\]\.type.*wrker/);
  });

  test("usage errors exit 2 with the usage text", async () => {
    const cli = spawnBun([CLI, "cluster", "down"]);
    expect(await cli.exited()).toBe(2);
    expect(cli.lines.join("\n")).toContain("Usage:");
  });
});

describe("demo (the README's main command)", () => {
  test("reaches ready, moves events, writes logs, serves metrics, and exits 0 after --duration", async () => {
    const logs = mkdtempSync(join(tmpdir(), "demo-logs-"));
    const cli = spawnBun([CLI, "demo", "--duration", "5", "--isolated", "--log-dir", logs]);
    await cli.waitForLine(/^cluster ready in \d+ ms$/, 20_000);
    const url = (await cli.waitForLine(/^cluster: metrics at (http:\/\/\S+\/metrics)/))[1]!;
    const metrics = await fetch(url).then((r) => r.text());
    expect(metrics).toMatch(/^zeek_cluster_nodes_up\{node="manager"\} 4$/m);
    // Each node announces its metrics endpoint once it sees the manager; those may trail "ready" a little.
    const listed = async () =>
      (
        (await fetch(url.replace("/metrics", "/services.json")).then((r) => r.json())) as { targets: string[] }[]
      ).flatMap((s) => s.targets);
    const targets = await waitFor(
      async () => ((await listed()).length === 5 ? listed() : undefined),
      "5 targets in /services.json",
    );
    const names = await Promise.all(
      targets.map(
        async (t) =>
          (await fetch(`http://${t}/metrics`).then((r) => r.text())).match(
            /zeek_cluster_nodes_up\{node="([^"]+)"\}/,
          )?.[1],
      ),
    );
    expect(names.sort()).toEqual(["logger", "manager", "proxy", "worker-1", "worker-2"]);
    const summary = await cli.waitForLine(
      /^cluster: 5\/5 nodes up · (\d+) events\/s · (\d+) log records written · (\d+) drops$/,
      10_000,
    );
    expect(Number(summary[1])).toBeGreaterThan(0);
    expect(await cli.exited(20_000)).toBe(0);
    expect(cli.lines).toContain("cluster: 5 s passed, stopping");
    expect(cli.lines.filter((l) => l.includes("\x1b["))).toEqual([]); // not a terminal: no colours
    const files = readdirSync(logs);
    const pings = files.find((f) => f.startsWith("pings."))!;
    const records = readFileSync(join(logs, pings), "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as { worker: string; rtt: number });
    expect(records.length).toBeGreaterThan(100);
    expect(new Set(records.map((r) => r.worker))).toEqual(new Set(["worker-1", "worker-2"]));
    expect(readFileSync(join(logs, files.find((f) => f.startsWith("cluster."))!), "utf8")).toContain(
      '"message":"node up: worker-1"',
    );
  });
});

const SCRIPT = Bun.which("script"); // util-linux: runs a command on a pseudo-terminal

test.skipIf(!SCRIPT)("on a terminal, node prefixes are coloured", async () => {
  const cmd = [
    process.execPath,
    "--no-orphans",
    CLI,
    "demo",
    "--isolated",
    "--duration",
    "1",
    "--log-dir",
    mkdtempSync(join(tmpdir(), "demo-tty-")),
  ].join(" ");
  const tty = spawnChild([SCRIPT!, "-qec", cmd, "/dev/null"], { NO_COLOR: undefined });
  expect(await tty.exited(20_000)).toBe(0);
  const out = tty.lines.join("\n");
  expect(out).toMatch(/\x1b\[\d+mmanager +\|\x1b\[39m manager up/);
});

describe("example scripts run as written", () => {
  for (const [example, result] of [
    ["aggregation", /^manager +\| result: 3000 observations from 3 workers \(matches\); top: /],
    ["broadcast", /^manager +\| result: 10 broadcasts, each applied by all 4 workers/],
    ["sharding", /^manager +\| result: 300 keys over 3 proxies \(.*\), 0 on more than one$/],
  ] as const) {
    test(example, async () => {
      const logs = mkdtempSync(join(tmpdir(), `example-${example}-`));
      const run = spawnBun([join(EXAMPLES, `${example}.ts`)], { CLUSTER_LOG_DIR: logs });
      expect(await run.exited(30_000)).toBe(0);
      expect(run.lines.some((l) => result.test(l))).toBe(true);
      if (example === "aggregation") expect(readdirSync(logs).some((f) => f.startsWith("aggregation."))).toBe(true);
    });
  }
});
