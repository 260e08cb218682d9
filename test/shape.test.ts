// The code's shape, checked: files stay small, features know the node only through the NodeBus, and
// private modules are marked as such.

import { expect, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

const lib = join(import.meta.dir, "..", "lib");
const files = readdirSync(lib).filter((f) => f.endsWith(".ts"));
const code = (file: string) => readFileSync(join(lib, file), "utf8");
/** Import lines only: examples in comments may use anything. */
const imports = (file: string) =>
  code(file)
    .split("\n")
    .filter((l) => /^(import|export) .* from "/.test(l));

test("no file in lib/ is over 400 lines", () => {
  const long = files.map((f) => [f, code(f).split("\n").length - 1] as const).filter(([, n]) => n > 400);
  expect(long).toEqual([]);
});

test("no feature imports ClusterNode: discovery, logging, metrics and pools see a NodeBus", () => {
  for (const feature of [
    "discovery.ts",
    "_node-logging.ts",
    "telemetry.ts",
    "pools.ts",
    "logpush.ts",
    "logpull.ts",
    "_handlers.ts",
    "_lifecycle.ts",
    "_subscriptions.ts",
  ]) {
    expect(
      imports(feature).filter((l) => l.includes('"./pubsub.ts"')),
      feature,
    ).toEqual([]);
  }
});

test("private modules start with an underscore, and only they are imported from the binding's internals", () => {
  const publicFiles = files.filter((f) => !f.startsWith("_"));
  expect(publicFiles.length).toBeLessThan(files.length / 2);
  // The raw binding is private: no public module re-exports it.
  for (const f of publicFiles)
    expect(
      imports(f).filter((l) => /^export .* from "\.\/_zmq/.test(l)),
      f,
    ).toEqual([]);
});
