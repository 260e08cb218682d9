/**
 * @module How a long-running command is stopped: the first SIGINT or SIGTERM starts an ordered stop,
 * the 2nd and 3rd are noted and ignored, and a 4th (or any SIGQUIT) forces an exit.
 *
 * Why not `process.once`: one Ctrl-C under `bunx` (or `npm start`) is two SIGINTs, the terminal's to
 * the whole foreground process group and the runner's forwarded copy. With `once` the second ends the
 * launcher with the default action halfway through its ordered stop, and the loggers lose what they
 * had not written yet.
 */

import { constants } from "node:os";

/** The signal count that forces an exit. */
export const FORCE_AT = 4;

/** A stop request waited for by a command, and its signal handlers. */
export interface StopSignals {
  /** Resolved with the first stop signal's name (or by the command itself, with its own reason). */
  stop: PromiseWithResolvers<string>;
  /** Removes the handlers. */
  dispose(): void;
}

const ORDINALS = ["1st", "2nd", "3rd", "4th"] as const;

/** Forces an exit: the launcher kills every node it started with SIGKILL on the way out. */
function forceExit(prefix: string, why: string, signal: NodeJS.Signals): never {
  console.error(`${prefix}: forced stop (${why})`);
  process.exit(128 + (constants.signals[signal] ?? 2));
}

/**
 * Listens for SIGINT, SIGTERM and SIGQUIT until disposed.
 *
 * @example Waiting for Ctrl-C
 * ```ts
 * import { stopSignals } from "./_cli-signals.ts";
 *
 * const signals = stopSignals("cluster");
 * setTimeout(() => signals.stop.resolve("1 s passed"), 1000);
 * console.log(await signals.stop.promise); // "1 s passed": or "SIGINT" after a Ctrl-C
 * signals.dispose();
 * ```
 */
export function stopSignals(prefix = "cluster"): StopSignals {
  const stop = Promise.withResolvers<string>();
  let count = 0;
  const onStop = (signal: NodeJS.Signals) => {
    count++;
    if (count === 1) return stop.resolve(signal);
    if (count >= FORCE_AT) forceExit(prefix, `${ORDINALS[FORCE_AT - 1]} signal`, signal);
    console.error(
      `${prefix}: ${signal} again (${ORDINALS[count - 1]} signal), still stopping in order; a ${ORDINALS[FORCE_AT - 1]} signal or SIGQUIT forces`,
    );
  };
  const onQuit = () => forceExit(prefix, "SIGQUIT", "SIGQUIT");
  process.on("SIGINT", onStop);
  process.on("SIGTERM", onStop);
  process.on("SIGQUIT", onQuit);
  return {
    stop,
    dispose() {
      process.off("SIGINT", onStop);
      process.off("SIGTERM", onStop);
      process.off("SIGQUIT", onQuit);
    },
  };
}
