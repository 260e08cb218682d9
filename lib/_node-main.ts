#!/usr/bin/env bun
// The script of a node that has none in its cluster file: a plain node of its type (a logger that
// writes the logs it receives, a proxy, a worker …), run by the launcher. Like a node of Zeek's own,
// it writes cluster.log (Zeek's Cluster::LOG, base/frameworks/cluster/main.zeek) as peers come and go,
// so that a cluster without scripts still shows in its logs who joined and who left.
import { defineStream } from "./logformat.ts";
import { runNode } from "./runtime.ts";
import { EVENTS } from "./topics.ts";

const CLUSTER_LOG = defineStream({
  id: "Cluster::LOG",
  path: "cluster",
  fields: { ts: "time", node: "string", message: "string" },
});

await runNode((node) => {
  // Not while stopping: the writer may be closed by then. No logger at all: nothing to write to.
  const log = (message: string) =>
    node.logWriter !== undefined &&
    (node.state === "starting" || node.state === "running") &&
    node.log(CLUSTER_LOG, { ts: Date.now() / 1000, node: node.name, message });
  node.on(EVENTS.nodeUp, (name: string, id: string) => log(`got hello from ${name} (${id})`));
  node.on(EVENTS.nodeDown, (name: string) => log(`node down: ${name}`));
});
