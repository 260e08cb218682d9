import { describe, expect, test } from "bun:test";
import { Pool } from "../lib/pools.ts";
import { ClusterNode } from "../lib/pubsub.ts";
import { layoutOf, makeNode, startManager, via } from "./cluster-helpers.ts";
import { waitFor } from "./helpers.ts";

const KEYS = Array.from({ length: 2000 }, (_, i) => `10.${i >> 8}.${i & 255}.1`);
const PROXIES = ["proxy-1", "proxy-2", "proxy-3", "proxy-4"];
const layout = layoutOf({
  "proxy-1": "proxy",
  "proxy-2": "proxy",
  "proxy-3": "proxy",
  "proxy-4": "proxy",
  "worker-1": "worker",
});

/** A worker node, never started: membership comes from node_up/node_down raised locally. */
function poolOnIdleWorker(): { node: ClusterNode; pool: Pool } {
  const node = new ClusterNode({ name: "worker-1", layout });
  const pool = new Pool(node, "proxy");
  for (const p of PROXIES) node.raise("Cluster::node_up", [p, `id-${p}`]);
  return { node, pool };
}

const owners = (pool: Pool) => new Map(KEYS.map((k) => [k, pool.hrw(k)]));

describe("Pool (membership through node_up/node_down)", () => {
  test("members come from the layout; only nodes that are up are alive", () => {
    const node = new ClusterNode({ name: "worker-1", layout });
    const pool = new Pool(node, "proxy");
    expect(pool.members).toEqual(PROXIES);
    expect(pool.alive).toEqual([]);
    expect(pool.hrw("k")).toBeUndefined();
    expect(pool.publishHrw("k", "e")).toBe(false);
    node.raise("Cluster::node_up", ["proxy-2", "x"]);
    node.raise("Cluster::node_up", ["manager", "y"]);
    expect(pool.alive).toEqual(["proxy-2"]);
  });

  test("HRW spreads keys evenly and moves only the keys of a member that goes down", () => {
    const { node, pool } = poolOnIdleWorker();
    const before = owners(pool);
    for (const p of PROXIES)
      expect([...before.values()].filter((o) => o === p).length).toBeGreaterThan((KEYS.length / 4) * 0.8);
    node.raise("Cluster::node_down", ["proxy-3", "id-proxy-3"]);
    const during = owners(pool);
    for (const k of KEYS) {
      if (before.get(k) === "proxy-3") expect(during.get(k)).not.toBe("proxy-3");
      else expect(during.get(k)).toBe(before.get(k)!);
    }
    node.raise("Cluster::node_up", ["proxy-3", "id-proxy-3b"]);
    expect(owners(pool)).toEqual(before);
  });

  test("the same key maps to the same member in every process (the hash is not per process)", () => {
    const { pool } = poolOnIdleWorker();
    const here = KEYS.slice(0, 50).map((k) => pool.hrw(k));
    const script = `
      import { Pool } from "${new URL("../lib/pools.ts", import.meta.url).pathname}";
      import { ClusterNode } from "${new URL("../lib/pubsub.ts", import.meta.url).pathname}";
      const node = new ClusterNode({ name: "worker-1", layout: ${JSON.stringify(layout)} });
      const pool = new Pool(node, "proxy");
      for (const p of ${JSON.stringify(PROXIES)}) node.raise("Cluster::node_up", [p, "id"]);
      console.log(JSON.stringify(${JSON.stringify(KEYS.slice(0, 50))}.map((k) => pool.hrw(k))));`;
    const there = Bun.spawnSync([process.execPath, "-e", script]).stdout.toString().trim();
    expect(JSON.parse(there)).toEqual(here);
  });

  test("round-robin visits each alive member in turn", () => {
    const { node, pool } = poolOnIdleWorker();
    expect(Array.from({ length: 8 }, () => pool.rr())).toEqual([...PROXIES, ...PROXIES]);
    node.raise("Cluster::node_down", ["proxy-1", "id-proxy-1"]);
    const next = Array.from({ length: 6 }, () => pool.rr());
    expect(new Set(next)).toEqual(new Set(["proxy-2", "proxy-3", "proxy-4"]));
  });
});

describe("Pool across a real cluster", () => {
  test("publishHrw delivers each key to its owner, and a key stays there until that proxy goes down", async () => {
    const manager = await startManager(layout);
    const received = new Map<string, string[]>();
    const proxies = PROXIES.map((name) => {
      const proxy = makeNode({ name, layout, ...via(manager) });
      received.set(name, []);
      proxy.on("observe", (key: string) => received.get(name)!.push(key));
      return proxy;
    });
    const worker = makeNode({ name: "worker-1", layout, ...via(manager) });
    await Promise.all([...proxies, worker].map((n) => n.start()));
    const pool = new Pool(worker, "proxy");
    await waitFor(() => pool.alive.length === 4, "all proxies up on the worker");
    const keys = KEYS.slice(0, 400);
    const first = new Map(keys.map((k) => [k, pool.hrw(k)!]));
    for (const k of keys) expect(pool.publishHrw(k, "observe", [k])).toBe(true);
    await waitFor(() => [...received.values()].flat().length === keys.length, "every observation delivered");
    for (const [name, got] of received) expect(got.every((k) => first.get(k) === name)).toBe(true);

    await proxies[1]!.stop(); // proxy-2 goes away: the worker sees node_down
    await waitFor(() => pool.alive.length === 3, "proxy-2 down on the worker");
    for (const k of keys) {
      const owner = pool.hrw(k)!;
      if (first.get(k) === "proxy-2") expect(owner).not.toBe("proxy-2");
      else expect(owner).toBe(first.get(k)!);
    }
    for (const list of received.values()) list.length = 0;
    for (const k of keys) pool.publishHrw(k, "observe", [k]);
    await waitFor(() => [...received.values()].flat().length === keys.length, "every observation delivered again");
    expect(received.get("proxy-2")).toEqual([]);
  });
});
