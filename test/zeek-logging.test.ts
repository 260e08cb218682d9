// Logging between real Zeek nodes (/opt/zeek, see test/zeek-harness.ts) and this library's nodes, in
// both directions: a Zeek worker's zeek-bin-serializer batches written by a Bun logger exactly as a
// Zeek logger writes them (TSV and JSON), and a Bun writer's batches written by a Zeek logger, which
// never acknowledges. Skipped, saying why, where Zeek cannot run.

import { afterEach, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { LogFiles } from "../lib/_logfiles.ts";
import { decodeZeekBatch, defineStream } from "../lib/logformat.ts";
import { getFormat } from "../lib/serializer.ts";
import { makeNode } from "./cluster-helpers.ts";
import { spawnChild, waitFor } from "./helpers.ts";
import { mixedCluster, startZeek, stopZeekClusters, ZEEK } from "./zeek-harness.ts";

afterEach(stopZeekClusters);

const FIXTURES = join(import.meta.dir, "fixtures");
const ALLTYPES = readFileSync(join(FIXTURES, "zeek-alltypes.zeek"), "utf8");
// Zeek's hash seeds fixed, so that both Zeek workers put set elements in the same order.
const SEEDS = Array(21).fill("0").join(" ");
const stamps = (text: string) => text.replace(/^#(open|close)\t.*$/gm, "#$1\tSTAMP");
const lines = (file: string) =>
  existsSync(file)
    ? readFileSync(file, "utf8")
        .split("\n")
        .filter((l) => l !== "" && !l.startsWith("#")).length
    : 0;

/** A cluster whose manager (the broker) is a Bun node, started; the logger and worker as given. */
async function clusterWith(logger: "zeek" | "bun", worker: "zeek" | "bun") {
  const cluster = mixedCluster({
    nodes: {
      manager: { type: "manager", impl: "bun" },
      logger: { type: "logger", impl: logger },
      "worker-1": { type: "worker", impl: worker },
    },
  });
  await makeNode(cluster.bunOptions("manager")).start();
  return cluster;
}

describe.skipIf(!ZEEK)("with a real Zeek", () => {
  test("(c) a Zeek worker logs every field type to a Bun logger, whose TSV and JSON equal a Zeek logger's", async () => {
    // The Bun logger writes TSV, and JSON through its sink.
    const bun = await clusterWith("bun", "zeek");
    const json = new LogFiles({ dir: join(bun.dir, "json"), format: "json" });
    let received = 0;
    const logger = makeNode({
      ...bun.bunOptions("logger"),
      logging: {
        dir: bun.nodeDir("logger"),
        format: "tsv",
        sink: (batch) => void (batch.path === "alltypes" && (json.write(batch), (received += batch.records.length))),
      },
    });
    await logger.start();
    const worker = await startZeek("worker-1", ALLTYPES, bun, {
      env: { ZEEK_SEED_VALUES: SEEDS, ALLTYPES_WRITER: "worker-1" },
    });
    const wrote = Number((await worker.waitForLine(/^alltypes: wrote (\d+)$/, 15_000))[1]);
    await waitFor(() => received === wrote, `${wrote} records at the Bun logger`, 10_000);
    await worker.stop();
    await logger.stop();
    json.close();
    expect(logger.stats().msgErrors).toBe(0);

    // The same records, from a Zeek worker to a Zeek logger.
    const zeek = await clusterWith("zeek", "zeek");
    const zeekLogger = await startZeek("logger", ALLTYPES, zeek, { env: { ZEEK_SEED_VALUES: SEEDS } });
    const zeekWorker = await startZeek("worker-1", ALLTYPES, zeek, {
      env: { ZEEK_SEED_VALUES: SEEDS, ALLTYPES_WRITER: "worker-1" },
    });
    await zeekWorker.waitForLine(/^alltypes: wrote \d+$/, 15_000);
    const zeekTsv = join(zeekLogger.dir, "alltypes.log");
    await waitFor(() => lines(zeekTsv) === wrote, `${wrote} records in the Zeek logger's file`, 10_000).catch(
      () => undefined,
    ); // it may buffer until it stops
    await zeekWorker.stop();
    await zeekLogger.stop();

    const ours = readFileSync(join(bun.nodeDir("logger"), "alltypes.log"), "utf8");
    expect(ours.split("\n").filter((l) => !l.startsWith("#") && l !== "")).toHaveLength(wrote);
    expect(stamps(ours)).toBe(stamps(readFileSync(zeekTsv, "utf8")));
    expect(readFileSync(join(bun.dir, "json", "alltypes.log"), "utf8")).toBe(
      readFileSync(join(zeekLogger.dir, "alltypes-json.log"), "utf8"),
    );
  }, 60_000);

  test("the conn-like records of the Python peer test: Zeek writes fixtures/zeek-connx.{tsv,json} for them (set orders aside)", async () => {
    const script = readFileSync(join(FIXTURES, "zeek-connx.zeek"), "utf8");
    const header = readFileSync(join(FIXTURES, "zeek-connx.tsv"), "utf8")
      .split("\n")
      .filter((l) => /^#(fields|types)\t/.test(l))
      .map((l) => l.split("\t").slice(1));
    const types = Object.fromEntries(header[0]!.map((name, i) => [name, header[1]![i]!]));
    const records = readFileSync(join(FIXTURES, "zeek-connx.json"), "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    // Each record as a Zeek literal: Zeek parses the shortest decimal of a double back to the same double.
    const literal = (type: string, v: unknown, r: Record<string, unknown>): string => {
      const m = /^(set|vector)\[(\w+)\]$/.exec(type);
      if (m) return `${m[1]}(${(v as unknown[]).map((x) => literal(m[2]!, x, r)).join(", ")})`;
      const text = String(v);
      switch (type) {
        case "time":
        case "interval":
          return `double_to_${type}(${text})`;
        case "double":
          return Number.isInteger(v) ? `${text}.0` : text;
        case "string":
          return JSON.stringify(v);
        case "port":
          return `${text}/${String(r.proto)}`;
        case "addr":
          return text.includes(":") ? `[${text}]` : text;
        case "subnet":
          return text.includes(":") ? `[${text.split("/")[0]}]/${text.split("/")[1]}` : text;
        case "bool":
          return v ? "T" : "F";
        case "int":
          return (v as number) < 0 ? text : `+${text}`;
        default:
          return text;
      }
    };
    const writes = records.map(
      (r) =>
        `Log::write(ConnX::LOG, ConnX::Info(${Object.entries(r)
          .map(([k, v]) => `$${k}=${literal(types[k]!, v, r)}`)
          .join(", ")}));`,
    );
    const dir = mkdtempSync(join(tmpdir(), "zeek-connx-"));
    try {
      writeFileSync(
        join(dir, "connx.zeek"),
        `${script.slice(script.indexOf("module ConnX;"), script.indexOf("event zeek_init()"))}
event zeek_init() {
  Log::create_stream(ConnX::LOG, [$columns=Info, $path="connx"]);
  Log::add_filter(ConnX::LOG, [$name="json", $path="connx-json", $config=table(["use_json"] = "T")]);
  ${writes.join("\n  ")}
}
`,
      );
      const run = spawnChild(["env", "-C", dir, ZEEK!, "-b", "connx.zeek"]);
      expect(await run.exited(20_000)).toBe(0);
      expect(run.lines.filter((l) => l !== "")).toEqual([]);
      const sets = (line: string) =>
        line.replace(
          /("(?:tunnel_parents|hosts|ports)":\[)([^\]]*)\]/g,
          (_, key: string, items: string) => `${key}${items.split(",").sort().join(",")}]`,
        );
      const tsvSets = (line: string) =>
        line
          .split("\t")
          .map((f, i) => ([15, 20, 21].includes(i) ? f.split(",").sort().join(",") : f))
          .join("\t");
      expect(
        stamps(readFileSync(join(dir, "connx.log"), "utf8"))
          .split("\n")
          .map(tsvSets),
      ).toEqual(readFileSync(join(FIXTURES, "zeek-connx.tsv"), "utf8").split("\n").map(tsvSets));
      expect(readFileSync(join(dir, "connx-json.log"), "utf8").split("\n").map(sets)).toEqual(
        readFileSync(join(FIXTURES, "zeek-connx.json"), "utf8").split("\n").map(sets),
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  /** The records a Zeek worker sent (fixtures), to be written again by a Bun writer. */
  function alltypesRecords() {
    const batch = decodeZeekBatch(
      new Uint8Array(
        Buffer.from(readFileSync(join(FIXTURES, "zeek-alltypes.batch.hex"), "utf8").replace(/\s+/g, ""), "hex"),
      ),
    );
    const fields = Object.fromEntries(batch.fields.map((f) => [f.name, { type: f.type, optional: f.optional }]));
    const streams = [
      defineStream({ id: batch.stream, path: "alltypes", fields }),
      defineStream({ id: batch.stream, path: "alltypes-json", filter: "json", fields }),
    ];
    const records = batch.records.map((r) =>
      Object.fromEntries(r.map((v, i) => [batch.fields[i]!.name, v]).filter(([, v]) => v !== null)),
    );
    return { streams, records };
  }

  /** Writes the records through `writer` to both of Zeek's filters; checks the Zeek logger's files once it stopped. */
  async function writeToZeekLogger(
    writer: ReturnType<typeof makeNode>,
    zeekLogger: Awaited<ReturnType<typeof startZeek>>,
  ) {
    const { streams, records } = alltypesRecords();
    for (const stream of streams) for (const record of records) writer.log(stream, record);
    expect(await writer.flushLogs(10_000)).toBe(true);
    const file = join(zeekLogger.dir, "alltypes.log");
    await waitFor(() => lines(file) === records.length, "the records in the Zeek logger's file", 10_000).catch(
      () => undefined,
    ); // it may buffer until it stops
    await writer.stop();
    await zeekLogger.stop();
    expect(zeekLogger.lines.filter((l) => /error/i.test(l))).toEqual([]);
    // What Zeek wrote is what it wrote for the same records coming from a Zeek worker.
    expect(stamps(readFileSync(file, "utf8"))).toBe(readFileSync(join(FIXTURES, "zeek-alltypes.tsv"), "utf8"));
    expect(readFileSync(join(zeekLogger.dir, "alltypes-json.log"), "utf8")).toBe(
      readFileSync(join(FIXTURES, "zeek-alltypes.json"), "utf8"),
    );
    // Every record sent once, none acknowledged (Zeek never does), none lost or dropped uncounted.
    expect(writer.stats()).toMatchObject({
      logRecordsWritten: 2 * records.length,
      logUnackedRecords: 2 * records.length,
      logBatchesResent: 0,
      logLostRecords: 0,
      logDroppedRecords: 0,
    });
  }

  test("(d) a Bun writer without a layout logs every field type to a Zeek logger: Zeek writes every record, counted as unacknowledged", async () => {
    const zeek = await clusterWith("zeek", "bun");
    const zeekLogger = await startZeek("logger", ALLTYPES, zeek);
    const { layout: _, ...options } = zeek.bunOptions("worker-1");
    const writer = makeNode({ ...options, name: "bun-writer", logging: { acknowledge: false, writeBufferSize: 50 } });
    await writer.start();
    await writeToZeekLogger(writer, zeekLogger);
  }, 60_000);

  test.skipIf(!getFormat("broker-bin-v1"))(
    "(d) in a shared layout, the Bun writer sees the Zeek logger come up and stops asking for acknowledgments by itself",
    async () => {
      const zeek = await clusterWith("zeek", "bun");
      const zeekLogger = await startZeek("logger", ALLTYPES, zeek);
      const writer = makeNode({
        ...zeek.bunOptions("worker-1"),
        eventSerializer: "broker-bin-v1",
        logging: { writeBufferSize: 50 },
      });
      const up = new Promise((resolve) =>
        writer.on("Cluster::node_up", (name: string) => name === "logger" && resolve(name)),
      );
      await writer.start();
      await Promise.race([
        up,
        Bun.sleep(10_000).then(() =>
          Promise.reject(new Error(`no node_up from the Zeek logger within 10 s:\n${zeekLogger.lines.join("\n")}`)),
        ),
      ]);
      // The writer gives a logger that came up a moment to say it acknowledges, then takes it for one that never does.
      await waitFor(
        () => !writer.logWriter!.acknowledging,
        "the writer to take the Zeek logger for one that never acknowledges",
        5000,
      );
      await writeToZeekLogger(writer, zeekLogger);
      expect(writer.reports.filter((r) => r.includes("logger 'logger' does not acknowledge"))).toHaveLength(1);
    },
    60_000,
  );
});
