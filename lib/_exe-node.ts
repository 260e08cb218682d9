/**
 * @module Private: a node process of the single executable (`bun run build:exe`), which the launcher
 * starts as `<executable> __node [script]` (see `_node-command.ts`). Without a script it is the
 * built-in node of `_node-main.ts`, bundled in the executable. With one (`scripts` in the cluster
 * file) the script runs as under `bun <script>`, with the package it imports, `zeek-zmq-cluster` and
 * its subpaths, served from the executable's own copy, so that a script runs on a host without
 * node_modules. Any other package a script imports must be installed next to it.
 */

import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { plugin } from "bun";

/** The package's exports (package.json `exports`), as a script imports them, from the executable. */
export const PACKAGE: Readonly<Record<string, () => Promise<Record<string, unknown>>>> = {
  "zeek-zmq-cluster": () => import("../mod.ts"),
  "zeek-zmq-cluster/launcher": () => import("./launcher.ts"),
  "zeek-zmq-cluster/logging": () => import("./logformat.ts"),
  "zeek-zmq-cluster/metrics": () => import("./metrics.ts"),
  "zeek-zmq-cluster/wire": () => import("./serializer.ts"),
  "zeek-zmq-cluster/config": () => import("./config.ts"),
  "zeek-zmq-cluster/layout": () => import("./layout.ts"),
  "zeek-zmq-cluster/curve": () => import("./curve.ts"),
  "zeek-zmq-cluster/package.json": () => import("../package.json"),
};

/** Runs `script` as a node, or the built-in node without one. Exits 1, saying why, if it cannot load. */
export async function runNodeProcess(script: string | undefined): Promise<void> {
  if (script === undefined) {
    await import("./_node-main.ts");
    return;
  }
  const path = resolve(script);
  if (!existsSync(path)) {
    console.error(`node script ${path}: no such file (scripts in a cluster file are relative to the file)`);
    process.exit(1);
  }
  plugin({
    name: "zeek-zmq-cluster",
    setup(build) {
      for (const [specifier, load] of Object.entries(PACKAGE))
        build.module(specifier, async () => ({ exports: await load(), loader: "object" }));
    },
  });
  // What the script sees under `bun <script> …`: not the executable's own arguments.
  process.argv = [process.argv[0]!, path, ...process.argv.slice(4)];
  try {
    await import(path);
  } catch (err: unknown) {
    const { message, code } = err as Error & { code?: string };
    if (code !== "ERR_MODULE_NOT_FOUND" && !/^Cannot find (package|module)/.test(message)) throw err;
    console.error(
      `node script ${path}: ${message}. The executable gives scripts zeek-zmq-cluster itself; install any other package a script imports in a node_modules next to it (bun add / npm install)`,
    );
    process.exit(1);
  }
}
