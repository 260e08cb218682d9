import { expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import * as mod from "../mod.ts";

test("mod.ts re-exports the public API", () => {
  for (const name of [
    "ClusterNode", "Broker", "Discovery", "resolveConfig", "nodeConfig", "validateLayout",
    "DEFAULT_CONFIG", "ZEEK_OPTION_NAMES", "MSGPACK_V1", "registerFormat", "getFormat", "nodeTopic", "nodeidTopic",
    "EVENTS", "ROLE_TOPICS", "POOL_TOPICS", "ClusterError", "ZmqError", "curveKeypair", "makeNodeId",
  ]) {
    expect(mod[name as keyof typeof mod], name).toBeDefined();
  }
});

// The project style (Deno std) wants a titled example on every export, so that the docs show what
// each one is for. Read from the source, since JSDoc does not survive into the runtime module.
test("every export of the modules in mod.ts has a titled @example", () => {
  const read = (path: string) => readFileSync(new URL(`../${path}`, import.meta.url), "utf8");
  const modules = [...read("mod.ts").matchAll(/^export \* from "\.\/(lib\/[\w-]+\.ts)";$/gm)].map((m) => m[1]!);
  expect(modules.length).toBeGreaterThan(10);
  const missing: string[] = [];
  let declarations = 0;
  for (const path of modules) {
    const lines = read(path).split("\n");
    lines.forEach((line, i) => {
      const name = /^export (?:async function|function|(?:abstract )?class|const)\s+(\w+)/.exec(line)?.[1];
      if (name === undefined) return;
      declarations++;
      const where = `${path}:${i + 1} ${name}`;
      const end = i - 1;
      if (!lines[end]?.trim().endsWith("*/")) return missing.push(`${where} (no JSDoc)`);
      let start = end;
      while (start > 0 && !lines[start]!.trim().startsWith("/**")) start--;
      const block = lines.slice(start, end + 1);
      if (!block.some((l) => /^\s*(?:\/\*\*|\*)?\s*@example\s+\S/.test(l))) missing.push(where);
    });
  }
  expect(declarations).toBeGreaterThan(50);
  expect(missing).toEqual([]);
});
