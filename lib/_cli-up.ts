/**
 * @module `cluster up <cluster-file>` runs a cluster, one Bun process per node (with `--host`, per node
 * of that host: one launcher on each machine); `demo` runs the bundled demo cluster.
 */

import { join, resolve } from "node:path";
import { Option } from "commander";
import { type ControlOptions, claimControl, controlOptions, detach } from "./_cli-control.ts";
import { type Cli, exits, positive } from "./_cli-program.ts";
import { stopSignals } from "./_cli-signals.ts";
import type { Control } from "./_control.ts";
import type { NodeStatus } from "./_node-status.ts";
import { Cluster, type RestartPolicy } from "./launcher.ts";

const DEMO = join(import.meta.dir, "..", "scripts", "demo", "cluster.json");

/** The options of `cluster up` and `demo`, as commander hands them over. */
interface UpOptions extends ControlOptions {
  host?: string;
  duration?: number;
  restart: RestartPolicy;
  grace: number;
  isolated?: boolean;
  logDir?: string;
  summary?: boolean;
}

function summarize(cluster: Cluster, logDir: string): Timer {
  const manager = [...cluster.nodes.values()].find((n) => n.type === "manager");
  console.log(`cluster: logs in ${logDir}`);
  if (manager?.metricsUrl) {
    console.log(
      `cluster: metrics at ${new URL("/metrics", manager.metricsUrl)} (every node: ${new URL("/services.json", manager.metricsUrl)})`,
    );
    console.log(`cluster: dashboard at ${manager.metricsUrl} (live, in a browser)`);
  }
  return setInterval(() => {
    // From the nodes' own stats reports to the launcher (about once a second): no metrics are scraped.
    const nodes = cluster.status();
    const sum = (pick: (n: NodeStatus) => number | null) => nodes.reduce((t, n) => t + (pick(n) ?? 0), 0);
    const up = nodes.filter((n) => n.state === "up").length;
    console.log(
      `cluster: ${up}/${cluster.nodes.size} nodes up · ${sum((n) => n.eventsInPerSec)} events/s · ${sum((n) => n.logRecords)} log records written · ${sum((n) => n.drops)} drops`,
    );
  }, 2000);
}

async function up(file: string, o: UpOptions, summary: boolean): Promise<number> {
  if (o.detach) return detach(file, o, process.argv.slice(2));
  const control = claimControl(file, o); // the run directory: `cluster status`, `stop`, … find this launcher there
  // Listening before the launch: a Ctrl-C while nodes start still stops them in order.
  const signals = stopSignals();
  try {
    return await run(file, o, summary, signals.stop, control);
  } catch (err: unknown) {
    throw withHint(err, o);
  } finally {
    signals.dispose();
    await control?.close();
  }
}

/** A port in use gets what to do about it: usually another cluster from the same file still runs. */
function withHint(err: unknown, o: UpOptions): unknown {
  if (!(err instanceof Error) || !/EADDRINUSE|in use/.test(err.message)) return err;
  const isolated =
    o.isolated || o.host !== undefined ? "" : ", or run with --isolated (private ipc endpoints and free metrics ports)";
  err.message += `; another cluster or program holds it: stop that${isolated}`;
  return err;
}

async function run(
  file: string,
  o: UpOptions,
  summary: boolean,
  stop: PromiseWithResolvers<string>,
  control?: Control,
): Promise<number> {
  const logDir = o.logDir === undefined ? undefined : resolve(o.logDir);
  const host = o.host;
  console.log(`cluster: starting ${file}${host === undefined ? "" : ` on host ${host}`}`);
  const cluster = await Cluster.launch(file, {
    ...(host === undefined ? {} : { host }),
    restart: o.restart,
    graceMs: o.grace,
    isolated: o.isolated === true,
    ...(logDir ? { env: { CLUSTER_LOG_DIR: logDir } } : {}),
  });
  control?.serve(cluster, (why) => stop.resolve(why));
  const ticker = o.duration ? setTimeout(() => stop.resolve(`${o.duration} s passed`), o.duration * 1000) : undefined;
  const all = Object.keys(cluster.file.layout.nodes).length;
  if (host !== undefined)
    console.log(`cluster: running ${cluster.local.length} of ${all} nodes here: ${cluster.local.join(", ")}`);
  // Ready: every node started here has seen every node of the cluster. One host's nodes cannot know
  // when the other hosts start, so with --host a late cluster is reported and waited for, not stopped.
  const ready = (): unknown =>
    cluster.ready().then(
      (ms) => console.log(`cluster ready in ${ms} ms${host === undefined ? "" : ` (${all} nodes on every host)`}`),
      (err: Error & { code?: string }) => {
        if (cluster.failed) return;
        if (host === undefined || err.code !== "CLUSTER_NOT_READY") return stop.resolve(err.message);
        console.log(`cluster: ${err.message}; still waiting for the other hosts`);
        return ready();
      },
    );
  ready();
  const summaries = summary ? summarize(cluster, logDir ?? cluster.file.logging.dir!) : undefined;
  const check = setInterval(() => cluster.failed && stop.resolve("a node died"), 100);
  const why = await stop.promise;
  clearInterval(check);
  clearTimeout(ticker);
  clearInterval(summaries);
  console.log(`cluster: ${why}, stopping`);
  await cluster.stop();
  console.log(`cluster: stopped${cluster.failed ? " after a node died" : ""}`);
  return cluster.failed ? 1 : 0;
}

/** The options `cluster up` and `demo` share. */
function upOptions(): Option[] {
  return [
    new Option(
      "--host <ip-or-name>",
      'run only the nodes of this host: a node\'s ip, its "host" name in the file, or a name that resolves to its ip (default: every node)',
    ),
    new Option("--duration <s>", "stop after this many seconds (default: run until Ctrl-C)").argParser(
      positive("seconds"),
    ),
    new Option("--restart <policy>", "start nodes again that end")
      .choices(["no", "on-failure", "always"])
      .default("no"),
    new Option("--grace <ms>", "time between SIGTERM and SIGKILL when stopping")
      .argParser(positive("ms"))
      .default(5000),
    new Option(
      "--isolated",
      "private ipc endpoints and free metrics ports instead of the file's ports, so it never collides with another cluster",
    ),
    new Option("--log-dir <dir>", "where loggers write (default: the cluster file's logging.dir)"),
    ...controlOptions(),
  ];
}

/** Adds `cluster up` and `demo`. */
export function register({ program, cluster }: Cli): void {
  const upCmd = cluster
    .command("up")
    .description("run a cluster, one process per node, until Ctrl-C (or --duration)")
    .argument("<cluster-file>", "the cluster file: JSON, or a TS module whose default export is one");
  for (const option of upOptions()) upCmd.addOption(option);
  upCmd
    .option("--summary", "print nodes up, events/s and drops every 2 seconds")
    .action(exits("cluster", (file: string, o: UpOptions) => up(file, o, o.summary === true)));

  const demo = program
    .command("demo")
    .description("run the bundled demo cluster (manager, logger, proxy, 2 workers) with a summary every 2 s");
  for (const option of upOptions()) demo.addOption(option);
  demo.action(exits("cluster", (o: UpOptions) => up(DEMO, { ...o, logDir: o.logDir ?? "logs" }, true)));
}
