/**
 * The documentation's examples run, as Deno's do (`deno test --doc`): every fenced TypeScript block of
 * README.md and docs/*.md, and every `@example` in the JSDoc of mod.ts and lib/*.ts.
 *
 * The fence decides what happens to a block:
 * - ```ts (or ```typescript): type-checked and run, each in its own `bun` with a time bound, in a
 *   directory of its own (also its TMPDIR). A line `console.log(a, b); // 1 "two"` is checked: the
 *   comment is read as JavaScript values (one per argument, separated by spaces) and deep-compared
 *   with what was printed, and the line must run. Prose after the value follows a colon
 *   (`// true: because …`); a comment that starts with `e.g.` only illustrates and is not checked; a
 *   `console.log` without a comment is checked against a comment that makes up the next line.
 * - ```ts no-run: type-checked only, for examples that need a running cluster, other hosts or the
 *   network, or that wait for something that does not come by itself.
 * - ```ts ignore: neither, for text that cannot be code; its first line is a comment saying why.
 * Other languages (```sh, ```json, ```zeek) are not looked at.
 *
 * Imports are rewritten to absolute paths: `./x.ts` relative to the file the example is in, and
 * `zeek-zmq-cluster` and its subpaths through package.json's `exports`. The copies go to
 * .tmp/doc-examples/<pid>/ (git ignores .tmp/) and are type-checked together in one `bun check`
 * with the repository's tsconfig, minus the rules that only make sense for library code
 * (`noUnusedLocals`, `isolatedDeclarations`). An example that starts nodes stops them, so that its
 * process exits; it binds `tcp://127.0.0.1:*`, never a fixed port.
 */

import { afterAll, beforeAll, expect, test } from "bun:test";
import { rmSync } from "node:fs";
import { join } from "node:path";
import {
  checkPrinted,
  collectExamples,
  type Example,
  expectedSource,
  instrument,
  jsdocExamples,
  markdownExamples,
  origin,
  PARALLEL,
  pool,
  type RunResult,
  runExample,
  splitValues,
  type TypeCheckError,
  typeCheck,
  type Written,
  writeExamples,
} from "./doc-examples.ts";

const ROOT = join(import.meta.dir, "..");
const SCRATCH = join(ROOT, ".tmp", "doc-examples", String(process.pid));
/** How long one example may take before it is killed. */
const RUN_TIMEOUT_MS = 20_000;
/** How long all of them may take (they take ~15 s on 2 cores): later ones are not started, and fail. */
const RUN_BUDGET_MS = 120_000;

/**
 * Examples known to fail, in files whose owners are changing them: "file title" → what is wrong.
 * Their failures are printed, not failed on. An entry that no longer fails (or names no example)
 * fails the last test, so that it is removed once the example is fixed.
 */
const PENDING: Record<string, string> = {};

let examples: Example[] = [];
let written: Written[] = [];
let typeErrors = new Map<string, TypeCheckError[]>();
let typeErrorsElsewhere: string[] = [];
/** Each run, or undefined for one not started because the budget was used up. */
const runs = new Map<Written, RunResult | undefined>();
let checkMs = 0;
let runMs = 0;

const key = (ex: Example) => `${ex.file} ${ex.title}`;

beforeAll(
  async () => {
    examples = collectExamples(ROOT);
    rmSync(SCRATCH, { recursive: true, force: true });
    written = writeExamples(ROOT, SCRATCH, examples);
    let t = performance.now();
    const checked = await typeCheck(SCRATCH, written);
    checkMs = Math.round(performance.now() - t);
    typeErrors = checked.byFile;
    typeErrorsElsewhere = checked.elsewhere;
    // An example that does not type-check is not run: its type errors are the failure to fix.
    const runnable = written.filter((w) => w.runFile && !typeErrors.has(w.checkFile));
    t = performance.now();
    const results = await pool(runnable, PARALLEL, async (w, i) =>
      performance.now() - t > RUN_BUDGET_MS
        ? undefined
        : await runExample(w, join(SCRATCH, "work", String(i)), RUN_TIMEOUT_MS),
    );
    runMs = Math.round(performance.now() - t);
    for (const [i, w] of runnable.entries()) runs.set(w, results[i]);
  },
  RUN_BUDGET_MS + RUN_TIMEOUT_MS + 60_000,
);

afterAll(() => {
  if (!process.env.DOC_EXAMPLES_KEEP) rmSync(SCRATCH, { recursive: true, force: true });
});

type Kind = "fence" | "type" | "run";

/** The failures of one example, each naming where it is. */
function failuresOf(ex: Example): { kind: Kind; text: string }[] {
  const out: { kind: Kind; text: string }[] = [];
  if (ex.problem) out.push({ kind: "fence", text: `${origin(ex)}: ${ex.problem}` });
  const w = written.find((x) => x.example === ex);
  if (!w) return out;
  for (const err of typeErrors.get(w.checkFile) ?? []) {
    out.push({ kind: "type", text: `${origin(ex, ex.line + err.line - 1)}: ${err.message}` });
  }
  if (!runs.has(w)) return out;
  const run = runs.get(w);
  const fail = (text: string) => out.push({ kind: "run", text });
  if (!run) {
    fail(`${origin(ex)}: not run: the examples had used up their ${RUN_BUDGET_MS} ms (are others timing out?)`);
    return out;
  }
  const tail = run.output.trim().split("\n").slice(-12).join("\n    ");
  if (run.timedOut)
    fail(
      `${origin(ex)}: did not exit within ${RUN_TIMEOUT_MS} ms (a node left running, or a wait that never ends?)\n    ${tail}`,
    );
  else if (run.exitCode !== 0) fail(`${origin(ex)}: exited with code ${run.exitCode}\n    ${tail}`);
  for (const check of run.checks) if (!check.ok) fail(`${origin(ex, ex.line + check.line - 1)}: ${check.message}`);
  if (!run.timedOut && run.exitCode === 0) {
    const ran = new Set(run.checks.map((c) => c.line));
    for (const line of w.checks)
      if (!ran.has(line)) fail(`${origin(ex, ex.line + line - 1)}: this checked console.log never ran`);
  }
  return out;
}

/** The failures of one kind, of the examples that are not pending; those of pending ones are printed. */
function failures(kind: Kind): string[] {
  const out: string[] = [];
  for (const ex of examples) {
    const found = failuresOf(ex)
      .filter((f) => f.kind === kind)
      .map((f) => f.text);
    if (found.length === 0) continue;
    if (key(ex) in PENDING) console.warn(`pending (${PENDING[key(ex)]}):\n  ${found.join("\n  ")}`);
    else out.push(...found);
  }
  return out;
}

test("examples are found in README.md, docs/, mod.ts and lib/, and every fence has a known marker", () => {
  const files = new Set(examples.map((e) => e.file));
  expect(files.has("README.md")).toBe(true);
  expect(files.has("mod.ts")).toBe(true);
  expect([...files].filter((f) => f.startsWith("lib/")).length).toBeGreaterThan(20);
  expect(examples.length).toBeGreaterThan(80);
  const count = (mode: string) => examples.filter((e) => e.mode === mode).length;
  const checks = [...runs.keys()].reduce((n, w) => n + w.checks.length, 0);
  console.log(
    `${examples.length} examples: ${written.length} type-checked in ${checkMs} ms; ${runs.size} run in ${runMs} ms ` +
      `(${PARALLEL} at a time), ${checks} console.log lines checked; ${count("no-run")} no-run, ${count("ignore")} ignore`,
  );
  expect(failures("fence")).toEqual([]);
});

test("every example type-checks", () => {
  if (typeErrorsElsewhere.length)
    console.warn(
      `type errors outside the examples (bun check reports them too):\n  ${typeErrorsElsewhere.join("\n  ")}`,
    );
  expect(failures("type")).toEqual([]);
});

test("every runnable example runs, exits 0, and prints what its comments say", () => {
  expect(failures("run")).toEqual([]);
});

test("the reader of fences and of expected values", () => {
  const md = (info: string, body: string) => markdownExamples("x.md", `# T\n\n\`\`\`${info}\n${body}\n\`\`\`\n`)[0];
  expect(md("ts", "1")).toMatchObject({ mode: "run", line: 4, title: "T", code: "1" });
  expect(md("typescript no-run", "1")?.mode).toBe("no-run");
  expect(md("ts ignore", "// pseudo-code\n…")?.problem).toBeUndefined();
  expect(md("ts ignore", "…")?.problem).toContain("without a reason");
  expect(md("ts norun", "1")?.problem).toContain("unknown fence marker");
  expect(md("sh", "ls")).toBeUndefined();
  const doc = jsdocExamples(
    "x.ts",
    "/**\n * Hi.\n *\n * @example A title\n * ```ts\n * const a = 1;\n *\n * console.log(a); // 1\n * ```\n */\nexport const a = 1;\n",
  );
  expect(doc).toEqual([
    { file: "x.ts", line: 6, title: "A title", mode: "run", code: "const a = 1;\n\nconsole.log(a); // 1" },
  ]);

  expect(expectedSource("true: the key's proxy got it")).toBe("true");
  expect(expectedSource('{ a: 1 } "b: c"')).toBe('{ a: 1 } "b: c"');
  expect(expectedSource('e.g. "http://127.0.0.1:39451/"')).toBeUndefined();
  expect(splitValues('"a b" [1, 2] { x: 1 } 3')).toEqual(['"a b"', "[1, 2]", "{ x: 1 }", "3"]);
  expect(
    instrument("console.log(1); // 1\nconsole.log(2);\n// 2\nconsole.log(3); // e.g. 3\nf(); // 4").checks,
  ).toEqual([1, 2]);
  expect(
    checkPrinted([18446744073709551615n, new Uint8Array([1])], "18446744073709551615n new Uint8Array([1])"),
  ).toBeUndefined();
  expect(checkPrinted([{ a: [1] }], "{ a: [1] }")).toBeUndefined();
  expect(checkPrinted([2], "1")).toBe("printed 2, the comment says 1");
  expect(checkPrinted([1, 2], "1")).toContain("states 1 value(s)");
  expect(checkPrinted(["x"], "Map { x }")).toContain("not a JavaScript value");
});

test("PENDING names only examples that still fail", () => {
  const stale = Object.keys(PENDING).filter((k) => {
    const matching = examples.filter((ex) => key(ex) === k);
    return matching.length === 0 || matching.every((ex) => failuresOf(ex).length === 0);
  });
  expect(stale.map((k) => `${k}: passes now (or is gone); remove it from PENDING in test/examples.test.ts`)).toEqual(
    [],
  );
});
