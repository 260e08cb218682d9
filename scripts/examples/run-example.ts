// Shared by the examples: when a file is run directly (no CLUSTER_NODE), it launches a small cluster
// in which every node runs that same file, prints each node's output, and waits for the line starting
// with "result:" that the node named `from` prints. Exit code 0 once it arrives, 1 on a timeout.
import { type ClusterFile, withCluster } from "../../lib/launcher.ts";

/** Whether this process was started by the launcher as a node (rather than by a user). */
export const isNode: boolean = process.env.CLUSTER_NODE !== undefined;

export async function runExample(cluster: ClusterFile, from = "manager", timeoutMs = 30_000): Promise<never> {
  const result = Promise.withResolvers<string>();
  const width = Math.max(...Object.keys(cluster.nodes).map((n) => n.length));
  const output = (node: string, line: string) => {
    console.log(`${node.padEnd(width)} | ${line}`);
    if (node === from && line.startsWith("result:")) result.resolve(line);
  };
  const timer = setTimeout(() => result.reject(new Error(`no result from ${from} within ${timeoutMs} ms`)), timeoutMs);
  try {
    await withCluster(
      cluster,
      async (c) => {
        console.log(`cluster ready in ${await c.ready()} ms`);
        await result.promise;
      },
      { isolated: true, output },
    );
    console.log("done");
    process.exit(0);
  } catch (err: unknown) {
    console.error(`failed: ${(err as Error).message}`);
    process.exit(1);
  } finally {
    clearTimeout(timer);
  }
}
