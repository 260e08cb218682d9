/**
 * Preloaded into the run copy of each documentation example (test/doc-examples.ts): defines the
 * function that checked `console.log(…); // value` lines call instead. It prints as console.log would
 * and records whether the values equal the comment's; it never throws, so an example's own
 * try/catch cannot swallow a failed check.
 */

import { checkPrinted, EXPECT_GLOBAL, reportCheck } from "./doc-examples.ts";

(globalThis as Record<string, unknown>)[EXPECT_GLOBAL] =
  (line: number, comment: string) =>
  (...args: unknown[]): void => {
    console.log(...args);
    let message: string | undefined;
    try {
      message = checkPrinted(args, comment);
    } catch (err) {
      message = `the check itself failed: ${(err as Error).message}`;
    }
    reportCheck(message === undefined ? { line, ok: true } : { line, ok: false, message });
  };
