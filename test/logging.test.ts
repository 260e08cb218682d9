// Remote logging end to end: writers PUSH batches, loggers PULL, write files and acknowledge.

import { afterEach, describe, expect, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { Context } from "../lib/_zmq.ts";
import type { ClusterLayout } from "../lib/layout.ts";
import { defineStream, encodeBatch, LOG_FORMAT, recordValues, ZEEK_LOG_FORMAT } from "../lib/logformat.ts";
import { makeNode, startHub, startManager, via } from "./cluster-helpers.ts";
import { ANY_PORT, bytes, startNodeProcess, statsOf, TempDirs, waitFor } from "./helpers.ts";

const dirs = new TempDirs("zeek-logs-");
afterEach(dirs.cleanup);
const tempDir = dirs.make;

const IP = "127.0.0.1";

const TEST = defineStream({ id: "Test::LOG", path: "test", fields: { ts: "time", writer: "string", seq: "count" } });

/** Every {writer, seq} in the JSON-lines files under `dir` whose name starts with `prefix`. */
function recordsIn(dir: string, prefix = "test"): { writer: string; seq: number }[] {
  return readdirSync(dir)
    .filter((f) => f.startsWith(prefix) && f.endsWith(".log"))
    .flatMap((f) =>
      readFileSync(join(dir, f), "utf8")
        .split("\n")
        .filter(Boolean)
        .map((l) => JSON.parse(l)),
    );
}

/** Asserts that `records` holds seq 0..n-1 exactly once for each writer. */
function expectExactlyOnce(records: { writer: string; seq: number }[], writers: string[], n: number): void {
  const byWriter = new Map<string, number[]>();
  for (const r of records) byWriter.set(r.writer, [...(byWriter.get(r.writer) ?? []), r.seq]);
  expect([...byWriter.keys()].sort()).toEqual([...writers].sort());
  for (const w of writers) {
    const seqs = byWriter.get(w)!.sort((a, b) => a - b);
    expect(seqs.length).toBe(n);
    expect(seqs.every((s, i) => s === i)).toBe(true);
  }
}

describe("remote logging", () => {
  test("logging-rr: two loggers, three writers: every record exactly once, every logger hears every writer", async () => {
    const layout: ClusterLayout = {
      nodes: {
        manager: { type: "manager", ip: IP },
        "logger-1": { type: "logger", ip: IP, port: 1 },
        "logger-2": { type: "logger", ip: IP, port: 2 },
        "worker-1": { type: "worker", ip: IP },
        "worker-2": { type: "worker", ip: IP },
        "worker-3": { type: "worker", ip: IP },
      },
    };
    const manager = await startManager(layout, { connectLogEndpoints: ["ipc:///nonexistent"] });
    const loggerDirs = [tempDir(), tempDir()];
    const loggers = loggerDirs.map((dir, i) =>
      makeNode({ name: `logger-${i + 1}`, layout, ...via(manager), listenLogEndpoint: ANY_PORT, logging: { dir } }),
    );
    await Promise.all(loggers.map((l) => l.start()));
    const endpoints = loggers.map((l) => l.logEndpoint);
    const writers = await Promise.all(
      ["worker-1", "worker-2", "worker-3"].map((name) =>
        startNodeProcess({
          name,
          layout,
          options: { ...via(manager), connectLogEndpoints: endpoints, logging: { writeBufferSize: 7 } },
        }),
      ),
    );
    for (const w of writers) w.send({ cmd: "log", count: 2000, perTick: 100 });
    for (const w of writers) await w.waitForLine(/^logged 2000$/, 30_000);
    for (const w of writers) w.send({ cmd: "stop" });
    for (const w of writers) expect(await w.exited()).toBe(0);
    for (const l of loggers) await l.stop();
    const perLogger = loggerDirs.map((dir) => recordsIn(dir));
    expectExactlyOnce(perLogger.flat(), ["worker-1", "worker-2", "worker-3"], 2000);
    for (const records of perLogger) {
      for (const w of ["worker-1", "worker-2", "worker-3"])
        expect(records.filter((r) => r.writer === w).length).toBeGreaterThan(10);
    }
  }, 60_000);

  test("manager-is-logger: the workers' logs and the manager's own land on the manager", async () => {
    const dir = tempDir();
    const layout: ClusterLayout = {
      nodes: { manager: { type: "manager", ip: IP, port: 1 }, "worker-1": { type: "worker", ip: IP } },
    };
    const manager = await startManager(layout, { listenLogEndpoint: ANY_PORT, logging: { dir } });
    expect(manager.config.runProxyThread && manager.logReceiver !== undefined).toBe(true);
    const worker = makeNode({ name: "worker-1", layout, ...via(manager), connectLogEndpoints: [manager.logEndpoint] });
    await worker.start();
    for (let seq = 0; seq < 300; seq++) worker.log(TEST, { ts: 1, writer: "worker-1", seq });
    for (let seq = 0; seq < 50; seq++) manager.log(TEST, { ts: 2, writer: "manager", seq });
    expect(await worker.flushLogs(10_000)).toBe(true);
    await manager.stop();
    const records = recordsIn(dir);
    expectExactlyOnce(
      records.filter((r) => r.writer === "worker-1"),
      ["worker-1"],
      300,
    );
    expectExactlyOnce(
      records.filter((r) => r.writer === "manager"),
      ["manager"],
      50,
    );
  });

  test("a record written while the node stops is dropped and counted with one warning, not thrown", async () => {
    const dir = tempDir();
    const layout: ClusterLayout = { nodes: { manager: { type: "manager", ip: IP, port: 1 } } };
    const manager = await startManager(layout, { listenLogEndpoint: ANY_PORT, logging: { dir } });
    manager.on("zeek_done", () => manager.log(TEST, { ts: 1, writer: "zeek_done", seq: 0 })); // still accepted
    await manager.stop();
    expect(manager.log(TEST, { ts: 2, writer: "late", seq: 1 })).toBe(false);
    expect(manager.log(TEST, { ts: 2, writer: "late", seq: 2 })).toBe(false);
    expect(manager.stats().logDroppedRecords).toBe(2);
    expect(manager.reports.filter((r) => r.includes("after the writer closed"))).toHaveLength(1);
    expect(recordsIn(dir).map((r) => r.writer)).toEqual(["zeek_done"]);
    expect(() => manager.log(TEST, { ts: 2, writer: "late", seq: -1 })).toThrow(TypeError); // bad input still is
  });

  test("a stream with every field type is written as Zeek's TSV, byte for byte", async () => {
    const dir = tempDir();
    const manager = await startHub();
    const logger = makeNode({
      name: "tsv-logger",
      ...via(manager),
      listenLogEndpoint: ANY_PORT,
      logging: { dir, format: "tsv" },
    });
    await logger.start();
    const writer = makeNode({ name: "tsv-writer", ...via(manager), connectLogEndpoints: [logger.logEndpoint] });
    await writer.start();
    const ALL = defineStream({
      id: "All::LOG",
      path: "all",
      fields: {
        b: "bool",
        c: "count",
        i: "int",
        d: "double",
        t: "time",
        iv: "interval",
        s: "string",
        a: "addr",
        sn: "subnet",
        p: "port",
        e: "enum",
        ss: "set[string]",
        vc: "vector[count]",
        vd: "vector[double]",
        sa: "set[addr]",
        opt: { type: "string", optional: true },
      },
    });
    const records = [
      {
        b: true,
        c: 42,
        i: -7,
        d: 3.5,
        t: 1700000000.5,
        iv: 0.25,
        s: "hello\tworld",
        a: "192.168.1.1",
        sn: "10.0.0.0/8",
        p: 443,
        e: "Conn::LOG",
        ss: ["a", "b,c"],
        vc: [1, 2, 3],
        vd: [0.1, 2],
        sa: [],
      },
      {
        b: false,
        c: 0,
        i: 0,
        d: 2,
        t: 0,
        iv: 1,
        s: "",
        a: "::1",
        sn: "2001:db8::/32",
        p: 0,
        e: "x",
        ss: [],
        vc: [],
        vd: [1e-7],
        sa: ["10.1.1.1", "fe80::1"],
        opt: "-",
      },
      {
        b: true,
        c: 18446744073709551615n,
        i: -9007199254740993n,
        d: 0.1234567,
        t: 1.0000005,
        iv: 86400,
        s: "(empty)",
        a: "0.0.0.0",
        sn: "0.0.0.0/0",
        p: 65535,
        e: "T",
        ss: [""],
        vc: [0],
        vd: [-1.5],
        sa: ["::"],
        opt: "back\\slash é\x01",
      },
    ];
    for (const r of records) writer.log(ALL, r);
    expect(await writer.flushLogs(10_000)).toBe(true);
    await logger.stop();
    const written = readFileSync(join(dir, "all.log"), "utf8");
    expect(written).toMatch(/^#open\t\d{4}-\d\d-\d\d-\d\d-\d\d-\d\d$/m);
    expect(written.replace(/^#(open|close)\t[\d-]+$/gm, "#$1\tSTAMP")).toBe(
      readFileSync(join(import.meta.dir, "fixtures/all-types.tsv"), "utf8"),
    );
  });
});

describe("log overload and failures", () => {
  test("DROP with no logger reachable: the counted lost records equal what was written", async () => {
    const dir = tempDir();
    const manager = await startHub();
    const writer = makeNode({
      name: "dropper",
      ...via(manager),
      connectLogEndpoints: [`ipc://${join(dir, "nobody-listens")}`],
      logSndhwm: 5,
      logging: { overflowPolicy: "DROP", writeBufferSize: 10 },
    });
    await writer.start();
    for (let seq = 0; seq < 1000; seq++) writer.log(TEST, { ts: 1, writer: "dropper", seq });
    expect(await writer.flushLogs(300)).toBe(false); // nothing can be acknowledged
    await writer.stop();
    const s = writer.stats();
    expect(s.logRecordsWritten).toBe(1000);
    expect(s.logDroppedRecords).toBeGreaterThan(0);
    expect(s.logDroppedRecords + s.logLostRecords).toBe(1000);
    expect(s.logDroppedBatches + s.logLostBatches).toBe(100);
    expect(writer.reports.some((r) => r.includes("log: warn: dropped a batch"))).toBe(true);
  });

  test("BLOCK with the logger stopped and restarted mid-stream: every record arrives, none twice", async () => {
    const dir = tempDir();
    const layout: ClusterLayout = {
      nodes: {
        manager: { type: "manager", ip: IP },
        logger: { type: "logger", ip: IP, port: 1 },
        "worker-1": { type: "worker", ip: IP },
      },
    };
    const manager = await startManager(layout, { connectLogEndpoints: ["ipc:///nonexistent"] });
    const endpoint = `ipc://${join(dir, "logger.sock")}`;
    const loggerSpec = {
      name: "logger",
      layout,
      options: { ...via(manager), listenLogEndpoint: endpoint, logging: { dir } },
    };
    let logger = await startNodeProcess(loggerSpec);
    const writer = await startNodeProcess({
      name: "worker-1",
      layout,
      options: { ...via(manager), connectLogEndpoints: [endpoint], logSndhwm: 20, logging: { writeBufferSize: 50 } },
    });
    writer.send({ cmd: "log", count: 20_000, perTick: 100 });
    await waitFor(
      async () => ((await statsOf(logger)).logRecordsReceived as number) > 1000,
      "the logger to receive records",
      20_000,
    );
    logger.send({ cmd: "stop" });
    expect(await logger.exited()).toBe(0);
    logger = await startNodeProcess(loggerSpec);
    await writer.waitForLine(/^logged 20000$/, 60_000);
    const w = await statsOf(writer);
    expect([w.logDroppedRecords, w.logLostRecords]).toEqual([0, 0]);
    writer.send({ cmd: "stop" });
    await writer.exited();
    logger.send({ cmd: "stop" });
    await logger.exited();
    expectExactlyOnce(recordsIn(dir), ["worker-1"], 20_000);
  }, 90_000);

  test("a malformed batch is counted, reported once per kind and skipped; the logger keeps going", async () => {
    const dir = tempDir();
    const manager = await startHub();
    const logger = makeNode({ name: "sturdy", ...via(manager), listenLogEndpoint: ANY_PORT, logging: { dir } });
    await logger.start();
    const ctx = new Context();
    const push = ctx.socket("PUSH");
    push.connect(logger.logEndpoint);
    const good = encodeBatch({
      stream: TEST.id,
      path: "test",
      fields: [...TEST.fields],
      records: [recordValues(TEST, { ts: 1, writer: "raw", seq: 0 })],
    });
    const fmt = bytes(LOG_FORMAT);
    for (let i = 0; i < 2; i++) {
      push.send([bytes("log-write"), bytes("raw"), fmt]); // 3 frames
      push.send([bytes("log-write"), bytes("raw"), bytes("json-log-v9"), good]); // a format nobody reads
      push.send([bytes("log-write"), bytes("raw"), fmt, new Uint8Array([0xc1])]); // not msgpack
      push.send([
        bytes("log-write"),
        bytes("raw"),
        fmt,
        encodeBatch({ stream: "S", path: "p", fields: [...TEST.fields], records: [[1]] }),
      ]);
      push.send([bytes("log-write"), bytes("raw"), bytes(ZEEK_LOG_FORMAT), good]); // msgpack is no zeek-bin-serializer batch
    }
    push.send([bytes("log-write"), bytes("raw"), fmt, good]);
    await waitFor(() => logger.stats().logRecordsReceived === 1, "the good batch");
    expect(logger.stats().msgErrors).toBe(10);
    expect(logger.reports.filter((r) => r.includes("expected 4 parts"))).toHaveLength(1);
    expect(logger.reports.filter((r) => r.includes("Failed to unserialize log message"))).toHaveLength(2);
    expect(logger.reports.filter((r) => r.includes("using 'zeek-bin-serializer'"))).toHaveLength(1);
    expect(logger.reports.join("\n")).toContain(
      "Got log message in format 'json-log-v9', but have deserializers 'zeek-bin-serializer' and 'msgpack-log-v1'",
    );
    ctx.close();
    await logger.stop();
    expect(recordsIn(dir)).toEqual([{ ts: 1.0, writer: "raw", seq: 0 } as never]);
  });

  test("a node with nowhere to send logs says so", async () => {
    const node = makeNode({
      name: "mute",
      connectXpubEndpoint: "tcp://127.0.0.1:9",
      connectXsubEndpoint: "tcp://127.0.0.1:9",
    });
    expect(() => node.log(TEST, { ts: 1, writer: "x", seq: 0 })).toThrow(
      /node 'mute' is no logger and has no connectLogEndpoints/,
    );
  });
});
