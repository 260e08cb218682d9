/**
 * The documentation's code examples as tests, the way `deno test --doc` runs Deno's: every fenced
 * TypeScript block of README.md and docs/*.md and every `@example` of the JSDoc in mod.ts and lib/*.ts
 * is collected, type-checked, and (unless its fence says otherwise) run, with its
 * `console.log(expr); // expected` lines checked. test/examples.test.ts drives it; the markers are
 * described there.
 *
 * Everything is read again on each run, so examples edited meanwhile are what is tested.
 */

import { appendFileSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import { dirname, join, relative, resolve } from "node:path";

/** What the fence asks for: `ts` runs, `ts no-run` is only type-checked, `ts ignore` is neither. */
export type Mode = "run" | "no-run" | "ignore";

/** One fenced block, from a Markdown file or an `@example`. */
export interface Example {
  /** The file it is in, relative to the repository. */
  file: string;
  /** The line of its first line of code in that file (1-based). */
  line: number;
  /** The `@example` title, or the Markdown heading above the block. */
  title: string;
  /** What the fence asks for. */
  mode: Mode;
  /** The code as written (JSDoc's ` * ` taken off). */
  code: string;
  /** Something wrong with the fence itself (an unknown marker, an `ignore` that does not say why). */
  problem?: string;
}

/** Where an example came from, as failures name it: `lib/config.ts:96 "Sizing a queue"`. */
export const origin = (ex: Example, line: number = ex.line): string => `${ex.file}:${line} "${ex.title}"`;

const TS_LANGS = new Set(["ts", "typescript"]);
const MARKERS: Record<string, Mode> = { "no-run": "no-run", ignore: "ignore" };

/** Reads a fence's info string: its language and the mode; undefined for a block that is not TypeScript. */
function readFence(info: string): { mode: Mode; problem?: string } | undefined {
  const [lang = "", ...words] = info.trim().split(/\s+/);
  if (!TS_LANGS.has(lang.toLowerCase())) return undefined;
  const unknown = words.filter((w) => !Object.hasOwn(MARKERS, w));
  const modes = words.filter((w) => Object.hasOwn(MARKERS, w));
  if (unknown.length > 0 || modes.length > 1) {
    return {
      mode: "ignore",
      problem: `unknown fence marker '${info.trim()}': use \`\`\`ts, \`\`\`ts no-run or \`\`\`ts ignore`,
    };
  }
  return { mode: modes.length ? MARKERS[modes[0]!]! : "run" };
}

/** An `ignore` block says why in a comment on its first line. */
function checkIgnore(ex: Example): Example {
  if (ex.mode !== "ignore" || ex.problem) return ex;
  const first =
    ex.code
      .split("\n")
      .find((l) => l.trim() !== "")
      ?.trim() ?? "";
  if (first.startsWith("//") || first.startsWith("/*")) return ex;
  return {
    ...ex,
    problem: "```ts ignore without a reason: its first line must be a comment saying why it cannot be checked",
  };
}

/** The fenced TypeScript blocks of a Markdown file, each titled by the heading above it. */
export function markdownExamples(file: string, text: string): Example[] {
  const lines = text.split("\n");
  const out: Example[] = [];
  let heading = "(top)";
  for (let i = 0; i < lines.length; i++) {
    const open = /^(\s*)(`{3,}|~{3,})(.*)$/.exec(lines[i]!);
    if (!open || (open[2]![0] === "`" && open[3]!.includes("`"))) {
      const h = /^#{1,6}\s+(.*?)\s*#*$/.exec(lines[i]!);
      if (h) heading = h[1]!;
      continue;
    }
    const fence = open[2]!;
    let end = i + 1;
    const close = new RegExp(`^\\s*${fence[0]}{${fence.length},}\\s*$`);
    while (end < lines.length && !close.test(lines[end]!)) end++;
    const kind = readFence(open[3]!);
    if (kind) {
      const indent = open[1]!.length;
      const code = lines
        .slice(i + 1, end)
        .map((l) => l.slice(Math.min(indent, l.length - l.trimStart().length)))
        .join("\n");
      out.push(checkIgnore({ file, line: i + 2, title: heading, code, ...kind }));
    }
    i = end;
  }
  return out;
}

/** The fenced TypeScript blocks of every `@example` in the JSDoc of a TypeScript file. */
export function jsdocExamples(file: string, text: string): Example[] {
  const lines = text.split("\n");
  const out: Example[] = [];
  let inDoc = false;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (!inDoc) {
      if (/^\s*\/\*\*/.test(line) && !/\*\/\s*$/.test(line)) inDoc = true;
      continue;
    }
    if (/\*\/\s*$/.test(line)) {
      inDoc = false;
      continue;
    }
    const tag = /^\s*\*\s*@example\b\s*(.*)$/.exec(line);
    if (!tag) continue;
    const title = tag[1]!.trim() || "(untitled)";
    const strip = (l: string) => l.replace(/^\s*\*\s?/, "");
    let found = 0;
    let j = i + 1;
    // The example runs until the next tag or the end of the comment; it may hold several fences.
    for (; j < lines.length && !/\*\/\s*$/.test(lines[j]!) && !/^\s*\*\s*@\w/.test(lines[j]!); j++) {
      const open = /^(`{3,})(.*)$/.exec(strip(lines[j]!).trim());
      if (!open) continue;
      let end = j + 1;
      while (end < lines.length && strip(lines[end]!).trim() !== open[1] && !/\*\/\s*$/.test(lines[end]!)) end++;
      const kind = readFence(open[2]!);
      found++;
      if (kind) {
        const code = lines
          .slice(j + 1, end)
          .map(strip)
          .join("\n");
        out.push(checkIgnore({ file, line: j + 2, title: found > 1 ? `${title} (#${found})` : title, code, ...kind }));
      }
      j = end;
    }
    if (found === 0)
      out.push({
        file,
        line: i + 1,
        title,
        mode: "ignore",
        code: "",
        problem: "@example without a fenced ```ts block",
      });
    i = j - 1;
  }
  return out;
}

/** Every example of the repository at `root`: README.md, docs/*.md, mod.ts and lib/*.ts. */
export function collectExamples(root: string): Example[] {
  const read = (file: string) => readFileSync(join(root, file), "utf8");
  const list = (dir: string, ext: string) =>
    readdirSync(join(root, dir))
      .filter((f) => f.endsWith(ext))
      .sort()
      .map((f) => `${dir}/${f}`);
  return [
    ...["README.md", ...list("docs", ".md")].flatMap((f) => markdownExamples(f, read(f))),
    ...["mod.ts", ...list("lib", ".ts")].flatMap((f) => jsdocExamples(f, read(f))),
  ];
}

/**
 * Rewrites the imports of an example to absolute paths: `./x.ts` relative to the file it is in, the
 * package's own name and subpaths through package.json's `exports`. Lines stay where they are.
 */
export function rewriteImports(code: string, file: string, root: string): string {
  const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as {
    name: string;
    exports: Record<string, string>;
  };
  const from = dirname(join(root, file));
  return code.replace(
    /(\bfrom\s*|\bimport\s*\(\s*|\bimport\s+)(["'])([^"'\n]+)\2/g,
    (all, head: string, q: string, spec: string) => {
      let target: string | undefined;
      if (spec.startsWith("./") || spec.startsWith("../")) target = resolve(from, spec);
      else if (spec === pkg.name || spec.startsWith(`${pkg.name}/`)) {
        const sub = pkg.exports[`.${spec.slice(pkg.name.length)}`];
        if (sub) target = resolve(root, sub);
      }
      return target ? `${head}${q}${target}${q}` : all;
    },
  );
}

// ---- expected output ---------------------------------------------------------------------------

/** Splits a line into its code and its trailing `//` comment (outside strings), if any. */
export function splitComment(line: string): { code: string; comment: string | undefined } {
  let quote = "";
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (quote) {
      if (c === "\\") i++;
      else if (c === quote) quote = "";
    } else if (c === '"' || c === "'" || c === "`") quote = c;
    else if (c === "/" && line[i + 1] === "/") return { code: line.slice(0, i), comment: line.slice(i + 2).trim() };
  }
  return { code: line, comment: undefined };
}

/** Comments that show a value only by way of illustration (it differs from run to run). */
const ILLUSTRATIVE = /^(e\.g\.|eg\b|for example\b|something like\b|like\b|\.\.\.|…)/i;

/**
 * The JavaScript source of what a `console.log(…); // comment` says it prints, or undefined when the
 * comment is illustrative (`// e.g. …`). Prose after the value follows a colon: `// true: because …`.
 */
export function expectedSource(comment: string): string | undefined {
  const text = comment.trim();
  if (text === "" || ILLUSTRATIVE.test(text)) return undefined;
  let quote = "";
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quote) {
      if (c === "\\") i++;
      else if (c === quote) quote = "";
    } else if (c === '"' || c === "'" || c === "`") quote = c;
    else if ("([{".includes(c)) depth++;
    else if (")]}".includes(c)) depth--;
    else if (c === ":" && depth === 0) return text.slice(0, i).trim();
  }
  return text;
}

/**
 * Splits the values of a `console.log(a, b)` comment (`// 1 "two"`) at spaces outside brackets and
 * strings (and not after `new`).
 */
export function splitValues(source: string): string[] {
  const out: string[] = [];
  let quote = "";
  let depth = 0;
  let start = 0;
  for (let i = 0; i <= source.length; i++) {
    const c = source[i] ?? " ";
    if (quote) {
      if (c === "\\") i++;
      else if (c === quote) quote = "";
      continue;
    }
    if (c === '"' || c === "'" || c === "`") quote = c;
    else if ("([{".includes(c)) depth++;
    else if (")]}".includes(c)) depth--;
    else if (/\s/.test(c) && depth === 0 && source.slice(start, i) !== "new") {
      if (i > start) out.push(source.slice(start, i));
      start = i + 1;
    }
  }
  return out;
}

/** The global the run copy of an example calls instead of `console.log` on checked lines. */
export const EXPECT_GLOBAL = "__docExpect";

/**
 * Makes the run copy of an example: every `console.log(` whose line ends in a comment stating the
 * value (or that has no comment and is followed by a line that is only such a comment) becomes a call
 * that prints and checks. Returns the code (same lines) and the example's lines that are checked.
 */
export function instrument(code: string): { code: string; checks: number[] } {
  const lines = code.split("\n");
  const checks: number[] = [];
  const out = lines.map((line, i) => {
    const { code: part, comment } = splitComment(line);
    if (part.split("console.log(").length !== 2) return line;
    let stated = comment;
    if (stated === undefined) {
      const next = lines[i + 1]?.trim() ?? "";
      if (next.startsWith("//")) stated = next.slice(2).trim();
    }
    if (stated === undefined || expectedSource(stated) === undefined) return line;
    checks.push(i + 1);
    return (
      part.replace("console.log(", `${EXPECT_GLOBAL}(${i + 1}, ${JSON.stringify(stated)})(`) + line.slice(part.length)
    );
  });
  return { code: out.join("\n"), checks };
}

/** One checked `console.log` as the run copy reports it (JSON lines in `DOC_EXAMPLE_RESULTS`). */
export interface CheckResult {
  /** The example's line (1-based). */
  line: number;
  /** Whether the printed values equal the stated ones. */
  ok: boolean;
  /** What went wrong, when not ok. */
  message?: string;
}

/** Compares what a `console.log` printed with what its comment states; for the preload of the run copies. */
export function checkPrinted(args: unknown[], comment: string): CheckResult["message"] {
  const source = expectedSource(comment)!;
  const parts = args.length === 1 ? [source] : splitValues(source);
  if (parts.length !== args.length) {
    return `the comment states ${parts.length} value(s) (${source}), console.log printed ${args.length}`;
  }
  for (let k = 0; k < parts.length; k++) {
    let expected: unknown;
    try {
      expected = new Function(`return (${parts[k]});`)();
    } catch (err) {
      return `the comment is not a JavaScript value: ${parts[k]} (${(err as Error).message}); start it with "e.g." if it is only an illustration`;
    }
    if (!Bun.deepEquals(args[k], expected)) {
      return `printed ${Bun.inspect(args[k])}, the comment says ${parts[k]}`;
    }
  }
  return undefined;
}

/** Records one check for the parent (the preload calls it). */
export function reportCheck(result: CheckResult): void {
  const file = process.env.DOC_EXAMPLE_RESULTS;
  if (file) appendFileSync(file, `${JSON.stringify(result)}\n`);
}

// ---- type check and runs ------------------------------------------------------------------------

/** An example written out for checking and running. */
export interface Written {
  /** The example. */
  example: Example;
  /** Its type-check copy (imports rewritten), absolute. */
  checkFile: string;
  /** Its run copy (also instrumented), absolute; only for `run` examples. */
  runFile?: string;
  /** The example's lines whose console.log output is checked. */
  checks: number[];
}

/**
 * Writes the examples into `dir` (inside the repository, so that packages resolve): a tsconfig that
 * extends the repository's, one file per checked example, and the run copies under `run/`.
 */
export function writeExamples(root: string, dir: string, examples: Example[]): Written[] {
  mkdirSync(join(dir, "run"), { recursive: true });
  writeFileSync(
    join(dir, "tsconfig.json"),
    JSON.stringify(
      {
        extends: relative(dir, join(root, "tsconfig.json")),
        // Examples are snippets, not modules of the library: a value shown but not used is fine, and
        // `export default` needs no declared type.
        compilerOptions: {
          noUnusedLocals: false,
          noUnusedParameters: false,
          isolatedDeclarations: false,
          declaration: false,
        },
        include: ["*.ts"],
      },
      null,
      2,
    ),
  );
  const written: Written[] = [];
  for (const example of examples) {
    if (example.mode === "ignore") continue;
    const name = `${example.file.replace(/[^\w]+/g, "_")}_${example.line}.ts`;
    const code = rewriteImports(example.code, example.file, root);
    const checkFile = join(dir, name);
    writeFileSync(checkFile, `${code}\n`);
    if (example.mode === "no-run") {
      written.push({ example, checkFile, checks: [] });
      continue;
    }
    const run = instrument(code);
    const runFile = join(dir, "run", name);
    writeFileSync(runFile, `${run.code}\n`);
    written.push({ example, checkFile, runFile, checks: run.checks });
  }
  return written;
}

/** A type error, by the example's line. */
export interface TypeCheckError {
  /** The example's line (1-based). */
  line: number;
  /** `TS2322: Type 'string' is not assignable …`, continuation lines included. */
  message: string;
}

/**
 * Type-checks every written example in one `bun check` with the scratch tsconfig. Returns the errors
 * by check file, and the errors elsewhere (in the library itself: the project's own `bun check` is
 * the place for those).
 */
export async function typeCheck(
  dir: string,
  written: Written[],
): Promise<{ byFile: Map<string, TypeCheckError[]>; elsewhere: string[]; output: string }> {
  const proc = Bun.spawn([process.execPath, "check", "--no-script", "--no-pretty", "-p", "."], {
    cwd: dir,
    stdout: "pipe",
    stderr: "pipe",
  });
  const timer = setTimeout(() => proc.kill("SIGKILL"), 120_000);
  const [stdout, stderr] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text()]);
  await proc.exited;
  clearTimeout(timer);
  const output = `${stdout}${stderr}`;
  const byName = new Map(written.map((w) => [w.checkFile, w]));
  const byFile = new Map<string, TypeCheckError[]>();
  const elsewhere: string[] = [];
  let last: TypeCheckError | undefined;
  for (const line of output.split("\n")) {
    const m = /^(.+?)\((\d+),(\d+)\): error (TS\d+: .*)$/.exec(line);
    if (!m) {
      if (last && /^\s+\S/.test(line)) last.message += `\n${line}`;
      else last = undefined;
      continue;
    }
    const file = resolve(dir, m[1]!);
    if (!byName.has(file)) {
      elsewhere.push(line);
      last = undefined;
      continue;
    }
    last = { line: Number(m[2]), message: m[4]! };
    byFile.set(file, [...(byFile.get(file) ?? []), last]);
  }
  if (proc.exitCode !== 0 && byFile.size === 0 && elsewhere.length === 0)
    elsewhere.push(`bun check failed without errors: ${output.trim()}`);
  return { byFile, elsewhere, output };
}

/** What running one example gave. */
export interface RunResult {
  /** Exit code, or null when killed. */
  exitCode: number | null;
  /** Whether it was killed for taking longer than the time bound. */
  timedOut: boolean;
  /** Wall time in ms. */
  ms: number;
  /** stdout and stderr. */
  output: string;
  /** The checked console.log calls, in the order they ran. */
  checks: CheckResult[];
}

/** The preload that gives the run copies their check function. */
export const PRELOAD: string = join(import.meta.dir, "doc-example-expect.ts");

/** Runs one written example in its own `bun`, in a directory of its own (also its TMPDIR). */
export async function runExample(w: Written, workDir: string, timeoutMs: number): Promise<RunResult> {
  mkdirSync(workDir, { recursive: true });
  const results = join(workDir, "checks.jsonl");
  writeFileSync(results, "");
  const started = performance.now();
  const proc = Bun.spawn([process.execPath, "--no-orphans", "--preload", PRELOAD, w.runFile!], {
    cwd: workDir,
    env: { ...process.env, DOC_EXAMPLE_RESULTS: results, TMPDIR: workDir, NO_COLOR: "1" },
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
  });
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    proc.kill("SIGKILL");
  }, timeoutMs);
  const [stdout, stderr] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text()]);
  await proc.exited;
  clearTimeout(timer);
  const checks = readFileSync(results, "utf8")
    .split("\n")
    .filter(Boolean)
    .map((l) => JSON.parse(l) as CheckResult);
  return {
    exitCode: proc.exitCode,
    timedOut,
    ms: Math.round(performance.now() - started),
    output: `${stdout}${stderr}`,
    checks,
  };
}

/** Runs `fn` over `items` with at most `limit` at a time. */
export async function pool<T, R>(items: T[], limit: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!, i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

/** How many examples run at once: they mostly wait (process start-up, sockets), so twice the cores. */
export const PARALLEL: number = Math.max(2, availableParallelism() * 2);
