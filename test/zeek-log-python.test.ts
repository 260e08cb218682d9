// An independent Zeek-like writer: a Python PUSH peer (Debian's pyzmq) that encodes zeek-bin-serializer
// batches itself, sending the records of a conn-like stream with every field type. The records are
// those of Zeek's test baseline testing/btest/Baseline/core.tunnels.teredo/conn.log (Zeek 9.1 run over
// the test's trace with the test's seeds gives that conn.log exactly), with derived columns of the
// types conn.log lacks (fixtures/zeek-connx.zeek); fixtures/zeek-connx.{tsv,json} are what Zeek
// itself wrote for them. The Bun logger's files must be the same bytes, header times aside.

import { afterEach, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { LogFiles } from "../lib/_logfiles.ts";
import { makeNode } from "./cluster-helpers.ts";
import { ANY_PORT, PYTHON, spawnChild, TempDirs, waitFor } from "./helpers.ts";

const FIXTURES = join(import.meta.dir, "fixtures");
const OPTIONAL =
  "service,duration,orig_bytes,resp_bytes,conn_state,local_orig,history,tunnel_parents,byte_balance,bytes_per_sec";
const dirs = new TempDirs("zeek-py-log-");
afterEach(dirs.cleanup);

test.skipIf(!PYTHON)(
  "a Python peer's zeek-bin-serializer batches of Zeek baseline records: the Bun logger writes Zeek's TSV and JSON",
  async () => {
    const dir = dirs.make();
    const json = new LogFiles({ dir: join(dir, "json"), format: "json" });
    let received = 0;
    const logger = makeNode({
      name: "py-logger",
      runProxyThread: true,
      listenXsubEndpoint: ANY_PORT,
      listenXpubEndpoint: ANY_PORT,
      listenLogEndpoint: ANY_PORT,
      logging: { dir, format: "tsv", sink: (batch) => void (json.write(batch), (received += batch.records.length)) },
    });
    await logger.start();
    const py = spawnChild([
      PYTHON!,
      join(FIXTURES, "py_zeek_log_peer.py"),
      logger.logEndpoint,
      join(FIXTURES, "zeek-connx.json"),
      join(FIXTURES, "zeek-connx.tsv"),
      OPTIONAL,
    ]);
    expect(await py.exited(15_000)).toBe(0);
    expect(py.lines).toContain("sent 21");
    await waitFor(() => received === 21, "21 records at the logger");
    await logger.stop();
    json.close();
    expect(logger.stats()).toMatchObject({ msgErrors: 0, logBatchesReceived: 3, logRecordsReceived: 21 });
    const tsv = readFileSync(join(dir, "connx.log"), "utf8");
    expect(tsv).toMatch(/^#open\t\d{4}(-\d\d){5}\n/m);
    expect(tsv.replace(/^#(open|close)\t.*$/gm, "#$1\tSTAMP")).toBe(
      readFileSync(join(FIXTURES, "zeek-connx.tsv"), "utf8"),
    );
    expect(readFileSync(join(dir, "json", "connx.log"), "utf8")).toBe(
      readFileSync(join(FIXTURES, "zeek-connx.json"), "utf8"),
    );
  },
);
