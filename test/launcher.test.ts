import { describe, expect, test } from "bun:test";
import { mkdtempSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Cluster, withCluster } from "../lib/launcher.ts";
import { launchCluster } from "./cluster-helpers.ts";
import { childPids, waitFor } from "./helpers.ts";

const FIVE = new URL("./fixtures/cluster/five.json", import.meta.url).pathname;
const BROKEN = new URL("./fixtures/cluster/broken-node.ts", import.meta.url).pathname;
/** Node processes of this test process that still exist (as zombies too: Bun reaps its own children). */
const remaining = (pids: number[]) => childPids().filter((p) => pids.includes(p));

describe("Cluster.launch", () => {
  test("a 5-node layout comes up: every node sees node_up for the 4 others, and serves metrics", async () => {
    const cluster = await launchCluster(FIVE);
    const ms = await cluster.ready();
    expect(ms).toBeGreaterThan(0);
    for (const node of cluster.nodes.values()) {
      expect([...node.up].sort()).toEqual([...cluster.nodes.keys()].filter((n) => n !== node.name).sort());
    }
    for (const node of cluster.nodes.values()) {
      const text = await fetch(new URL("/metrics", node.metricsUrl)).then((r) => r.text());
      expect(text).toContain(`zeek_cluster_zeromq_xpub_drops_total{node="${node.name}"}`);
    }
    const pids = [...cluster.nodes.values()].map((n) => n.proc.pid);
    expect(childPids()).toEqual(expect.arrayContaining(pids));
    await cluster.stop();
    expect(remaining(pids)).toEqual([]);
    expect(cluster.deaths).toEqual([]);
  });

  test("a killed node is reported as a death, restarted, and node_up again everywhere", async () => {
    const deaths: string[] = [];
    const cluster = await launchCluster(FIVE, {
      restart: "on-failure",
      onDeath: (d) => deaths.push(`${d.name} ${d.signal} ${d.restarting}`),
    });
    await cluster.ready();
    const before = cluster.nodes.get("worker-1")!;
    const oldId = before.id;
    cluster.kill("worker-1", "SIGKILL");
    await waitFor(() => deaths.length > 0, "the death of worker-1");
    expect(deaths).toEqual(["worker-1 SIGKILL true"]);
    const restarted = () => {
      const now = cluster.nodes.get("worker-1")!;
      return now !== before && now.id !== undefined ? now : undefined;
    };
    const after = await waitFor(restarted, "worker-1 restarted", 15_000);
    expect(after.restarts).toBe(1);
    expect(after.id).not.toBe(oldId);
    await waitFor(
      () => [...cluster.nodes.values()].every((n) => n.up.size === 4),
      `node_up everywhere again (${[...cluster.nodes.values()].map((n) => `${n.name}:${[...n.up]}`).join(" ")})`,
      15_000,
    );
    expect(cluster.failed).toBe(false);
  });

  test("without restart, a dead node fails the cluster and every other node is stopped", async () => {
    const cluster = await launchCluster(FIVE, { onDeath: () => undefined });
    await cluster.ready();
    const pids = [...cluster.nodes.values()].map((n) => n.proc.pid);
    cluster.kill("proxy", "SIGKILL");
    await waitFor(() => cluster.failed, "the cluster to fail");
    expect(cluster.deaths.map((d) => [d.name, d.signal, d.restarting])).toEqual([["proxy", "SIGKILL", false]]);
    await cluster.stop();
    expect(remaining(pids)).toEqual([]);
  });

  test("a node stopped cleanly by someone else is recorded but fails nothing; the others see it go", async () => {
    const cluster = await launchCluster(FIVE, { onDeath: () => undefined });
    await cluster.ready();
    cluster.kill("worker-2", "SIGTERM"); // the node stops itself cleanly and exits 0
    await waitFor(() => cluster.deaths.length === 1, "the exit of worker-2");
    expect(cluster.deaths).toEqual([{ name: "worker-2", code: 0, signal: null, restarting: false }]);
    await waitFor(
      () => [...cluster.nodes.values()].filter((n) => n.name !== "worker-2").every((n) => !n.up.has("worker-2")),
      "node_down for worker-2 everywhere",
    );
    expect(cluster.failed).toBe(false);
    expect(
      [...cluster.nodes.values()]
        .filter((n) => n.proc.exitCode === null)
        .map((n) => n.name)
        .sort(),
    ).toEqual(["logger", "manager", "proxy", "worker-1"]);
  });

  test("a node script that fails at start-up rejects the launch, naming the node, and leaves nothing running", async () => {
    const file = {
      nodes: {
        manager: { type: "manager" as const, ip: "127.0.0.1", port: 27761 },
        "worker-1": { type: "worker" as const, ip: "127.0.0.1", script: BROKEN },
      },
    };
    const output: string[] = [];
    const before = new Set(childPids());
    const err = await Cluster.launch(file, { isolated: true, output: (n, l) => output.push(`${n} | ${l}`) }).catch(
      (e: Error) => e,
    );
    expect(err).toBeInstanceOf(Error);
    expect((err as Error & { code: string }).code).toBe("NODE_FAILED");
    expect((err as Error).message).toContain("Node 'worker-1' exited while starting (exit code 1)");
    await waitFor(() => output.some((l) => l.includes("broken on purpose")), "the script's error in the output");
    await waitFor(() => childPids().every((p) => before.has(p)), "no new child processes");
  });

  test("withCluster stops every process even when the callback throws, and removes its ipc directory", async () => {
    let pids: number[] = [];
    const dirsBefore = new Set(readdirSync(tmpdir()).filter((d) => d.startsWith("zcl-")));
    const err = await withCluster(
      FIVE,
      async (cluster) => {
        pids = [...cluster.nodes.values()].map((n) => n.proc.pid);
        throw new Error("the caller failed");
      },
      { isolated: true, output: "silent" },
    ).catch((e: Error) => e);
    expect((err as Error).message).toBe("the caller failed");
    expect(pids).toHaveLength(5);
    expect(remaining(pids)).toEqual([]);
    expect(readdirSync(tmpdir()).filter((d) => d.startsWith("zcl-") && !dirsBefore.has(d))).toEqual([]);
  });

  test("records written on any node land in the logger's directory", async () => {
    const dir = mkdtempSync(join(tmpdir(), "launcher-logs-"));
    const cluster = await launchCluster(new URL("../scripts/demo/cluster.json", import.meta.url).pathname, {
      env: { CLUSTER_LOG_DIR: dir },
    });
    await cluster.ready();
    await waitFor(() => readdirSync(dir).some((f) => f.startsWith("pings")), `pings.log in ${dir}`);
    await cluster.stop();
    const files = readdirSync(dir);
    expect(files.some((f) => /^pings\.\d{4}-.*\.log$/.test(f))).toBe(true);
    expect(files.some((f) => /^cluster\.\d{4}-.*\.log$/.test(f))).toBe(true);
  });

  test("bad launch options are RangeErrors naming the option", async () => {
    expect(Cluster.launch(FIVE, { restart: "sometimes" as "no" })).rejects.toThrow(
      /launch option 'restart'.*sometimes/,
    );
  });
});
