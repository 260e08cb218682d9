// One cluster file for many hosts: which nodes a launcher runs with `host`, the broker endpoints a
// layout derives from the manager's ip, and two launchers on two loopback "hosts" (127.0.0.1 and
// 127.0.0.2, both local on Linux) that together make one ready cluster. The same over real links,
// in network namespaces, is test/multihost.test.ts.
import { describe, expect, test } from "bun:test";
import { mkdtempSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { nodesOnHost } from "../lib/_launch-plan.ts";
import { type ClusterFile, validateClusterFile } from "../lib/cluster-file.ts";
import { type ClusterLayout, nodeConfig } from "../lib/layout.ts";
import { launchCluster } from "./cluster-helpers.ts";
import { spawnBun, waitFor } from "./helpers.ts";

const CLI = new URL("../lib/cli.ts", import.meta.url).pathname;

const FILE = validateClusterFile(
  {
    nodes: {
      manager: { type: "manager", ip: "10.0.0.1", port: 27762 },
      "worker-1": { type: "worker", ip: "10.0.0.2", host: "sensor-1" },
      "worker-2": { type: "worker", ip: "10.0.0.2", host: "sensor-1" },
      "worker-3": { type: "worker", ip: "fd00::3" },
    },
  },
  "/",
);
const resolver = (table: Record<string, string[]>) => async (name: string) => {
  if (!table[name]) throw new Error(`ENOTFOUND ${name}`);
  return table[name];
};

describe("which nodes run on a host", () => {
  test("without a host: every node, in layout order", async () => {
    expect(await nodesOnHost(FILE, undefined)).toEqual(["manager", "worker-1", "worker-2", "worker-3"]);
  });

  test("a node's ip, in any spelling of the address", async () => {
    expect(await nodesOnHost(FILE, "10.0.0.2")).toEqual(["worker-1", "worker-2"]);
    expect(await nodesOnHost(FILE, "fd00:0:0::0003")).toEqual(["worker-3"]);
  });

  test("a node's host name from the file, case-insensitively, before any lookup", async () => {
    const never = async (name: string): Promise<string[]> => {
      throw new Error(`looked up ${name}`);
    };
    expect(await nodesOnHost(FILE, "SENSOR-1", never)).toEqual(["worker-1", "worker-2"]);
  });

  test("another name is resolved, and matches the nodes with one of its addresses", async () => {
    const dns = resolver({ "mgr.example": ["192.0.2.9", "10.0.0.1"], "six.example": ["FD00::3"] });
    expect(await nodesOnHost(FILE, "mgr.example", dns)).toEqual(["manager"]);
    expect(await nodesOnHost(FILE, "six.example", dns)).toEqual(["worker-3"]);
  });

  test("a host without nodes is a RangeError that lists the file's hosts", async () => {
    const dns = resolver({ "debian-box": ["127.0.1.1"] });
    await expect(nodesOnHost(FILE, "10.0.0.9", dns)).rejects.toThrow(
      "Invalid host '10.0.0.9': no node of the cluster file runs there; its hosts are 10.0.0.1, sensor-1 (10.0.0.2), fd00::3",
    );
    await expect(nodesOnHost(FILE, "debian-box", dns)).rejects.toThrow("('debian-box' resolves to 127.0.1.1)");
    await expect(nodesOnHost(FILE, "nowhere", dns)).rejects.toThrow("('nowhere' resolves to nothing)");
  });

  test("a host name in the file must be a name", () => {
    const file = (host: unknown) => ({ nodes: { manager: { type: "manager", ip: "10.0.0.1", port: 1, host } } });
    expect(() => validateClusterFile(file("a b") as ClusterFile, "/")).toThrow(
      'Invalid cluster file: nodes["manager"].host: expected a host name, got "a b"',
    );
    expect(() => validateClusterFile(file(7) as ClusterFile, "/")).toThrow(TypeError);
  });
});

describe("broker endpoints derived from the layout (as zeekctl does)", () => {
  const layout: ClusterLayout = {
    nodes: {
      manager: { type: "manager", ip: "10.0.0.1", port: 27762 },
      "worker-1": { type: "worker", ip: "10.0.0.2" },
    },
  };
  const endpoints = (name: string, options = {}, env = {}) => {
    const c = nodeConfig(layout, name, options, env);
    return [c.listenXsubEndpoint, c.listenXpubEndpoint, c.connectXpubEndpoint, c.connectXsubEndpoint];
  };

  test("the broker listens on the manager's ip and every node connects there, on Zeek's ports", () => {
    const all = ["tcp://10.0.0.1:5556", "tcp://10.0.0.1:5555", "tcp://10.0.0.1:5556", "tcp://10.0.0.1:5555"];
    expect(endpoints("manager")).toEqual(all);
    expect(endpoints("worker-1")).toEqual(all);
    const six = { nodes: { manager: { type: "manager", ip: "fd00::1", port: 1 } } } as const;
    expect(nodeConfig(six, "manager", {}, {}).connectXsubEndpoint).toBe("tcp://[fd00::1]:5555");
  });

  test("a broker listening elsewhere is connected to there; a wildcard host means the manager's ip", () => {
    const options = { listenXsubEndpoint: "tcp://*:7001", listenXpubEndpoint: "tcp://10.0.0.7:7000" };
    expect(endpoints("worker-1", options).slice(2)).toEqual(["tcp://10.0.0.1:7001", "tcp://10.0.0.7:7000"]);
    const ipc = { listenXsubEndpoint: "ipc:///run/zeek/xsub", listenXpubEndpoint: "tcp://0.0.0.0:*" };
    // A free port cannot be known in advance: that endpoint keeps its default.
    expect(endpoints("worker-1", ipc).slice(2)).toEqual(["ipc:///run/zeek/xsub", "tcp://127.0.0.1:5555"]);
  });

  test("explicit connect endpoints, in options or the environment, win", () => {
    const env = { ZEEK_CLUSTER_BACKEND_ZEROMQ_CONNECT_XSUB_ENDPOINT: "tcp://192.0.2.1:1" };
    expect(endpoints("worker-1", { connectXpubEndpoint: "tcp://192.0.2.1:2" }, env).slice(2)).toEqual([
      "tcp://192.0.2.1:2",
      "tcp://192.0.2.1:1",
    ]);
  });
});

/** A TCP port that was free a moment ago. */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe("launchers on two hosts", () => {
  test("each starts only its host's nodes; both are ready once every node saw every other", async () => {
    const [xsub, xpub, logs, metrics] = [await freePort(), await freePort(), await freePort(), await freePort()];
    const file: ClusterFile = {
      nodes: {
        manager: { type: "manager", ip: "127.0.0.1", port: logs },
        "worker-1": { type: "worker", ip: "127.0.0.2", metricsPort: metrics },
        "worker-2": { type: "worker", ip: "127.0.0.2" },
      },
      // The broker on its own ports; the nodes find it from these and the manager's ip.
      options: { listenXsubEndpoint: `tcp://127.0.0.1:${xsub}`, listenXpubEndpoint: `tcp://*:${xpub}` },
    };
    const one = await launchCluster(file, { isolated: false, host: "127.0.0.1", readyTimeout: 4000 });
    expect([...one.nodes.keys()]).toEqual(["manager"]);
    expect(one.local).toEqual(["manager"]);
    // Alone, the manager's host is not ready: its node has not seen the other host's nodes.
    const alone = await one.ready().then(
      () => "ready",
      (e: Error) => e.message,
    );
    expect(alone).toBe("Cluster not ready after 4000 ms: manager has not seen worker-1, worker-2");
    const two = await launchCluster(file, { isolated: false, host: "127.0.0.2" });
    expect([...two.nodes.keys()]).toEqual(["worker-1", "worker-2"]);
    expect(await two.ready()).toBeGreaterThan(0);
    expect(await one.ready()).toBeGreaterThan(0);
    expect([...two.nodes.get("worker-1")!.up].sort()).toEqual(["manager", "worker-2"]);
    // Metrics are served on the node's own ip, for a Prometheus elsewhere.
    expect(two.nodes.get("worker-1")!.metricsUrl).toBe(`http://127.0.0.2:${metrics}/`);
    // Stopping one host stops only its nodes; the other host sees them go.
    await two.stop();
    await waitFor(() => one.nodes.get("manager")!.up.size === 0, "node_down for both workers on the manager");
    expect(one.nodes.get("manager")!.proc.exitCode).toBeNull();
  }, 60_000);

  test("isolated and host do not go together", async () => {
    const file = { nodes: { manager: { type: "manager" as const, ip: "127.0.0.1", port: 1 } } };
    await expect(launchCluster(file, { host: "127.0.0.1" })).rejects.toThrow(/'isolated' .* 'host'/);
  });
});

describe("cluster up --host", () => {
  test("a host with no node of the file is refused, naming the file's hosts", async () => {
    const dir = mkdtempSync(join(tmpdir(), "hosts-"));
    const file = join(dir, "cluster.json");
    writeFileSync(file, JSON.stringify({ nodes: { manager: { type: "manager", ip: "127.0.0.1", port: 27762 } } }));
    const cli = spawnBun([CLI, "cluster", "up", file, "--host", "10.9.9.9"]);
    expect(await cli.exited(15_000)).toBe(1);
    expect(cli.lines).toContain(
      "cluster: Invalid host '10.9.9.9': no node of the cluster file runs there; its hosts are 127.0.0.1",
    );
  });
});
