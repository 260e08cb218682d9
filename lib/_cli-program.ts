/**
 * @module The command line's skeleton: the commander program, the `cluster` group, and how a command
 * module plugs into them. The entry point (`cli.ts`) builds one {@linkcode Cli} and hands it to each
 * module's `register` function; a module adds its commands with `cli.program.command(…)` (top level)
 * or `cli.cluster.command(…)` (`zeek-zmq-cluster cluster …`).
 */

import { Command, CommanderError, InvalidArgumentError } from "commander";
import pkg from "../package.json" with { type: "json" };

/** What a command module adds its commands to. */
export interface Cli {
  /** The program: top-level commands (`demo`, `broker`, …). */
  program: Command;
  /** `zeek-zmq-cluster cluster`: the commands about one cluster (`up`, `check`, …). */
  cluster: Command;
}

/** A command module: adds its commands to the program. */
export type Register = (cli: Cli) => void;

/** Builds the program and its `cluster` group, with the settings every command inherits. */
export function createCli(): Cli {
  const program = new Command("zeek-zmq-cluster")
    .description("Zeek's ZeroMQ cluster backend for Bun: run and operate clusters of Bun and Zeek nodes")
    .version(pkg.version, "-V, --version", "print the version")
    .helpOption("-h, --help", "show this help")
    .helpCommand(false)
    // Errors come back to main() as CommanderError instead of process.exit(), so the exit code is ours.
    .exitOverride()
    .showSuggestionAfterError(true);
  const cluster = program
    .command("cluster")
    .description("run, check and control a cluster described by a cluster file")
    .helpOption("-h, --help", "show this help")
    .helpCommand(false);
  return { program, cluster };
}

/**
 * After a usage error, each command prints its own usage line (not the whole help, which would push
 * the error and its "did you mean" off the screen). Called once every command is registered.
 */
export function usageAfterErrors(command: Command, path: string = command.name()): void {
  command.showHelpAfterError(`Usage: ${path} ${command.usage()}  (--help for more)`);
  for (const sub of command.commands) usageAfterErrors(sub, `${path} ${sub.name()}`);
}

/**
 * Wraps a command's action: the number it returns becomes the process's exit code (0 done, 1 failed,
 * 2 used wrongly). An action that throws ends with exit code 1 and its message after `prefix: `.
 */
export function exits<A extends unknown[]>(
  prefix: string,
  action: (...args: A) => Promise<number> | number,
): (...args: A) => Promise<void> {
  return async (...args: A) => {
    try {
      process.exitCode = await action(...args);
    } catch (err: unknown) {
      if (err instanceof CommanderError) throw err;
      console.error(`${prefix}: ${err instanceof Error ? err.message : String(err)}`);
      process.exitCode = 1;
    }
  };
}

/** An option parser for a positive number of `unit`s; commander names the option and value when it fails. */
export function positive(unit: string): (value: string) => number {
  return (value: string) => {
    const n = Number(value);
    // commander prints this after "option '<option>' argument '<value>' is invalid."
    if (!(n > 0) || !Number.isFinite(n)) throw new InvalidArgumentError(`Expected ${unit} > 0.`);
    return n;
  };
}
