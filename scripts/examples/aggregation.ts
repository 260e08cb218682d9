// Worker-to-manager aggregation: each worker counts the hosts it sees and sends its partial counts to
// the manager every 200 ms; the manager merges them, checks the merged total against what the workers
// say they saw, and writes the top talkers to aggregation.log on the logger.
//
//   bun scripts/examples/aggregation.ts
import { defineEvent, defineStream, runNode } from "../../mod.ts";
import { isNode, runExample } from "./run-example.ts";

const ROUNDS = 10;
// Typed events: a table of counts travels as Zeek's `table[string] of count` and arrives as a Map.
const Counts = defineEvent("Example::counts", { worker: "string", counts: "table[string] of count" });
const Finished = defineEvent("Example::finished", { worker: "string", seen: "count" });
const TOP = defineStream({ id: "Example::TOP", path: "aggregation", fields: { host: "string", seen: "count" } });

if (!isNode) {
  const nodes = Object.fromEntries(
    ["worker-1", "worker-2", "worker-3"].map((n) => [n, { type: "worker" as const, ip: "127.0.0.1" }]),
  );
  await runExample({
    nodes: {
      manager: { type: "manager", ip: "127.0.0.1" },
      logger: { type: "logger", ip: "127.0.0.1", port: 27762 },
      ...nodes,
    },
    scripts: { manager: import.meta.path, worker: import.meta.path },
    logging: { dir: "logs/examples" },
  });
}

const node = await runNode((node) => {
  if (node.type === "manager") {
    const totals = new Map<string, number>();
    let claimed = 0;
    const finished = new Set<string>();
    const workers = Object.keys(node.layout!.nodes).filter((n) => node.layout!.nodes[n]!.type === "worker");
    node.on(Counts, ({ counts }) => {
      for (const [host, n] of counts) totals.set(host, (totals.get(host) ?? 0) + Number(n));
    });
    node.on(Finished, ({ worker, seen }) => {
      finished.add(worker);
      claimed += Number(seen);
      if (finished.size < workers.length) return;
      const merged = [...totals.values()].reduce((a, b) => a + b, 0);
      const top = [...totals].sort((a, b) => b[1] - a[1]).slice(0, 3);
      for (const [host, seen] of top) node.log(TOP, { host, seen });
      const ok = merged === claimed ? "matches" : `DIFFERS from ${claimed}`;
      console.log(
        `result: ${merged} observations from ${finished.size} workers (${ok}); top: ${top.map(([h, n]) => `${h}=${n}`).join(" ")}`,
      );
    });
  } else {
    let seen = 0;
    let rounds = 0;
    const counts = new Map<string, number>();
    node.on("Cluster::node_up", (name: string) => {
      if (name !== "manager") return;
      const timer = setInterval(() => {
        for (let i = 0; i < 100; i++) {
          const host = `10.0.0.${Math.floor(Math.random() ** 3 * 50)}`; // a few hosts are busy, most are not
          counts.set(host, (counts.get(host) ?? 0) + 1);
          seen++;
        }
        node.publish("zeek.cluster.manager", Counts, { worker: node.name, counts });
        counts.clear();
        if (++rounds === ROUNDS) {
          clearInterval(timer);
          node.publish("zeek.cluster.manager", Finished, { worker: node.name, seen });
        }
      }, 200);
      node.on("zeek_done", () => clearInterval(timer));
    });
  }
});
console.log(`${node.name} running`);
