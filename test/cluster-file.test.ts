import { describe, expect, test } from "bun:test";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type ClusterFile, loadClusterFile, validateClusterFile } from "../lib/cluster-file.ts";

const FIXTURES = new URL("./fixtures/cluster/", import.meta.url).pathname;
const IP = "127.0.0.1";
const base: ClusterFile["nodes"] = {
  manager: { type: "manager", ip: IP },
  logger: { type: "logger", ip: IP, port: 27762 },
};

describe("cluster files", () => {
  test("a TS module: scripts per node and per type resolved against the file, env merged per node, options and logging kept", async () => {
    const file = await loadClusterFile(join(FIXTURES, "typed.ts"));
    expect(file.scripts).toEqual({
      manager: join(FIXTURES, "../node-driver.ts"),
      "worker-1": join(FIXTURES, "broken-node.ts"),
    });
    expect(file.env.logger).toEqual({ WHO: "the logger", SHARED: "1" });
    expect(file.env.manager).toEqual({ WHO: "everyone", SHARED: "1" });
    expect(file.options).toEqual({ overflowPolicy: "DROP" });
    expect(file.logging).toEqual({ dir: join(FIXTURES, "out"), format: "tsv" });
    expect(file.layout.managerIsLogger).toBe(false);
  });

  test("JSON files load the same way; the demo's validates", async () => {
    const demo = await loadClusterFile(new URL("../scripts/demo/cluster.json", import.meta.url).pathname);
    expect(Object.keys(demo.layout.nodes)).toEqual(["manager", "logger", "proxy", "worker-1", "worker-2"]);
    expect(demo.scripts.proxy).toBeUndefined(); // runs the plain node script
  });

  test("managerIsLogger makes the manager the sink (it then needs a port)", () => {
    const file = validateClusterFile(
      {
        nodes: { manager: { type: "manager", ip: IP, port: 27761 }, w: { type: "worker", ip: IP } },
        managerIsLogger: true,
      },
      FIXTURES,
    );
    expect(file.layout.managerIsLogger).toBe(true);
    expect(() =>
      validateClusterFile(
        { nodes: { manager: { type: "manager", ip: IP }, w: { type: "worker", ip: IP } }, managerIsLogger: true },
        FIXTURES,
      ),
    ).toThrow(/nodes\["manager"\]\.port: expected a port: this node receives the logs/);
  });

  const cases: [string, unknown, ErrorConstructor, RegExp][] = [
    ["unknown top-level field", { nodes: base, scirpts: {} }, TypeError, /unknown field 'scirpts'/],
    [
      "unknown node type",
      { nodes: { ...base, w: { type: "wroker", ip: IP } } },
      RangeError,
      /nodes\["w"\]\.type: .*got 'wroker'/,
    ],
    [
      "missing script file",
      { nodes: { ...base, w: { type: "worker", ip: IP, script: "./nope.ts" } } },
      RangeError,
      /nodes\["w"\]\.script: expected an existing file, got ".*nope\.ts"/,
    ],
    [
      "script of the wrong type",
      { nodes: { ...base, w: { type: "worker", ip: IP, script: 7 } } },
      TypeError,
      /nodes\["w"\]\.script: expected a file path, got 7/,
    ],
    [
      "type script for an unknown type",
      { nodes: base, scripts: { wroker: "./x.ts" } },
      RangeError,
      /scripts\.wroker: expected manager \| logger \| proxy \| worker/,
    ],
    [
      "env value not a string",
      { nodes: { ...base, w: { type: "worker", ip: IP, env: { N: 1 } } } },
      TypeError,
      /nodes\["w"\]\.env\.N: expected a string, got 1/,
    ],
    [
      "shared env not an object",
      { nodes: base, env: "A=1" },
      TypeError,
      /env: expected an object of strings, got "A=1"/,
    ],
    [
      "bad option value",
      { nodes: base, options: { overflowPolicy: "SPILL" } },
      RangeError,
      /options: .*overflowPolicy.*SPILL/,
    ],
    ["unknown option", { nodes: base, options: { hwm: 5 } }, TypeError, /options: Unknown option 'hwm'/],
    ["logging not an object", { nodes: base, logging: "logs" }, TypeError, /logging: expected an object, got "logs"/],
    ["nodes missing", {}, TypeError, /nodes: expected an object of nodes by name/],
  ];
  for (const [what, file, Err, message] of cases) {
    test(`${what}: ${Err.name} naming it`, () => {
      expect(() => validateClusterFile(file as ClusterFile, FIXTURES)).toThrow(Err);
      expect(() => validateClusterFile(file as ClusterFile, FIXTURES)).toThrow(message);
    });
  }

  test("a file that does not exist or is not JSON is a TypeError naming the path", async () => {
    const dir = mkdtempSync(join(tmpdir(), "cluster-file-"));
    writeFileSync(join(dir, "bad.json"), "{ nodes: ");
    expect(loadClusterFile(join(dir, "missing.json"))).rejects.toThrow(/missing\.json' does not exist/);
    expect(loadClusterFile(join(dir, "bad.json"))).rejects.toThrow(
      /bad\.json:1:3: not valid JSON: expected a property name in double quotes, got 'n'$/,
    );
  });
});
