// Broadcast to workers: the manager publishes a setting once on the workers' role topic
// (zeek.cluster.worker) and every worker applies it and confirms. Ten rounds, each waiting for every
// worker's confirmation, show that one publish reaches all workers and how long a round trip takes.
//
//   bun scripts/examples/broadcast.ts
import { ROLE_TOPICS, runNode } from "../../mod.ts";
import { isNode, runExample } from "./run-example.ts";

const ROUNDS = 10;

if (!isNode) {
  const workers = Object.fromEntries(
    [1, 2, 3, 4].map((i) => [`worker-${i}`, { type: "worker" as const, ip: "127.0.0.1" }]),
  );
  await runExample({
    nodes: { manager: { type: "manager", ip: "127.0.0.1", port: 27761 }, ...workers },
    scripts: { manager: import.meta.path, worker: import.meta.path },
  });
}

const node = await runNode((node) => {
  if (node.type === "manager") {
    const workers = Object.keys(node.layout!.nodes).filter((n) => node.layout!.nodes[n]!.type === "worker");
    const up = new Set<string>();
    let round = 0;
    let confirmed = new Set<string>();
    let sentAt = 0;
    const times: number[] = [];
    const broadcast = () => {
      confirmed = new Set();
      sentAt = performance.now();
      node.publish(ROLE_TOPICS.worker, "Example::set_threshold", [round, 100 + round]);
    };
    node.on("Cluster::node_up", (name: string) => {
      if (workers.includes(name)) up.add(name);
      if (up.size === workers.length && round === 0 && times.length === 0) broadcast();
    });
    node.on("Example::threshold_applied", (worker: string, r: number) => {
      if (r !== round) return;
      confirmed.add(worker);
      if (confirmed.size < workers.length) return;
      times.push(performance.now() - sentAt);
      if (++round < ROUNDS) return broadcast();
      const median = times.toSorted((a, b) => a - b)[Math.floor(times.length / 2)]!;
      console.log(
        `result: ${ROUNDS} broadcasts, each applied by all ${workers.length} workers; median round trip ${median.toFixed(2)} ms`,
      );
    });
  } else {
    node.on("Example::set_threshold", (round: number, threshold: number) => {
      if (round === 0 || round === ROUNDS - 1) console.log(`threshold is now ${threshold}`);
      node.publish("zeek.cluster.manager", "Example::threshold_applied", [node.name, round]);
    });
  }
});
console.log(`${node.name} running`);
