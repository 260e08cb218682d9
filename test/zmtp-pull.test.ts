// pullEngine "bun": a logger's PULL socket spoken by its main thread (lib/_zmtp-pull.ts), against real
// libzmq PUSH sockets, this library's own PUSH engine, raw ZMTP peers that misbehave as libzmq never
// would, and a real Zeek worker.

import { afterEach, describe, expect, test } from "bun:test";
import { existsSync, lstatSync, readdirSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Context } from "../lib/_zmq.ts";
import { resolveConfig } from "../lib/config.ts";
import { ClusterError } from "../lib/errors.ts";
import { defineStream, encodeZeekBatch, recordValues, ZEEK_LOG_FORMAT } from "../lib/logformat.ts";
import type { NodeOptions } from "../lib/pubsub.ts";
import { acknowledgedWriters, makeNode, startManager, via } from "./cluster-helpers.ts";
import { ANY_PORT, bytes, TempDirs, waitFor } from "./helpers.ts";
import { mixedCluster, startZeek, stopZeekClusters, ZEEK } from "./zeek-harness.ts";
import { frame, greeting, message, readyOf } from "./zmtp-helpers.ts";

const dirs = new TempDirs("zeek-pull-");
const cleanups: (() => unknown)[] = [];
const contexts: Context[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
  for (const ctx of contexts.splice(0)) ctx.close();
  await stopZeekClusters();
  dirs.cleanup();
});

const TEST = defineStream({ id: "Test::LOG", path: "test", fields: { ts: "time", writer: "string", seq: "count" } });
const ONE = [recordValues(TEST, { ts: 1, writer: "raw", seq: 0 })];
const GOOD = encodeZeekBatch({ stream: TEST.id, path: "test", fields: [...TEST.fields], records: ONE });
const only = { nodes: { manager: { type: "manager" as const, ip: "127.0.0.1", port: 1 } } };

/** A manager that is the cluster's logger, with pullEngine "bun" and `options`, started. */
async function bunLogger(options: Partial<NodeOptions> = {}) {
  const dir = dirs.make();
  const logger = await startManager(only, {
    listenLogEndpoint: ANY_PORT,
    pullEngine: "bun",
    logging: { dir },
    ...options,
  });
  cleanups.push(() => logger.stop());
  return { logger, dir, lines: () => linesIn(dir) };
}

const linesIn = (dir: string) =>
  readdirSync(dir).flatMap((f) =>
    readFileSync(join(dir, f), "utf8")
      .split("\n")
      .filter((l) => l && l[0] !== "#"),
  );

/** A raw TCP client of `endpoint` that sends `chunks` once connected and keeps what it receives. */
async function rawWriter(endpoint: string, chunks: Uint8Array[]) {
  const [, host, port] = /^tcp:\/\/(.*):(\d+)$/.exec(endpoint)!;
  const got: Uint8Array[] = [];
  let closed = false;
  const socket = await Bun.connect({
    hostname: host!,
    port: Number(port),
    socket: {
      data: (_s, chunk) => void got.push(new Uint8Array(chunk)),
      close: () => void (closed = true),
    },
  });
  cleanups.push(() => socket.terminate());
  for (const c of chunks) socket.write(c);
  return { received: () => Buffer.concat(got), closed: () => closed };
}

/** A ZMTP PUSH peer's opening, then `frames`. */
const asPush = (...frames: Uint8Array[]) => [greeting(), readyOf("PUSH"), ...frames];

describe('a logger with pullEngine "bun"', () => {
  test("writers of both formats, through libzmq's PUSH and the PUSH engine: acknowledged and written once", async () => {
    const { logger, lines } = await bunLogger();
    expect(logger.logEndpoint).toMatch(/^tcp:\/\/127\.0\.0\.1:\d+$/);
    expect(logger.logEndpoint).not.toBe(ANY_PORT);
    await acknowledgedWriters(logger, 300, [{ pushEngine: "libzmq" }, { pushEngine: "bun" }]);
    await waitFor(() => lines().length === 1200, "1200 lines", 10_000);
    expect(new Set(lines()).size).toBe(1200);
    expect(logger.stats().msgErrors).toBe(0);
  });

  test("listens on an ipc path (a stale socket file is replaced), on localhost and on IPv6; a port in use is a ClusterError naming it", async () => {
    const path = join(tmpdir(), `zeek-pull-${process.pid}-${Date.now()}.sock`);
    // A socket file left by a process killed while it listened (Bun removes the file when it exits).
    const holder = Bun.spawn(
      [
        process.execPath,
        "-e",
        `Bun.listen({ unix: ${JSON.stringify(path)}, socket: { data() {} } }); console.log("up")`,
      ],
      { stdout: "pipe" },
    );
    cleanups.push(() => holder.kill("SIGKILL"));
    await waitFor(() => existsSync(path), "the holder's socket file");
    holder.kill("SIGKILL");
    await holder.exited;
    expect(lstatSync(path).isSocket()).toBe(true);
    const { logger, lines } = await bunLogger({ listenLogEndpoint: `ipc://${path}` });
    expect(logger.logEndpoint).toBe(`ipc://${path}`);
    const local = await bunLogger({ listenLogEndpoint: "tcp://localhost:*" });
    expect(local.logger.logEndpoint).toMatch(/^tcp:\/\/127\.0\.0\.1:\d+$/);
    const v6 = await bunLogger({ listenLogEndpoint: "tcp://[::1]:*", ipv6: true });
    expect(v6.logger.logEndpoint).toMatch(/^tcp:\/\/\[::1\]:\d+$/);
    for (const target of [logger, local.logger, v6.logger]) {
      const w = makeNode({ name: "w", ...via(target), ipv6: true });
      cleanups.push(() => w.stop());
      await w.start();
      w.log(TEST, { ts: 1, writer: "w", seq: 1 });
      expect(await w.flushLogs(10_000)).toBe(true);
      await w.stop();
    }
    expect(lines()).toHaveLength(1);
    expect(local.lines()).toHaveLength(1);
    expect(v6.lines()).toHaveLength(1);
    const taken = makeNode({
      name: "manager",
      layout: only,
      listenLogEndpoint: local.logger.logEndpoint,
      pullEngine: "bun",
    });
    const err = await taken.start().then(
      () => undefined,
      (e: unknown) => e,
    );
    await taken.stop();
    expect(err).toBeInstanceOf(ClusterError);
    expect((err as Error).message).toContain(
      `Cannot bind PULL socket to '${local.logger.logEndpoint}': Address already in use (EADDRINUSE)`,
    );
  });

  test("malformed peers and messages are counted and reported once, the rest of the connection or the logger goes on", async () => {
    const { logger, lines } = await bunLogger({ maxTopicLength: 100, maxMessageSize: 4096 });
    const ep = logger.logEndpoint;
    const log = (sender: string, ...rest: Uint8Array[]) =>
      [bytes("log-write"), bytes(sender), bytes(ZEEK_LOG_FORMAT), ...rest].map((f, i, all) =>
        frame(i < all.length - 1 ? 1 : 0, f),
      );
    // Not ZMTP; a PUB instead of a PUSH: handshake failures, the connection closed.
    const notZmtp = await rawWriter(ep, [bytes("GET / HTTP/1.1\r\n\r\n".padEnd(64, " "))]);
    const pub = await rawWriter(ep, [greeting(), readyOf("PUB")]);
    // Three frames, then a sender beyond maxTopicLength, then a good one on the same connection.
    const mixed = await rawWriter(
      ep,
      asPush(...message("log-write", "a", "b"), ...log("x".repeat(101), GOOD), ...log("raw", GOOD)),
    );
    // A frame beyond maxMessageSize ends that connection.
    const big = await rawWriter(ep, asPush(...log("raw", new Uint8Array(5000))));
    await waitFor(() => notZmtp.closed() && pub.closed() && big.closed(), "the bad connections closed");
    await waitFor(() => lines().length === 1, "the good batch on disk");
    const s = logger.stats();
    expect(s.msgErrors).toBe(2);
    expect(s.pullDisconnects).toBeGreaterThanOrEqual(3);
    expect(mixed.closed()).toBe(false);
    const reports = logger.reports.join("\n");
    expect(reports).toContain("log: error: expected 4 parts, have 3!");
    expect(reports).toContain("log: error: a sender id longer than maxTopicLength (100 bytes)");
    expect(reports).toContain("beyond maxMessageSize");
    expect(reports).toMatch(/Handshake for socket tcp:\/\/127\.0\.0\.1:\d+ failed/);
    // A libzmq writer is still served.
    const ctx = new Context();
    contexts.push(ctx);
    const push = ctx.socket("PUSH");
    push.connect(ep);
    push.send([bytes("log-write"), bytes("raw"), bytes(ZEEK_LOG_FORMAT), GOOD]);
    await waitFor(() => lines().length === 2, "libzmq's batch on disk");
  });

  test("its PINGs carry heartbeatTtl, keeping idle libzmq writers connected", async () => {
    const { logger } = await bunLogger({ heartbeatIvl: 100, heartbeatTtl: 300 });
    const raw = await rawWriter(logger.logEndpoint, asPush());
    const ping = new Uint8Array([4, 7, 4, ...bytes("PING"), 0, 3]); // 300 ms in tenths, no context
    await waitFor(() => Buffer.from(raw.received()).includes(ping), "a PING carrying 300 ms");
    const w = makeNode({ name: "w", ...via(logger), heartbeatIvl: 100, heartbeatTtl: 300 });
    cleanups.push(() => w.stop());
    await w.start();
    w.log(TEST, { ts: 1, writer: "w", seq: 1 });
    expect(await w.flushLogs(10_000)).toBe(true);
    await Bun.sleep(1200); // four TTLs without a log
    w.log(TEST, { ts: 1, writer: "w", seq: 2 });
    expect(await w.flushLogs(10_000)).toBe(true);
    expect(w.stats().pushDisconnects).toBe(0);
  });

  test("a sink that holds batches stops the reading at 100 waiting (the rest waits in the kernel and the writer), then everything arrives once", async () => {
    const held: (() => void)[] = [];
    let records = 0;
    const { logger } = await bunLogger({
      logging: {
        files: false,
        sink: (batch) =>
          new Promise<void>((resolve) => held.push(() => ((records += batch.records.length), resolve()))),
      },
    });
    // Without acknowledgments: the writer's window of 64 batches in flight would hold it back first.
    const w = makeNode({ name: "w", ...via(logger), logging: { writeBufferSize: 10, acknowledge: false } });
    cleanups.push(() => w.stop());
    await w.start();
    const total = 20_000;
    const writing = (async () => {
      for (let seq = 0; seq < total; seq++) {
        w.log(TEST, { ts: 1, writer: "w", seq });
        if (seq % 100 === 0) await Bun.sleep(0);
      }
    })();
    await Bun.sleep(1500);
    // At most the backpressure bound waits on main, plus what one read brought: the rest is in the kernel or the writer.
    expect(held.length).toBeGreaterThanOrEqual(100);
    expect(held.length).toBeLessThan(total / 10 / 2); // 2,000 batches: most wait in the kernel and the writer
    const release = setInterval(() => {
      for (const r of held.splice(0)) r();
    }, 5);
    cleanups.push(() => clearInterval(release));
    await writing;
    expect(await w.flushLogs(20_000)).toBe(true);
    await waitFor(() => records === total, `${total} records through the sink`, 20_000);
    expect(w.stats()).toMatchObject({ logLostBatches: 0, logBatchesSent: total / 10 });
  });
});

describe("pullEngine option", () => {
  test("bad values and combinations it cannot serve are RangeErrors naming the option", () => {
    const logger = { listenLogEndpoint: "tcp://127.0.0.1:5555", pullEngine: "bun" as const };
    expect(() => resolveConfig({ pullEngine: "zmtp" as "bun" }, {})).toThrow(RangeError);
    expect(() => resolveConfig({ ...logger, logRcvbuf: 65536 }, {})).toThrow(/pullEngine.*logRcvbuf/);
    expect(() => resolveConfig({ ...logger, listenLogEndpoint: "tcp://eth0:5555" }, {})).toThrow(
      /pullEngine.*listenLogEndpoint "tcp:\/\/eth0:5555"/,
    );
    const keys = { curveServerSecretkey: "x".repeat(40), curveClientPublickey: "y".repeat(40) };
    expect(() => resolveConfig({ ...logger, ...keys }, {})).toThrow(/pullEngine.*CURVE/);
    expect(resolveConfig({ ...logger, listenLogEndpoint: "tcp://*:*" }, {}).pullEngine).toBe("bun");
    expect(resolveConfig({}, { ZEEK_CLUSTER_BACKEND_ZEROMQ_PULL_ENGINE: "bun" }).pullEngine).toBe("bun");
  });
});

describe.skipIf(!ZEEK)("with a real Zeek", () => {
  test('a Zeek worker\'s log batches reach a Bun logger with pullEngine "bun", every record', async () => {
    const cluster = mixedCluster({
      nodes: {
        manager: { type: "manager", impl: "bun" },
        logger: { type: "logger", impl: "bun" },
        "worker-1": { type: "worker", impl: "zeek" },
      },
    });
    const manager = makeNode(cluster.bunOptions("manager"));
    cleanups.push(() => manager.stop());
    await manager.start();
    let received = 0;
    const logger = makeNode({
      ...cluster.bunOptions("logger"),
      pullEngine: "bun",
      logging: {
        files: false,
        sink: (batch) => void (batch.path === "alltypes" && (received += batch.records.length)),
      },
    });
    cleanups.push(() => logger.stop());
    await logger.start();
    const script = readFileSync(join(import.meta.dir, "fixtures", "zeek-alltypes.zeek"), "utf8");
    const worker = await startZeek("worker-1", script, cluster, { env: { ALLTYPES_WRITER: "worker-1" } });
    const wrote = Number((await worker.waitForLine(/^alltypes: wrote (\d+)$/, 15_000))[1]);
    await waitFor(() => received === wrote, `${wrote} records at the Bun logger`, 10_000);
    expect(logger.stats().msgErrors).toBe(0);
  }, 60_000);
});
