/**
 * @module Private: the entry point of the single executable that `bun run build:exe`
 * (scripts/build-exe.ts) makes with `bun build --compile`. The build embeds libzmq (the `zeromq`
 * package's addon, or the file `ZMQ_LIBRARY` names at build time) as a file of the executable's
 * bunfs; this entry points `ZMQ_LIBRARY` at it, so that `_libzmq.ts` loads it on every thread
 * (Workers share the environment), then runs the CLI. `dlopen` reads bunfs paths directly (Bun
 * copies the file out itself), so nothing is extracted here. A `ZMQ_LIBRARY` set by the operator
 * wins over the embedded copy. `<executable> __node [script]` is a node process of `cluster up`
 * (`_exe-node.ts`), hidden from the CLI.
 */

import { NODE_COMMAND } from "./_node-command.ts";

/** Matches a shared library's file name as `bun build` embeds it (`addon-<hash>.node`, `libzmq-<hash>.so.5`). */
const SHARED_LIBRARY = /\.(node|so(\.\d+)*|dylib|dll)$/;

const embedded = Bun.embeddedFiles
  .map((file) => (file as Blob & { name: string }).name)
  .find((name) => SHARED_LIBRARY.test(name));
if (embedded !== undefined) process.env.ZMQ_LIBRARY ??= `/$bunfs/root/${embedded}`;

// Imported only now, after the environment is set: a static import would run the CLI first. A node
// process of `cluster up` (the launcher starts the executable again) is no CLI: see _node-command.ts.
if (process.argv[2] === NODE_COMMAND) await (await import("./_exe-node.ts")).runNodeProcess(process.argv[3]);
else await import("./cli.ts");
