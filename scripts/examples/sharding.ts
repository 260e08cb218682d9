// Pool-based sharding (Zeek's Cluster::publish_hrw): workers send each observation to the proxy that
// owns its key by highest random weight, so every key is counted on exactly one proxy, whichever
// worker saw it. Each proxy reports its keys to the manager, which checks that no key landed twice.
//
//   bun scripts/examples/sharding.ts
import { Pool, runNode } from "../../mod.ts";
import { isNode, runExample } from "./run-example.ts";

const KEYS = 300;

if (!isNode) {
  const of = (type: "proxy" | "worker", n: number) =>
    Object.fromEntries(Array.from({ length: n }, (_, i) => [`${type}-${i + 1}`, { type, ip: "127.0.0.1" }]));
  await runExample({
    nodes: { manager: { type: "manager", ip: "127.0.0.1", port: 27761 }, ...of("proxy", 3), ...of("worker", 2) },
    scripts: { manager: import.meta.path, proxy: import.meta.path, worker: import.meta.path },
  });
}

const node = await runNode((node) => {
  const typeOf = (type: string) => Object.keys(node.layout!.nodes).filter((n) => node.layout!.nodes[n]!.type === type);
  if (node.type === "manager") {
    const owner = new Map<string, string>();
    const reported = new Set<string>();
    let twice = 0;
    node.on("Example::keys", (proxy: string, keys: string[]) => {
      reported.add(proxy);
      for (const key of keys) owner.has(key) ? twice++ : owner.set(key, proxy);
      if (reported.size < typeOf("proxy").length) return;
      const share = typeOf("proxy").map((p) => `${p}=${[...owner.values()].filter((o) => o === p).length}`);
      console.log(
        `result: ${owner.size} keys over ${reported.size} proxies (${share.join(" ")}), ${twice} on more than one`,
      );
    });
  } else if (node.type === "proxy") {
    const counts = new Map<string, number>();
    const done = new Set<string>();
    node.on("Example::observe", (key: string) => counts.set(key, (counts.get(key) ?? 0) + 1));
    node.on("Example::sent_all", (worker: string) => {
      if (done.add(worker).size === typeOf("worker").length)
        node.publish("zeek.cluster.manager", "Example::keys", [node.name, [...counts.keys()]]);
    });
  } else {
    const proxies = new Pool(node, "proxy");
    let sent = false;
    node.on("Cluster::node_up", () => {
      if (sent || proxies.alive.length < proxies.members.length) return;
      sent = true;
      // Both workers see every key, in a different order: the pool, not the sender, decides the owner.
      for (let i = 0; i < KEYS; i++) {
        const key = `10.1.${node.name === "worker-1" ? i : KEYS - 1 - i}.7`;
        proxies.publishHrw(key, "Example::observe", [key]);
      }
      // Events from one node to another arrive in order, so this comes after every observation.
      for (const proxy of proxies.alive) node.publish(node.nodeTopic(proxy), "Example::sent_all", [node.name]);
    });
  }
});
console.log(`${node.name} running`);
