#!/usr/bin/env bun
/**
 * @module The command line. Installed as the package's `bin`, so after `bun add zeek-zmq-cluster`:
 * `bunx zeek-zmq-cluster cluster up cluster.json`; `zeek-zmq-cluster --help` lists every command.
 * Each command group lives in its own module (`_cli-*.ts`) and registers itself in {@linkcode COMMANDS}.
 */

import { CommanderError } from "commander";
import { register as broker } from "./_cli-broker.ts";
import { register as check } from "./_cli-check.ts";
import { register as completion } from "./_cli-completion.ts";
import { register as control } from "./_cli-control.ts";
import { createCli, type Register, usageAfterErrors } from "./_cli-program.ts";
import { register as subpub } from "./_cli-subpub.ts";
import { register as up } from "./_cli-up.ts";

/** Every command module, in the order `--help` lists their commands. */
const COMMANDS: Register[] = [up, check, control, broker, subpub, completion];

async function main(argv: string[]): Promise<number> {
  const cli = createCli();
  for (const register of COMMANDS) register(cli);
  usageAfterErrors(cli.program);
  try {
    await cli.program.parseAsync(argv, { from: "user" });
  } catch (err: unknown) {
    // --help and --version end here with exit code 0; a usage error (unknown command or option, a bad
    // value) has been printed by commander with its "did you mean" and exits 2, as parseArgs did.
    if (err instanceof CommanderError) return err.exitCode === 0 ? 0 : 2;
    throw err;
  }
  return Number(process.exitCode ?? 0);
}

process.exitCode = await main(process.argv.slice(2));
