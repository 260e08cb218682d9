// The public API: mod.ts names every export on purpose, the subpaths of package.json export what their
// job needs, every exported value has a titled @example (Deno std's rule), and private modules (a
// leading `_`) are reachable from no public entry point's surface.

import { expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import * as mod from "../mod.ts";

const root = join(import.meta.dir, "..");
const read = (path: string) => readFileSync(join(root, path), "utf8");
const pkg = JSON.parse(read("package.json")) as { exports: Record<string, string> };

test("mod.ts exports the public API, name by name, about 40 names", async () => {
  const source = read("mod.ts");
  expect(source).not.toMatch(/^export \*/m);
  const names = [...source.matchAll(/^export (type )?\{([^}]*)\}/gm)].flatMap((m) =>
    m[2]!
      .split(",")
      .map((n) => n.trim())
      .filter(Boolean),
  );
  expect(new Set(names).size).toBe(names.length);
  expect(names.length).toBeGreaterThan(30);
  expect(names.length).toBeLessThanOrEqual(42);
  for (const name of [
    "ClusterNode",
    "Broker",
    "Pool",
    "runNode",
    "defineEvent",
    "defineStream",
    "record",
    "registerFormat",
    "EVENTS",
    "nodeTopic",
    "DEFAULT_CONFIG",
    "ClusterError",
    "ZmqError",
  ]) {
    expect(mod[name as keyof typeof mod], name).toBeDefined();
  }
  // Objects the library builds for the user are types only.
  for (const name of ["Discovery", "NodeMetrics", "LogWriter", "LogReceiver", "Lifecycle", "IoThread"])
    expect(name in mod, name).toBe(false);
});

test("the subpaths load and export what their job needs", async () => {
  const wants: Record<string, string[]> = {
    "./launcher": ["Cluster", "withCluster", "defineCluster", "loadClusterFile", "runNode"],
    "./logging": [
      "defineStream",
      "encodeZeekBatch",
      "decodeZeekBatch",
      "encodeBatch",
      "decodeBatch",
      "ZEEK_LOG_FORMAT",
    ],
    "./metrics": ["Registry", "metricsApp", "MetricsServer"],
    "./wire": [
      "BROKER_BIN_V1",
      "BROKER_JSON_V1",
      "MSGPACK_V1",
      "registerFormat",
      "getFormat",
      "encodeBrokerBin",
      "decodeBrokerJson",
    ],
    "./config": ["resolveConfig", "DEFAULT_CONFIG", "ZEEK_OPTION_NAMES"],
    "./layout": ["validateLayout", "nodeConfig"],
    "./curve": ["curveKeypair", "z85Encode", "z85Decode"],
  };
  expect(Object.keys(pkg.exports).sort()).toEqual([".", "./package.json", ...Object.keys(wants)].sort());
  for (const [subpath, names] of Object.entries(wants)) {
    const file = pkg.exports[subpath]!;
    expect(file, subpath).not.toMatch(/\/_/);
    const module = (await import(join(root, file))) as Record<string, unknown>;
    for (const name of names) expect(module[name], `${subpath} ${name}`).toBeDefined();
  }
});

test("every value mod.ts exports has a titled @example where it is declared", () => {
  const source = read("mod.ts");
  const missing: string[] = [];
  for (const m of source.matchAll(/^export \{([^}]*)\} from "\.\/(lib\/[\w-]+\.ts)";$/gm)) {
    const lines = read(m[2]!).split("\n");
    for (const name of m[1]!.split(",").map((n) => n.trim())) {
      const at = lines.findIndex((l) =>
        new RegExp(`^export (?:async function|function|(?:abstract )?class|const) ${name}\\b`).test(l),
      );
      if (at < 0) {
        missing.push(`${m[2]} ${name} (not declared there)`);
        continue;
      }
      let start = at - 1;
      while (start > 0 && !lines[start]!.trim().startsWith("/**")) start--;
      const block = lines.slice(start, at);
      if (!block.some((l) => /^\s*(?:\/\*\*|\*)?\s*@example\s+\S/.test(l))) missing.push(`${m[2]}:${at + 1} ${name}`);
    }
  }
  expect(missing).toEqual([]);
});
