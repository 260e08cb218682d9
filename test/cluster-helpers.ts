/** In-process cluster helpers: layouts like Zeek's btest ones and nodes that clean up after the test. */

import { expect } from "bun:test";
import { type IoHandlers, IoThread } from "../lib/_io-thread.ts";
import type { ClusterFile } from "../lib/cluster-file.ts";
import { resolveConfig, type ZeroMQOptions } from "../lib/config.ts";
import { Cluster, type LaunchOptions } from "../lib/launcher.ts";
import type { ClusterLayout } from "../lib/layout.ts";
import { defineStream, LOG_FORMAT, type LogStream, ZEEK_LOG_FORMAT } from "../lib/logformat.ts";
import type { BrokerEndpoints } from "../lib/proxy.ts";
import { ClusterNode, type NodeOptions } from "../lib/pubsub.ts";
import { ANY_PORT, waitFor } from "./helpers.ts";

/** A layout: manager (the log sink; logging is not exercised here), then the named nodes. */
export function layoutOf(nodes: Record<string, "logger" | "proxy" | "worker">): ClusterLayout {
  const all: Record<string, ClusterLayout["nodes"][string]> = {
    manager: { type: "manager", ip: "127.0.0.1", port: 1 },
  };
  let port = 1; // never bound: tests override the log endpoints
  for (const [name, type] of Object.entries(nodes))
    all[name] = { type, ip: "127.0.0.1", ...(type === "logger" ? { port: ++port } : {}) };
  return { nodes: all, managerIsLogger: !Object.values(nodes).includes("logger") };
}

const started: ClusterNode[] = [];

/** Stops every node made with {@linkcode makeNode}. test/setup.ts runs it after each test. */
export async function stopNodes(): Promise<void> {
  await Promise.all(started.splice(0).map((n) => n.stop()));
}

const launched: Cluster[] = [];

/** Launches an isolated cluster whose node output is collected; it is stopped after the test. */
export async function launchCluster(
  source: string | ClusterFile,
  options: LaunchOptions = {},
): Promise<Cluster & { output: string[] }> {
  const output: string[] = [];
  const cluster = await Cluster.launch(source, {
    isolated: true,
    output: (node, line) => output.push(`${node} | ${line}`),
    readyTimeout: 15_000,
    graceMs: 3000,
    ...options,
  });
  launched.push(cluster);
  return Object.assign(cluster, { output });
}

/** Stops every cluster made with {@linkcode launchCluster}. test/setup.ts runs it after each test. */
export async function stopClusters(): Promise<void> {
  await Promise.all(launched.splice(0).map((c) => c.stop()));
}

/** What a node's reporter received. */
export type Reports = string[];

/** Creates a node whose reports are collected; it is stopped after the test. */
export function makeNode(options: NodeOptions): ClusterNode & { reports: Reports } {
  const reports: Reports = [];
  const node = new ClusterNode({
    readyTimeout: 10_000,
    reporter: (level, msg) => reports.push(`${level}: ${msg}`),
    ...options,
  });
  started.push(node);
  return Object.assign(node, { reports });
}

/** A node without a layout that runs the broker for the others on ephemeral ports, started. */
export async function startHub(options: Partial<NodeOptions> = {}): Promise<ClusterNode & { reports: Reports }> {
  const hub = makeNode({
    name: "hub",
    runProxyThread: true,
    listenXsubEndpoint: ANY_PORT,
    listenXpubEndpoint: ANY_PORT,
    ...options,
  });
  await hub.start();
  return hub;
}

/** A manager that runs the broker on ephemeral ports, started. */
export async function startManager(
  layout: ClusterLayout,
  options: Partial<NodeOptions> = {},
): Promise<ClusterNode & { reports: Reports }> {
  // As the log sink, the manager binds a free port rather than the layout's placeholder.
  const logs =
    layout.managerIsLogger !== false && !Object.values(layout.nodes).some((n) => n.type === "logger")
      ? { listenLogEndpoint: ANY_PORT }
      : {};
  const manager = makeNode({
    name: "manager",
    layout,
    listenXsubEndpoint: ANY_PORT,
    listenXpubEndpoint: ANY_PORT,
    ...logs,
    ...options,
  });
  await manager.start();
  return manager;
}

/** The options that connect a node to `manager`'s broker. */
export function via(manager: ClusterNode): {
  connectXpubEndpoint: string;
  connectXsubEndpoint: string;
  connectLogEndpoints?: string[];
} {
  const ep = manager.broker!.endpoints!;
  const logs = manager.logEndpoint ? { connectLogEndpoints: [manager.logEndpoint] } : {};
  return { connectXpubEndpoint: ep.xsub, connectXsubEndpoint: ep.xpub, ...logs };
}

/** Records every call of an event's handlers as the JSON of its arguments. */
export function record(node: ClusterNode, ...names: string[]): string[] {
  const seen: string[] = [];
  for (const name of names) node.on(name, (...args: unknown[]) => seen.push(`${name} ${JSON.stringify(args)}`));
  return seen;
}

/** Waits until `log` contains `entry`. */
export function expectEntry(log: string[], entry: string, timeoutMs = 10_000): Promise<boolean> {
  return waitFor(() => log.includes(entry), `'${entry}' (so far: ${JSON.stringify(log)})`, timeoutMs);
}

/**
 * A node's I/O thread on its own (no `ClusterNode` around it), connected to broker `ep` with `options`:
 * the given handlers, no-ops for the rest; stopped with `graceMs` by `cleanups`.
 */
export async function startIoThread(
  name: string,
  ep: BrokerEndpoints,
  handlers: Partial<IoHandlers>,
  options: ZeroMQOptions,
  cleanups: (() => unknown)[],
  graceMs: number,
): Promise<IoThread> {
  const none = () => undefined;
  const io = new IoThread(name, {
    notice: none,
    event: none,
    log: none,
    logDropped: none,
    report: none,
    handshakeFailed: none,
    ...handlers,
  });
  const config = resolveConfig({ connectXpubEndpoint: ep.xsub, connectXsubEndpoint: ep.xpub, ...options }, {});
  await io.start(config, "BLOCK", "msgpack-v1");
  cleanups.push(() => io.stop(graceMs));
  return io;
}

/** The stream {@linkcode acknowledgedWriters} logs: `{ ts, writer, seq }` to path "test". */
export const ACK_TEST_LOG: LogStream<{ ts: "time"; writer: "string"; seq: "count" }> = defineStream({
  id: "Test::LOG",
  path: "test",
  fields: { ts: "time", writer: "string", seq: "count" },
});

/**
 * Writers of both log formats (`zeek-bin-serializer`, `msgpack-log-v1`) for each of `variants` (their
 * options), connected to `logger`'s broker and log endpoint and started (stopped after the test). Each
 * logs `count` records of {@linkcode ACK_TEST_LOG} in batches of 10; every batch must be acknowledged,
 * none resent or lost (checked).
 */
export async function acknowledgedWriters(
  logger: ClusterNode,
  count: number,
  variants: Partial<NodeOptions>[] = [{}],
): Promise<ClusterNode[]> {
  const writers = variants.flatMap((options, v) =>
    [ZEEK_LOG_FORMAT, LOG_FORMAT].map((logSerializer, f) =>
      makeNode({ name: `w${v}-${f}`, ...via(logger), logSerializer, logging: { writeBufferSize: 10 }, ...options }),
    ),
  );
  for (const w of writers) await w.start();
  for (const [i, w] of writers.entries())
    for (let seq = 0; seq < count; seq++) w.log(ACK_TEST_LOG, { ts: 1, writer: `w${i}`, seq });
  for (const w of writers) expect(await w.flushLogs(10_000)).toBe(true);
  for (const w of writers)
    expect(w.stats()).toMatchObject({
      logBatchesAcked: count / 10,
      logUnackedBatches: 0,
      logBatchesResent: 0,
      logLostBatches: 0,
    });
  return writers;
}
