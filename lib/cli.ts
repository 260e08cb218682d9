#!/usr/bin/env bun
/**
 * @module The command line: `cluster up <cluster-file>` runs a cluster, one Bun process per node (with
 * `--host`, per node of that host: one launcher on each machine); `demo` runs the bundled demo
 * cluster. Installed as the package's `bin`, so after `bun add`:
 * `bunx zeek-zmq-cluster cluster up cluster.json`.
 */

import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { Cluster, type RestartPolicy } from "./launcher.ts";

const USAGE = `Usage:
  zeek-zmq-cluster cluster up <cluster-file> [options]   run a cluster (JSON or a TS module)
  zeek-zmq-cluster demo [options]                         run the demo cluster

Options:
  --host <ip or name>   run only the nodes of this host: a node's ip, its "host" name in the
                        file, or a name that resolves to its ip (default: every node)
  --duration <s>        stop after this many seconds (default: run until Ctrl-C)
  --restart <policy>    no | on-failure | always: start nodes again that end (default: no)
  --grace <ms>          time between SIGTERM and SIGKILL when stopping (default: 5000)
  --isolated            private ipc endpoints and free metrics ports instead of the file's
                        ports, so it never collides with another cluster
  --log-dir <dir>       where loggers write (default: the cluster file's logging.dir)
  --summary             print nodes up, events/s and drops every 2 seconds (always on for demo)
  -h, --help            show this help`;

const DEMO = join(import.meta.dir, "..", "scripts", "demo", "cluster.json");

interface Totals {
  events: number;
  drops: number;
  records: number;
}

/** Sums a few counters over every node's /metrics. */
async function scrape(cluster: Cluster): Promise<Totals> {
  const totals: Totals = { events: 0, drops: 0, records: 0 };
  const pick = (text: string, name: string) =>
    [...text.matchAll(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, "gm"))].reduce((sum, m) => sum + Number(m[1]), 0);
  await Promise.all(
    [...cluster.nodes.values()].map(async (node) => {
      if (!node.metricsUrl) return;
      const text = await fetch(new URL("/metrics", node.metricsUrl), { signal: AbortSignal.timeout(1000) }).then(
        (r) => r.text(),
        () => "",
      );
      totals.events += pick(text, "zeek_cluster_core_incoming_events_total");
      totals.drops += ["xpub_drops", "onloop_drops", "log_dropped_records", "log_lost_records"].reduce(
        (s, n) => s + pick(text, `zeek_cluster_zeromq_${n}_total`),
        0,
      );
      totals.records += pick(text, "zeek_cluster_zeromq_log_received_records_total");
    }),
  );
  return totals;
}

function summarize(cluster: Cluster, logDir: string): Timer {
  let last: Totals = { events: 0, drops: 0, records: 0 };
  let lastAt = performance.now();
  const manager = [...cluster.nodes.values()].find((n) => n.type === "manager");
  console.log(`cluster: logs in ${logDir}`);
  if (manager?.metricsUrl)
    console.log(
      `cluster: metrics at ${new URL("/metrics", manager.metricsUrl)} (every node: ${new URL("/services.json", manager.metricsUrl)})`,
    );
  return setInterval(async () => {
    const now = performance.now();
    const t = await scrape(cluster);
    const total = Object.keys(cluster.file.layout.nodes).length;
    // A node is up once it has seen every other node of the cluster (on every host).
    const up = [...cluster.nodes.values()].filter((n) => n.up.size === total - 1).length;
    const rate = Math.round(((t.events - last.events) * 1000) / (now - lastAt));
    console.log(
      `cluster: ${up}/${cluster.nodes.size} nodes up · ${rate} events/s · ${t.records} log records written · ${t.drops} drops`,
    );
    [last, lastAt] = [t, now];
  }, 2000);
}

async function up(file: string, v: Record<string, string | boolean | undefined>, summary: boolean): Promise<number> {
  const duration = v.duration === undefined ? undefined : Number(v.duration);
  if (duration !== undefined && !(duration > 0))
    throw new RangeError(`Invalid --duration: expected seconds, got '${v.duration}'`);
  const logDir = v["log-dir"] === undefined ? undefined : resolve(String(v["log-dir"]));
  const host = v.host === undefined ? undefined : String(v.host);
  console.log(`cluster: starting ${file}${host === undefined ? "" : ` on host ${host}`}`);
  const cluster = await Cluster.launch(file, {
    ...(host === undefined ? {} : { host }),
    restart: (v.restart as RestartPolicy | undefined) ?? "no",
    graceMs: v.grace === undefined ? 5000 : Number(v.grace),
    isolated: v.isolated === true,
    ...(logDir ? { env: { CLUSTER_LOG_DIR: logDir } } : {}),
  });
  const stop = Promise.withResolvers<string>();
  process.once("SIGINT", () => stop.resolve("SIGINT"));
  process.once("SIGTERM", () => stop.resolve("SIGTERM"));
  const ticker = duration ? setTimeout(() => stop.resolve(`${duration} s passed`), duration * 1000) : undefined;
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

async function main(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        host: { type: "string" },
        duration: { type: "string" },
        restart: { type: "string" },
        grace: { type: "string" },
        isolated: { type: "boolean" },
        "log-dir": { type: "string" },
        summary: { type: "boolean" },
        help: { type: "boolean", short: "h" },
      },
    });
  } catch (err: unknown) {
    console.error(`${(err as Error).message}\n\n${USAGE}`);
    return 2;
  }
  const { values, positionals } = parsed;
  if (values.help) return (console.log(USAGE), 0);
  try {
    if (positionals[0] === "cluster" && positionals[1] === "up" && positionals[2])
      return await up(positionals[2], values, values.summary === true);
    if (positionals[0] === "demo" && positionals.length === 1) {
      return await up(DEMO, { ...values, "log-dir": values["log-dir"] ?? "logs" }, true);
    }
  } catch (err: unknown) {
    console.error(`cluster: ${(err as Error).message}`);
    return 1;
  }
  console.error(USAGE);
  return 2;
}

process.exitCode = await main(process.argv.slice(2));
