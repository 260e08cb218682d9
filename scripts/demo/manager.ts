// The demo's manager: it runs the broker, answers every worker's ping with a pong on that worker's
// node topic, and logs each node that comes and goes to cluster.log.
import { defineStream, runNode } from "../../mod.ts";

const CLUSTER_LOG = defineStream({
  id: "Cluster::LOG",
  path: "cluster",
  fields: { ts: "time", node: "string", message: "string" },
});

const node = await runNode((node) => {
  node.on("ping", (worker: string, seq: number, sentAt: number) => {
    node.publish(node.nodeTopic(worker), "pong", [seq, sentAt]);
  });
  node.on("Cluster::node_up", (name: string) => {
    node.log(CLUSTER_LOG, { ts: Date.now() / 1000, node: node.name, message: `node up: ${name}` });
  });
  node.on("Cluster::node_down", (name: string) => {
    node.log(CLUSTER_LOG, { ts: Date.now() / 1000, node: node.name, message: `node down: ${name}` });
  });
});
console.log(
  `${node.name} up: broker on ${node.broker?.endpoints?.xsub} (XSUB) and ${node.broker?.endpoints?.xpub} (XPUB)`,
);
