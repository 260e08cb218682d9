/**
 * @module Private: the command line the launcher starts a node process with. Under Bun it is `bun
 * --no-orphans <script>`. Inside the single executable (`bun run build:exe`, entry `_exe.ts`)
 * `process.execPath` is the executable, which runs the CLI, and the library's modules live in its
 * bunfs: there a node is the executable with the hidden command {@linkcode NODE_COMMAND}, which
 * `_exe.ts` handles before the CLI. Bun's `--no-orphans` (exit when the parent dies) is a flag of the
 * bun CLI a compiled executable does not parse; the environment variable that flag sets for its
 * descendants gives the executable's node processes the same guarantee.
 */

/** Whether this code runs from a `bun build --compile` executable: its modules are in the bunfs. */
export const COMPILED: boolean = import.meta.path.startsWith("/$bunfs/") || import.meta.path.startsWith("B:\\~BUN");

/** The executable's hidden first argument: run a node (the built-in one, or the script that follows). */
export const NODE_COMMAND = "__node";

/** The node of a type that has no script in its cluster file (a plain manager, logger, proxy, worker). */
const NODE_MAIN = new URL("./_node-main.ts", import.meta.url).pathname;

/** A node process's command and the environment it needs on top of the launcher's. */
export interface NodeCommand {
  cmd: string[];
  env: Record<string, string>;
}

/** How to run the node whose cluster file names `script` (or none), so that it dies with the launcher. */
export function nodeCommand(script: string | undefined): NodeCommand {
  if (!COMPILED) return { cmd: [process.execPath, "--no-orphans", script ?? NODE_MAIN], env: {} };
  return {
    cmd: [process.execPath, NODE_COMMAND, ...(script === undefined ? [] : [script])],
    env: { BUN_FEATURE_FLAG_NO_ORPHANS: "1" },
  };
}
