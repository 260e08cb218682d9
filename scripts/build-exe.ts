#!/usr/bin/env bun
/**
 * Builds the command line as one executable with libzmq inside, for hosts without Bun or npm:
 *
 *   bun run build:exe [--outfile dist/zeek-zmq-cluster] [--target bun-linux-x64]
 *
 * `bun build --compile` of lib/_exe.ts (which runs lib/cli.ts), with the three Worker entry points
 * of the library (a compiled executable only has the Workers it was built with) and the libzmq this
 * machine loads: the `zeromq` package's addon chosen as at run time, or the file `ZMQ_LIBRARY` names.
 * `--root lib` keeps the Workers next to the entry in the executable's bunfs, where `new URL(…,
 * import.meta.url)` finds them. The node processes of `cluster up` are the executable again
 * (`__node`, lib/_exe-node.ts): the built-in node and the package that node scripts import are
 * bundled through the entry's imports, so they need no entry point of their own. A `--target` other than this machine needs `ZMQ_LIBRARY` pointing at
 * a libzmq built for it. Prints the file, its size and the libzmq in it.
 */

import { mkdirSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { parseArgs } from "node:util";
import { zmqBuild } from "../lib/_zmq.ts";

const ROOT = join(import.meta.dir, "..");
/** Every `new Worker(new URL("./_x.ts", import.meta.url))` of lib/. */
const WORKERS = ["lib/_io-worker.ts", "lib/_proxy-worker.ts", "lib/_zap-worker.ts"];

const { values } = parseArgs({
  options: { outfile: { type: "string" }, target: { type: "string" }, help: { type: "boolean", short: "h" } },
});
if (values.help) {
  console.log("Usage: bun run build:exe [--outfile dist/zeek-zmq-cluster] [--target bun-linux-x64]");
  process.exit(0);
}
const outfile = resolve(values.outfile ?? join(ROOT, "dist", "zeek-zmq-cluster"));
mkdirSync(dirname(outfile), { recursive: true });
const library = zmqBuild([]).path; // what this machine loads, or a clear LIBZMQ_NOT_FOUND
const started = performance.now();
const proc = Bun.spawn(
  [
    process.execPath,
    "build",
    "--compile",
    "--root",
    join(ROOT, "lib"),
    ...(values.target ? [`--target=${values.target}`] : []),
    join(ROOT, "lib", "_exe.ts"),
    ...WORKERS.map((w) => join(ROOT, w)),
    library,
    "--outfile",
    outfile,
  ],
  { cwd: ROOT, stdout: "pipe", stderr: "pipe" },
);
const timer = setTimeout(() => proc.kill("SIGKILL"), 120_000);
const [out, err] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text()]);
clearTimeout(timer);
if ((await proc.exited) !== 0) {
  console.error(`build:exe: bun build failed (exit ${proc.exitCode})\n${out}${err}`);
  process.exit(1);
}
const mb = (statSync(outfile).size / 2 ** 20).toFixed(1);
console.log(
  `build:exe: ${relative(process.cwd(), outfile) || outfile} (${mb} MiB, ${Math.round(performance.now() - started)} ms), libzmq from ${library}`,
);
