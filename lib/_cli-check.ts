/**
 * @module `cluster check <cluster-file>`: validation only, as zeekctl's `check`. Prints what each node
 * would be (type, host, the endpoints it binds and connects to, metrics, script) as `cluster up`
 * derives it, and exits 0; or prints the error and exits 1. Nothing is started or bound.
 */

import { relative } from "node:path";
import { type Cli, exits } from "./_cli-program.ts";
import { loadClusterFile, type ValidClusterFile } from "./cluster-file.ts";
import { addrToUri, nodeConfig } from "./layout.ts";

/** One node as `cluster up` would run it. */
export interface CheckedNode {
  name: string;
  type: string;
  ip: string;
  host: string | undefined;
  /** The broker's XSUB and XPUB, on the node that runs it. */
  broker?: { xsub: string; xpub: string };
  /** Where its XPUB publishes (the broker's XSUB) and its XSUB subscribes (the broker's XPUB). */
  publishesTo: string;
  subscribesAt: string;
  /** Where it receives logs (a logger, or the manager as logger). */
  logsListen?: string;
  /** Where it sends its logs. */
  logsTo: readonly string[];
  metrics: string | undefined;
  script: string | undefined;
}

/** Derives every node's endpoints as the launcher does (the file's options and this environment). */
export function checkedNodes(file: ValidClusterFile): CheckedNode[] {
  const { eventSerializer: _e, logSerializer: _l, ...options } = file.options;
  return Object.entries(file.layout.nodes).map(([name, node]) => {
    const c = nodeConfig(file.layout, name, options, { ...process.env, ...file.env[name] });
    return {
      name,
      type: node.type,
      ip: node.ip,
      host: file.hosts[name],
      ...(c.runProxyThread ? { broker: { xsub: c.listenXsubEndpoint, xpub: c.listenXpubEndpoint } } : {}),
      publishesTo: c.connectXpubEndpoint,
      subscribesAt: c.connectXsubEndpoint,
      ...(c.listenLogEndpoint ? { logsListen: c.listenLogEndpoint } : {}),
      logsTo: c.connectLogEndpoints,
      metrics: node.metricsPort === undefined ? undefined : `http://${addrToUri(node.ip)}:${node.metricsPort}/metrics`,
      script: file.scripts[name],
    };
  });
}

function print(path: string, file: ValidClusterFile, nodes: CheckedNode[]): void {
  console.log(`${path}: valid, ${nodes.length} nodes; logs in ${file.logging.dir}`);
  const width = Math.max(...nodes.map((n) => n.name.length));
  for (const n of nodes) {
    const where = n.host === undefined ? n.ip : `${n.host} (${n.ip})`;
    console.log(`${n.name.padEnd(width)}  ${n.type} on ${where}`);
    const line = (what: string, value: string) => console.log(`${" ".repeat(width)}    ${what.padEnd(9)}${value}`);
    if (n.broker) line("broker", `XSUB ${n.broker.xsub} (publishers connect), XPUB ${n.broker.xpub} (subscribers)`);
    line("events", `publishes to ${n.publishesTo}, subscribes at ${n.subscribesAt}`);
    if (n.logsListen) line("logs", `receives on ${n.logsListen}`);
    else if (n.logsTo.length > 0) line("logs", `sends to ${n.logsTo.join(", ")}`);
    line("metrics", n.metrics ?? "none (no metricsPort)");
    line("script", n.script === undefined ? "none (a plain node)" : relative(process.cwd(), n.script) || n.script);
  }
}

/** Adds `cluster check`. */
export function register({ cluster }: Cli): void {
  cluster
    .command("check")
    .description("validate a cluster file and print each node's derived endpoints; starts nothing")
    .argument("<cluster-file>", "the cluster file: JSON, or a TS module whose default export is one")
    .option("--json", "print the nodes as JSON")
    .action(
      exits("cluster", async (path: string, o: { json?: boolean }) => {
        const file = await loadClusterFile(path);
        const nodes = checkedNodes(file);
        if (o.json) console.log(JSON.stringify({ valid: true, logDir: file.logging.dir, nodes }, null, 2));
        else print(path, file, nodes);
        return 0;
      }),
    );
}
