// Acknowledgments whatever the log format: the request travels in frame 0 (`log-write;seq=N`, which a
// Zeek logger ignores); a logger of this library says it acknowledges by a subscription; a writer
// that meets a logger which does not stops asking, never sends a batch again, and counts what it sent
// as unacknowledged. Also the `logSerializer` option, and hostile batches sent over the network.

import { afterEach, describe, expect, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { ackRequest } from "../lib/_frames.ts";
import { Context, DONTWAIT, type Socket } from "../lib/_zmq.ts";
import type { ClusterLayout } from "../lib/layout.ts";
import {
  decodeBatch,
  decodeZeekBatch,
  defineStream,
  encodeZeekBatch,
  recordValues,
  ZEEK_LOG_FORMAT,
} from "../lib/logformat.ts";
import { ClusterNode } from "../lib/pubsub.ts";
import { acknowledgedWriters, makeNode, startHub, startManager, via } from "./cluster-helpers.ts";
import { ANY_PORT, bytes, TempDirs, text, waitFor } from "./helpers.ts";

const dirs = new TempDirs("zeek-acks-");
const contexts: Context[] = [];
afterEach(() => {
  for (const ctx of contexts.splice(0)) ctx.close();
  dirs.cleanup();
});
const tempDir = dirs.make;
const IP = "127.0.0.1";
const TEST = defineStream({ id: "Test::LOG", path: "test", fields: { ts: "time", writer: "string", seq: "count" } });

/** A PULL socket standing in for a logger that never acknowledges (as Zeek's); returns it and its endpoint. */
function rawLogger(): { pull: Socket; endpoint: string } {
  const ctx = new Context();
  contexts.push(ctx);
  const pull = ctx.socket("PULL");
  pull.bind(ANY_PORT);
  return { pull, endpoint: pull.lastEndpoint };
}

/** Everything the raw logger holds now: [frame 0, format, payload] per message. */
function drainRaw(pull: Socket): [string, string, Uint8Array][] {
  const got: [string, string, Uint8Array][] = [];
  for (let m = pull.recv(DONTWAIT); m; m = pull.recv(DONTWAIT)) got.push([text(m[0]), text(m[2]), m[3]!]);
  return got;
}

describe("the acknowledgment request", () => {
  test("frame 0 carries it: log-write;seq=N, parsed strictly", () => {
    expect(ackRequest(bytes("log-write;seq=17"))).toBe(17);
    for (const other of [
      "log-write",
      "log-write;seq=",
      "log-write;seq=0",
      "log-write;seq=4294967296",
      "log-write;seq=1x",
      "log-writes;seq=1",
    ]) {
      expect(ackRequest(bytes(other))).toBeUndefined();
    }
  });

  test("in every format: Bun writers of both formats and a Bun logger, acknowledged and written once", async () => {
    const dir = tempDir();
    const manager = await startManager(
      { nodes: { manager: { type: "manager", ip: IP, port: 1 } } },
      { listenLogEndpoint: ANY_PORT, logging: { dir } },
    );
    await acknowledgedWriters(manager, 100);
    await manager.stop();
    const lines = readdirSync(dir).flatMap((f) => readFileSync(join(dir, f), "utf8").split("\n").filter(Boolean));
    expect(lines).toHaveLength(200);
  });
});

describe("a logger that does not acknowledge", () => {
  test("without a layout, acknowledge: false sends plain log-write and counts every batch as unacknowledged", async () => {
    const { pull, endpoint } = rawLogger();
    const hub = await startHub({
      connectLogEndpoints: [endpoint],
      logging: { acknowledge: false, writeBufferSize: 5 },
    });
    for (let seq = 0; seq < 20; seq++) hub.log(TEST, { ts: 1, writer: "hub", seq });
    expect(await hub.flushLogs(5000)).toBe(true);
    const got = await waitFor(() => {
      const all = drainRaw(pull);
      return all.length > 0 ? all : undefined;
    }, "batches at the raw logger");
    await waitFor(() => (got.push(...drainRaw(pull)), got.length === 4), "4 batches");
    expect(got.map(([first, format]) => `${first} ${format}`)).toEqual(Array(4).fill(`log-write ${ZEEK_LOG_FORMAT}`));
    expect(got.flatMap(([, , payload]) => decodeZeekBatch(payload).records.map((r) => r[2]))).toEqual(
      Array.from({ length: 20 }, (_, i) => i),
    );
    expect(hub.stats()).toMatchObject({
      logUnackedBatches: 4,
      logUnackedRecords: 20,
      logBatchesSent: 4,
      logLostRecords: 0,
    });
  });

  test("in a layout: a logger that comes up without saying it acknowledges turns the writer's in-flight batches into unacknowledged ones, never sent again", async () => {
    const { pull, endpoint } = rawLogger();
    const layout: ClusterLayout = {
      nodes: {
        manager: { type: "manager", ip: IP },
        logger: { type: "logger", ip: IP, port: 1 },
        "worker-1": { type: "worker", ip: IP },
      },
    };
    const manager = await startManager(layout, { connectLogEndpoints: [endpoint] });
    const writer = makeNode({
      name: "worker-1",
      layout,
      ...via(manager),
      connectLogEndpoints: [endpoint],
      logging: { writeBufferSize: 5, resendAfter: 300 },
    });
    await writer.start();
    for (let seq = 0; seq < 10; seq++) writer.log(TEST, { ts: 1, writer: "w", seq });
    expect(await writer.flushLogs(200)).toBe(false); // the logger's kind is unknown yet: the writer asks and waits
    expect(writer.logWriter!.acknowledging).toBe(true);
    // A node named "logger" joins that has no log receiver, so it never subscribes to log-acks: like Zeek's.
    const silent = makeNode({
      name: "logger",
      layout,
      ...via(manager),
      listenLogEndpoint: "",
      connectLogEndpoints: [endpoint],
    });
    await silent.start();
    await waitFor(() => !writer.logWriter!.acknowledging, "the writer to see the logger does not acknowledge");
    for (let seq = 10; seq < 20; seq++) writer.log(TEST, { ts: 1, writer: "w", seq });
    expect(await writer.flushLogs(5000)).toBe(true);
    await Bun.sleep(700); // past resendAfter: nothing may come again
    const got = drainRaw(pull);
    expect(got.map(([first]) => first)).toEqual(["log-write;seq=1", "log-write;seq=2", "log-write", "log-write"]);
    expect(got.flatMap(([, , payload]) => decodeZeekBatch(payload).records.map((r) => r[2]))).toEqual(
      Array.from({ length: 20 }, (_, i) => i),
    );
    await writer.stop();
    expect(writer.stats()).toMatchObject({
      logUnackedBatches: 4,
      logUnackedRecords: 20,
      logBatchesResent: 0,
      logLostRecords: 0,
      logDroppedRecords: 0,
    });
    expect(writer.reports.filter((r) => r.includes("logger 'logger' does not acknowledge"))).toHaveLength(1);
  });

  test("a logger of this library comes up saying it acknowledges: the writer keeps asking", async () => {
    const dir = tempDir();
    const layout: ClusterLayout = {
      nodes: {
        manager: { type: "manager", ip: IP },
        logger: { type: "logger", ip: IP, port: 1 },
        "worker-1": { type: "worker", ip: IP },
      },
    };
    const manager = await startManager(layout, { connectLogEndpoints: ["ipc:///nonexistent"] });
    const logger = makeNode({ name: "logger", layout, ...via(manager), listenLogEndpoint: ANY_PORT, logging: { dir } });
    await logger.start();
    const writer = makeNode({ name: "worker-1", layout, ...via(manager), connectLogEndpoints: [logger.logEndpoint] });
    const up = new Promise((resolve) =>
      writer.on("Cluster::node_up", (name: string) => name === "logger" && resolve(name)),
    );
    await writer.start();
    await up;
    expect(writer.logWriter!.acknowledging).toBe(true);
    for (let seq = 0; seq < 10; seq++) writer.log(TEST, { ts: 1, writer: "w", seq });
    expect(await writer.flushLogs(5000)).toBe(true);
    expect(writer.stats()).toMatchObject({ logBatchesAcked: 1, logUnackedBatches: 0 });
  });
});

describe("the logSerializer option", () => {
  test("Zeek's name or this library's; anything else names the option and the value", () => {
    const base = { name: "n", connectXpubEndpoint: "tcp://127.0.0.1:9", connectXsubEndpoint: "tcp://127.0.0.1:9" };
    expect(() => new ClusterNode({ ...base, logSerializer: "json-log" })).toThrow(RangeError);
    expect(() => new ClusterNode({ ...base, logSerializer: "json-log" })).toThrow(
      "Invalid option 'logSerializer': expected \"zeek-bin-serializer\" or \"msgpack-log-v1\", got 'json-log'",
    );
    expect(() => new ClusterNode({ ...base, logSerializer: "toString" })).toThrow(RangeError);
    expect(() => new ClusterNode({ ...base, logSerializer: 7 as never })).toThrow(TypeError);
  });

  test("the default is Zeek's: a writer's batches go as zeek-bin-serializer, Zeek's stream, writer and filter names", async () => {
    const { pull, endpoint } = rawLogger();
    const hub = await startHub({ connectLogEndpoints: [endpoint], logging: { acknowledge: false } });
    const CONN = defineStream({
      id: "Conn::LOG",
      path: "conn",
      filter: "f2",
      fields: { ts: "time", "id.orig_p": "port" },
    });
    hub.log(CONN, { ts: 1.5, "id.orig_p": "53/udp" });
    await hub.flushLogs(5000);
    const [, format, payload] = await waitFor(() => drainRaw(pull)[0], "a batch");
    expect(format).toBe(ZEEK_LOG_FORMAT);
    const raw = decodeZeekBatch(payload, 0, payload.length, { exact: true });
    expect([raw.stream, raw.writer, raw.filter, raw.path]).toEqual(["Conn::LOG", "Log::WRITER_ASCII", "f2", "conn"]);
    expect(JSON.stringify(raw.records)).toBe(
      '[[{"type":5,"subtype":0,"value":1.5},{"type":10,"subtype":0,"value":"53/udp"}]]',
    );
    expect(() => decodeBatch(payload)).toThrow(); // not msgpack
  });
});

describe("hostile batches over the network", () => {
  for (const pullEngine of ["libzmq", "bun"] as const)
    test(`each is counted, reported once per kind, and skipped without a large allocation; the logger keeps going (pullEngine "${pullEngine}")`, async () => {
      const dir = tempDir();
      const manager = await startManager(
        { nodes: { manager: { type: "manager", ip: IP, port: 1 } } },
        { listenLogEndpoint: ANY_PORT, logging: { dir }, pullEngine },
      );
      const ctx = new Context();
      contexts.push(ctx);
      const push = ctx.socket("PUSH");
      push.connect(manager.logEndpoint);
      const good = encodeZeekBatch({
        stream: TEST.id,
        path: "test",
        fields: [...TEST.fields],
        records: [recordValues(TEST, { ts: 1, writer: "raw", seq: 0 })],
      });
      const u32 = [0xff, 0xff, 0xff, 0xff];
      const noRecords = encodeZeekBatch({ stream: TEST.id, path: "test", fields: [...TEST.fields], records: [] });
      const hostile = [
        new Uint8Array([...noRecords.subarray(0, -4), ...u32, 0, 0, 0, 5]), // 2^32-1 records in a few bytes
        new Uint8Array([...good.subarray(0, 53), ...u32, 0]), // 2^32-1 fields (after the 53 bytes of names)
        good.subarray(0, good.length - 3), // truncated
      ];
      const rss = process.memoryUsage().rss;
      for (let round = 0; round < 200; round++)
        for (const h of hostile) push.send([bytes("log-write"), bytes("raw"), bytes(ZEEK_LOG_FORMAT), h]);
      push.send([bytes("log-write;seq=1"), bytes("raw"), bytes(ZEEK_LOG_FORMAT), good]);
      await waitFor(() => manager.stats().logRecordsReceived === 1, "the good batch", 10_000);
      expect(manager.stats().msgErrors).toBe(600);
      expect(manager.reports.filter((r) => r.includes("Failed to unserialize log message"))).toHaveLength(1);
      expect(process.memoryUsage().rss - rss).toBeLessThan(64 * 2 ** 20);
      await manager.stop();
    });
});
