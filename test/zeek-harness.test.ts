// The Zeek harness: real Zeek nodes find each other through a Zeek manager's proxy or through this
// library's Broker, print lines a test reads, log remotely over ipc, and are all gone after stop().
import { afterEach, describe, expect, test } from "bun:test";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { validateLayout } from "../lib/layout.ts";
import { Broker } from "../lib/proxy.ts";
import { makeNode } from "./cluster-helpers.ts";
import { childPids, isRunning, waitFor } from "./helpers.ts";
import {
  type MixedCluster,
  mixedCluster,
  startZeek,
  stopZeekClusters,
  ZEEK,
  ZEEK_MISSING,
  type ZeekNode,
} from "./zeek-harness.ts";

afterEach(stopZeekClusters);

/** A Zeek script that prints every node_up as `node_up <name> <id>`. */
const PRINT_NODE_UP = `event Cluster::node_up(name: string, id: string) { print fmt("node_up %s %s", name, id); }`;

const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

/** Waits until `a` and `b` each saw the other's node_up, with the other's id. */
async function expectMutualNodeUp(a: ZeekNode, b: ZeekNode): Promise<void> {
  await Promise.all([
    a.waitForLine(new RegExp(`^node_up ${escapeRegExp(b.name)} ${escapeRegExp(b.id)}$`), 5000),
    b.waitForLine(new RegExp(`^node_up ${escapeRegExp(a.name)} ${escapeRegExp(a.id)}$`), 5000),
  ]);
}

/** Starts the manager and worker-1 of `cluster` at the same time, with `script` on both. */
function startPair(cluster: MixedCluster, script = PRINT_NODE_UP): Promise<[ZeekNode, ZeekNode]> {
  return Promise.all([startZeek("manager", script, cluster), startZeek("worker-1", script, cluster)]);
}

const twoZeeks = { manager: { type: "manager", impl: "zeek" }, "worker-1": { type: "worker", impl: "zeek" } } as const;

describe("a mixed cluster's settings (no Zeek needed)", () => {
  test("Bun nodes get the cluster's ipc endpoints, a layout the library accepts and the log sink's endpoint", () => {
    const cluster = mixedCluster({
      nodes: { ...twoZeeks, logger: { type: "logger", impl: "bun" }, "worker-2": { type: "worker", impl: "bun" } },
    });
    const { xsub, xpub, logs } = cluster.endpoints;
    expect(xsub).toStartWith(`ipc://${cluster.dir}/`);
    expect(logs).toEqual({ logger: `ipc://${join(cluster.dir, "log-logger")}` });
    expect(validateLayout(cluster.layout).managerIsLogger).toBe(false);
    expect(cluster.bunOptions("worker-2")).toMatchObject({
      name: "worker-2",
      layout: cluster.layout,
      connectXpubEndpoint: xsub,
      connectXsubEndpoint: xpub,
      runProxyThread: false,
      connectLogEndpoints: [logs.logger],
    });
    expect(cluster.bunOptions("logger")).toMatchObject({
      listenLogEndpoint: logs.logger,
      logging: { dir: join(cluster.dir, "logger") },
    });
    expect(() => cluster.bunOptions("manager")).toThrow("is a zeek node");
    expect(() => cluster.zeekPreamble("worker-2")).toThrow("is a bun node");
    const layoutFile = readFileSync(join(cluster.dir, "cluster-layout.zeek"), "utf8");
    expect(layoutFile).toContain(`["worker-2"] = [$node_type=Cluster::WORKER, $ip=127.0.0.1]`);
    expect(layoutFile).toContain("redef Cluster::manager_is_logger = F;");
    expect(cluster.zeekPreamble("worker-1")).toContain(`connect_log_endpoints = vector("${logs.logger}");`);
  });

  test("the manager runs the proxy unless the broker is external", () => {
    const own = mixedCluster({ nodes: { ...twoZeeks, "worker-2": { type: "worker", impl: "bun" } } });
    expect(own.zeekPreamble("manager")).toContain("run_proxy_thread = T;");
    expect(own.zeekPreamble("manager")).toContain(`listen_log_endpoint = "${own.endpoints.logs.manager}";`);
    expect(own.zeekPreamble("worker-1")).toContain("run_proxy_thread = F;");
    const external = mixedCluster({
      nodes: { manager: { type: "manager", impl: "bun" }, "worker-1": { type: "worker", impl: "zeek" } },
      broker: "external",
    });
    expect(external.bunOptions("manager").runProxyThread).toBe(false);
    expect(external.brokerOptions()).toEqual({
      listenXsubEndpoint: external.endpoints.xsub,
      listenXpubEndpoint: external.endpoints.xpub,
    });
  });
});

describe.skipIf(!ZEEK)(`real Zeek nodes${ZEEK ? "" : ` (skipped: ${ZEEK_MISSING})`}`, () => {
  test("a Zeek manager running the proxy and a Zeek worker see each other node_up", async () => {
    const [manager, worker] = await startPair(mixedCluster({ nodes: twoZeeks }));
    await expectMutualNodeUp(manager, worker);
    expect(manager.startMs).toBeLessThan(5000);
  });

  test("with the proxy off, two Zeek nodes see each other node_up through this library's Broker", async () => {
    const cluster = mixedCluster({ nodes: twoZeeks, broker: "external" });
    const broker = new Broker(cluster.brokerOptions());
    try {
      expect(await broker.start()).toEqual({ xsub: cluster.endpoints.xsub, xpub: cluster.endpoints.xpub });
      const [manager, worker] = await startPair(cluster);
      await expectMutualNodeUp(manager, worker);
      // The hellos went through the Bun broker, not through a proxy thread of the Zeek manager.
      expect((await broker.statistics()).frontend.messagesReceived).toBeGreaterThan(0);
      expect(readFileSync(join(manager.dir, "manager.zeek"), "utf8")).toContain("run_proxy_thread = F;");
    } finally {
      await stopZeekClusters(); // the nodes first, so they don't reconnect to a stopped broker
      await broker.stop();
    }
  });

  test("a Bun node joins with bunOptions through the Zeek manager's proxy", async () => {
    const cluster = mixedCluster({ nodes: { ...twoZeeks, "worker-2": { type: "worker", impl: "bun" } } });
    const [manager, worker] = await startPair(cluster);
    await expectMutualNodeUp(manager, worker);
    // start() resolves once the broker echoed the node's subscription: Zeek's proxy forwards for it.
    const bun = makeNode({ ...cluster.bunOptions("worker-2"), readyTimeout: 5000 });
    await bun.start();
    expect(bun.reports).toEqual([]);
  });

  test("a Zeek node's print reaches the test; the worker's logs reach the manager's PULL over ipc", async () => {
    const cluster = mixedCluster({ nodes: twoZeeks });
    const [manager, worker] = await Promise.all([
      startZeek("manager", PRINT_NODE_UP, cluster),
      startZeek(
        "worker-1",
        `${PRINT_NODE_UP}\nevent zeek_init() { print fmt("hello from %s", Cluster::node); }`,
        cluster,
      ),
    ]);
    await worker.waitForLine(/^hello from worker-1$/, 2000);
    await expectMutualNodeUp(manager, worker);
    // The worker's cluster.log record ("got hello from manager") is written by the manager, the
    // log sink; Zeek flushes it at the latest when it terminates.
    await worker.stop();
    expect(await manager.stop()).toEqual({ code: 0, signal: null });
    const log = readFileSync(join(manager.dir, "cluster.log"), "utf8");
    expect(log).toContain("\tworker-1\tgot hello from manager");
    expect(log).toContain("\tmanager\tgot hello from worker-1");
    expect(existsSync(join(worker.dir, "cluster.log"))).toBe(false);
  });

  test("a forgotten Zeek node terminates itself after safetyTimeoutSec", async () => {
    const node = await startZeek(
      "manager",
      "",
      mixedCluster({ nodes: { manager: { type: "manager", impl: "zeek" } }, safetyTimeoutSec: 0.3 }),
    );
    expect(await node.exited(3000)).toBe(0);
    expect(node.lines).toContain("zeek-harness: safety timeout");
  });

  test("stop() ends every Zeek process by its pid, SIGKILL after the grace period, and removes the dir", async () => {
    const cluster = mixedCluster({ nodes: twoZeeks });
    const [manager, worker] = await startPair(cluster);
    const pids = [manager.proc.pid, worker.proc.pid];
    // The pid is Zeek's own: env and stdbuf exec it.
    for (const pid of pids) expect(readFileSync(`/proc/${pid}/comm`, "utf8").trim()).toBe("zeek");
    expect(childPids()).toEqual(expect.arrayContaining(pids));
    // A stopped process cannot act on SIGTERM; only the SIGKILL after the grace period ends it.
    process.kill(worker.proc.pid, "SIGSTOP");
    expect(await worker.stop(300)).toEqual({ code: null, signal: "SIGKILL" });
    await cluster.stop();
    expect(manager.proc.exitCode).toBe(0);
    await waitFor(() => pids.every((pid) => !isRunning(pid)), "both Zeek pids to be gone", 2000);
    expect(childPids().filter((pid) => pids.includes(pid))).toEqual([]);
    expect(existsSync(cluster.dir)).toBe(false);
  });
});
