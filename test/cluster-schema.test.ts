// The JSON Schema of cluster files (schema/cluster.schema.json) against the parser: the files the
// project ships and documents pass both, Zeek's spelling fails both, and neither knows an option or
// field the other does not.
import { describe, expect, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import Ajv from "ajv";
import { clusterSchema } from "../lib/_cluster-schema.ts";
import { RULES } from "../lib/_config-rules.ts";
import { type ClusterFile, validateClusterFile } from "../lib/cluster-file.ts";

const ROOT = new URL("..", import.meta.url).pathname;
const SCHEMA = JSON.parse(readFileSync(join(ROOT, "schema/cluster.schema.json"), "utf8"));
const validate = new Ajv({ strict: true, allErrors: true }).compile(SCHEMA);

type Props = Record<string, { properties: Record<string, unknown>; additionalProperties: { properties: object } }>;
const props = SCHEMA.properties as Props;

/** The cluster files of the repository: JSON fixtures, the demo, and the README's and docs' JSON blocks that are cluster files. */
function clusterFiles(): [string, unknown][] {
  const files: [string, unknown][] = [
    ["scripts/demo/cluster.json", JSON.parse(readFileSync(join(ROOT, "scripts/demo/cluster.json"), "utf8"))],
  ];
  for (const dir of ["test/fixtures/cluster", "test/fixtures/cluster/signals"])
    for (const f of readdirSync(join(ROOT, dir)).filter((f) => f.endsWith(".json")))
      files.push([`${dir}/${f}`, JSON.parse(readFileSync(join(ROOT, dir, f), "utf8"))]);
  for (const doc of ["README.md", ...readdirSync(join(ROOT, "docs")).map((f) => `docs/${f}`)]) {
    if (!doc.endsWith(".md")) continue;
    const blocks = [...readFileSync(join(ROOT, doc), "utf8").matchAll(/```json\n([\s\S]*?)```/g)];
    for (const [i, [, json]] of blocks.entries()) {
      const value = JSON.parse(json!);
      if (value && typeof value === "object" && "nodes" in value) files.push([`${doc} block ${i + 1}`, value]);
    }
  }
  return files;
}

describe("schema/cluster.schema.json", () => {
  test("is what lib/_cluster-schema.ts makes (run `bun scripts/cluster-schema.ts` after changing options)", () => {
    expect(SCHEMA).toEqual(clusterSchema());
  });

  test("the demo's cluster file refers to it", () => {
    expect(props.$schema).toBeDefined();
    const demo = JSON.parse(readFileSync(join(ROOT, "scripts/demo/cluster.json"), "utf8"));
    expect(demo.$schema).toBe("../../schema/cluster.schema.json");
  });

  const files = clusterFiles();
  test("there are cluster files to check: the demo, fixtures and documented ones", () => {
    expect(files.length).toBeGreaterThanOrEqual(5);
    expect(files.some(([name]) => name.startsWith("README.md"))).toBe(true);
  });
  for (const [name, file] of files) {
    test(`accepts ${name}, as the parser does`, () => {
      // Scripts named in docs do not exist here: the parser checks them, the schema cannot.
      const { scripts: _s, ...noScripts } = file as ClusterFile;
      const nodes = Object.fromEntries(
        Object.entries(noScripts.nodes).map(([n, { script: _x, ...node }]) => [n, node]),
      );
      expect(() => validateClusterFile({ ...noScripts, nodes }, ROOT)).not.toThrow();
      expect(validate(file) ? [] : validate.errors).toEqual([]);
    });
  }

  test("every option the parser knows is in the schema, and no other", () => {
    const options = Object.keys(props.options!.properties).sort();
    expect(options).toEqual([...Object.keys(RULES), "eventSerializer", "logSerializer"].sort());
  });

  test("every field it describes is one the parser accepts", () => {
    const node = Object.keys(props.nodes!.additionalProperties.properties);
    const ip = { type: "worker", ip: "127.0.0.1" };
    const values: Record<string, unknown> = {
      port: 27763,
      metricsPort: 9991,
      env: {},
      host: "h",
      script: "cluster.json",
    };
    for (const field of node.filter((f) => f !== "type" && f !== "ip")) {
      const file = {
        nodes: { manager: { type: "manager", ip: "127.0.0.1", port: 27762 }, w: { ...ip, [field]: values[field] } },
      };
      expect(() => validateClusterFile(file as ClusterFile, join(ROOT, "test/fixtures/cluster/signals"))).not.toThrow();
    }
    // Present but unset: the parser knows the name (an unknown one is refused whatever its value).
    const manager = { nodes: { m: { type: "manager", ip: "127.0.0.1", port: 27762 } } };
    for (const field of Object.keys(props).filter((f) => f !== "nodes"))
      expect(() => validateClusterFile({ ...manager, [field]: undefined } as ClusterFile, ROOT)).not.toThrow();
    for (const field of Object.keys(props.logging!.properties))
      expect(() =>
        validateClusterFile({ ...manager, logging: { [field]: undefined } } as ClusterFile, ROOT),
      ).not.toThrow();
    // …and an unknown one is refused, so the checks above can fail.
    expect(() => validateClusterFile({ ...manager, bogus: 1 } as ClusterFile, ROOT)).toThrow(/unknown field 'bogus'/);
  });

  test("Zeek's spelling and unknown fields fail both the schema and the parser", () => {
    const base = { nodes: { manager: { type: "manager", ip: "127.0.0.1" } } };
    for (const bad of [
      { ...base, options: { overflow_policy: "DROP" } },
      { ...base, nodes: { manager: { type: "manager", ip: "127.0.0.1", metrics_port: 9991 } } },
      { ...base, loggin: {} },
      { ...base, options: { overflowPolicy: "drop" } },
      { ...base, options: { xpubSndhwm: -1 } },
    ]) {
      expect(validate(bad)).toBe(false);
      expect(() => validateClusterFile(bad as ClusterFile, ROOT)).toThrow();
    }
  });
});
