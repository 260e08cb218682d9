// Typed logs: `node.log(STREAM, record)` takes its record type from the stream's field declaration, so
// a wrong field is a compile error in the editor, and still a TypeError at run time for code that
// gets past the compiler (JavaScript, `as never`, records built at run time).

import { afterAll, expect, test } from "bun:test";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import { defineStream, type LogRecordOf } from "../lib/logformat.ts";
import { ClusterNode } from "../lib/pubsub.ts";

const CONN = defineStream({
  id: "Conn::LOG",
  path: "conn",
  fields: {
    ts: "time",
    uid: "string",
    "id.orig_p": "port",
    tags: "set[string]",
    service: { type: "string", optional: true },
  },
});
const OK = { ts: 1_700_000_000, uid: "C1", "id.orig_p": 53, tags: ["dns"] } as const;

/** Never called: `bun check` (part of `npm test`) fails if a marked line stops being an error. */
export function compileTimeChecks(node: ClusterNode): void {
  node.log(CONN, OK);
  node.log(CONN, { ...OK, ts: new Date(), tags: new Set(["a"]), service: "dns" });
  node.log(CONN, { ...OK, service: null });
  // @ts-expect-error: uid is a string
  node.log(CONN, { ...OK, uid: 5 });
  // @ts-expect-error: the stream has no field 'extra'
  node.log(CONN, { ...OK, extra: true });
  // @ts-expect-error: 'ts' is required
  node.log(CONN, { uid: "C1", "id.orig_p": 53, tags: [] });
  // @ts-expect-error: a set of strings holds strings
  node.log(CONN, { ...OK, tags: [1] });
  // @ts-expect-error: only optional fields may be null
  node.log(CONN, { ...OK, uid: null });
  // A record built elsewhere is typed from the stream as well.
  const record: LogRecordOf<typeof CONN> = { ...OK, service: "dns" };
  node.log(CONN, record);
  // @ts-expect-error: the record of another stream
  const other: LogRecordOf<typeof CONN> = { ts: 1 };
  void other;
}

const SCRATCH = join(import.meta.dir, "..", ".tmp", `typed-log-${process.pid}`);
afterAll(() => rmSync(SCRATCH, { recursive: true, force: true }));

test("a wrong record is a compile error that names the field", async () => {
  // The same mistakes without @ts-expect-error, in a file of their own, type-checked as users' code is.
  mkdirSync(SCRATCH, { recursive: true });
  const lib = (file: string) => relative(SCRATCH, join(import.meta.dir, "..", "lib", file));
  writeFileSync(
    join(SCRATCH, "tsconfig.json"),
    JSON.stringify({ extends: relative(SCRATCH, join(import.meta.dir, "..", "tsconfig.json")), include: ["*.ts"] }),
  );
  writeFileSync(
    join(SCRATCH, "user.ts"),
    [
      `import { defineStream } from "./${lib("logformat.ts")}";`,
      `import type { ClusterNode } from "./${lib("pubsub.ts")}";`,
      `const S = defineStream({ id: "S::LOG", path: "s", fields: { ts: "time", uid: "string", n: { type: "count", optional: true } } });`,
      "export function f(node: ClusterNode): void {",
      "  node.log(S, { ts: 1, uid: 5 });", // line 5
      '  node.log(S, { ts: 1, uid: "x", extra: 1 });', // line 6
      '  node.log(S, { uid: "x" });', // line 7
      '  node.log(S, { ts: 1, uid: "x", n: "7" });', // line 8
      '  node.log(S, { ts: 1, uid: "x", n: 7 });', // line 9: fine
      "}",
      "",
    ].join("\n"),
  );
  const proc = Bun.spawn([process.execPath, "check", "--no-script", "--no-pretty", "-p", "."], {
    cwd: SCRATCH,
    stdout: "pipe",
    stderr: "pipe",
  });
  const timer = setTimeout(() => proc.kill("SIGKILL"), 60_000);
  const output = (await new Response(proc.stdout).text()) + (await new Response(proc.stderr).text());
  await proc.exited;
  clearTimeout(timer);
  const errors = [...output.matchAll(/^user\.ts\((\d+),\d+\): error (TS\d+: .*)$/gm)].map((m) => [Number(m[1]), m[2]]);
  expect(errors.map(([line]) => line)).toEqual([5, 6, 7, 8]);
  expect(String(errors[0]![1])).toContain("'number' is not assignable to type 'string | Uint8Array");
  expect(String(errors[1]![1])).toContain("'extra' does not exist");
  expect(String(errors[2]![1])).toContain("Argument of type '{ uid: string; }'");
  expect(output).toContain("Property 'ts' is missing"); // on the error's second line
  expect(String(errors[3]![1])).toContain(
    "Type 'string' is not assignable to type 'number | bigint | null | undefined'",
  );
}, 70_000);

test("at run time the same mistakes are a TypeError naming the stream and the field; nothing is written", () => {
  const node = new ClusterNode({ name: "w", connectLogEndpoints: [`ipc://${SCRATCH}/nobody-listens`] });
  const wrong = (record: unknown) => () => node.log(CONN, record as never);
  expect(wrong({ ...OK, uid: 5 })).toThrow(
    new TypeError("Log stream 'Conn::LOG': field 'uid' expects a string, got 5"),
  );
  expect(wrong({ ...OK, extra: true })).toThrow(new TypeError("Log stream 'Conn::LOG': has no field 'extra'"));
  expect(wrong({ uid: "C1", "id.orig_p": 53, tags: [] })).toThrow(
    new TypeError("Log stream 'Conn::LOG': field 'ts' is required"),
  );
  expect(wrong({ ...OK, tags: [1] })).toThrow(/field 'tags' expects set elements that are a string, got an array/);
  expect(node.logWriter!.stats().logRecordsWritten).toBe(0);
  expect(node.log(CONN, OK)).toBe(true);
  expect(node.logWriter!.stats().logRecordsWritten).toBe(1);
});
