#!/usr/bin/env bun
/**
 * Runs the central XPUB/XSUB broker on its own: the same as `zeek-zmq-cluster broker` (lib/_cli-broker.ts),
 * kept for `npm run proxy` and the scripts that call it.
 *
 *   bun scripts/proxy.ts [--xsub tcp://127.0.0.1:5556] [--xpub tcp://127.0.0.1:5555] [options]
 *
 * Ctrl-C (SIGINT) or SIGTERM stops it cleanly.
 */

// The command line reads process.argv when it is imported: make this `… broker <args>`.
process.argv.splice(2, 0, "broker");
await import("../lib/cli.ts");
