// The sealed FFI boundary: lib/_zmq.ts is the only module that calls libzmq (lib/_libzmq.ts loads it
// and declares the symbols), and no other module holds a pointer or a view of C memory.

import { expect, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";

const ROOT = join(import.meta.dir, "..");
const BINDING = "lib/_zmq.ts";
const LOADER = "lib/_libzmq.ts";

function sources(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { recursive: true, encoding: "utf8" })
    .filter((file) => file.endsWith(".ts"))
    .map((file) => join(dir, file));
}

/** The code of a file without its comments, so that prose naming a C function does not count. */
function code(path: string): string {
  return readFileSync(join(ROOT, path), "utf8")
    .replace(/\/\*[\s\S]*?\*\//g, "")
    .replace(/^\s*\/\/.*$/gm, "");
}

const files = [...sources("lib"), ...sources("bench"), ...sources("scripts"), ...sources("test"), "mod.ts"].map(
  (path) => relative(ROOT, join(ROOT, path)),
);

test("only lib/_zmq.ts loads libzmq, calls its symbols or C's malloc", () => {
  const offenders: string[] = [];
  for (const path of files) {
    if (path === BINDING || path === LOADER || path === "test/ffi-boundary.test.ts") continue;
    const text = code(path);
    for (const [what, pattern] of [
      ["calls libzmq()", /\blibzmq\(/],
      ["uses libzmq's symbols", /\.symbols\.zmq_|\bzmq_[a-z0-9_]+\s*\(/],
      ["uses the binding's malloc or memcpy", /\.libc\./],
      ["imports the loader", /import\s*\{[^}]*\blibzmq\b[^}]*\}\s*from\s*"[./]*(?:lib\/)?_?libzmq\.ts"/],
    ] as const) {
      if (pattern.test(text)) offenders.push(`${path}: ${what}`);
    }
  }
  expect(offenders).toEqual([]);
});

test("no lib module but the binding makes pointers or views of C memory", () => {
  const offenders: string[] = [];
  for (const path of sources("lib")) {
    if (path === BINDING || path === LOADER) continue;
    const text = code(path);
    // Types from bun:ffi are fine (a pointer slot's type); its functions are not.
    for (const m of text.matchAll(/import\s*(type\s*)?\{([^}]*)\}\s*from\s*"bun:ffi"/g)) {
      const values = m[1]
        ? []
        : m[2]!
            .split(",")
            .map((s) => s.trim())
            .filter((s) => s && !s.startsWith("type "));
      if (values.length > 0) offenders.push(`${path}: imports ${values.join(", ")} from bun:ffi`);
    }
    if (/\bNativeObject\.(pointer|swap|inner|keepInner)\s*\(/.test(text) && path !== "lib/_zmq-object.ts") {
      offenders.push(`${path}: reads a pointer slot`);
    }
  }
  expect(offenders).toEqual([]);
});

test("the binding passes no handle through module state", () => {
  const binding = sources("lib").filter((path) => /^lib\/_(zmq|zmq-[\w-]+|libzmq)\.ts$/.test(path));
  expect(binding).toContain(BINDING);
  const offenders = binding.flatMap((path) =>
    code(path)
      .split("\n")
      .filter((line) => /^(let|var)\s/.test(line))
      .map((line) => `${path}: ${line.trim()}`),
  );
  // The loader caches what it loaded, once per thread; nothing else is module state.
  expect(offenders).toEqual([`${LOADER}: let loaded: LoadedLibzmq | undefined;`]);
});
