/**
 * @module Waiting for a promise with a time limit, the one way this library does it (modelled on Deno
 * std's `async/_deadline.ts`): {@linkcode deadline} rejects with the caller's error when the time runs
 * out, {@linkcode within} answers whether the promise made it in time. Either way the timer is cleared
 * as soon as the race is decided, so a wait that ended never keeps the process alive, and the promise
 * waited for goes on by itself. Not part of the public API.
 */

/**
 * Resolves or rejects as `promise` does, or rejects with `onTimeout()` if `ms` pass first. The error
 * is made only when the time runs out, so that its message can say what was still missing then.
 *
 * @example A start that may take at most 10 ms
 * ```ts
 * import { deadline } from "./_deadline.ts";
 *
 * const started = new Promise<void>(() => {}); // never resolves
 * try {
 *   await deadline(started, 10, () => new Error("not started after 10 ms"));
 * } catch (err) {
 *   console.log((err as Error).message); // "not started after 10 ms"
 * }
 * ```
 */
export function deadline<T>(promise: Promise<T>, ms: number, onTimeout: () => Error): Promise<T> {
  let timer: Timer | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(onTimeout()), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/**
 * Waits at most `ms` for `promise`: `true` if it resolved in time, `false` if the time ran out first.
 * A rejection in time rejects.
 *
 * @example Stopping gracefully, then by force
 * ```ts
 * import { within } from "./_deadline.ts";
 *
 * const exited = Bun.sleep(50); // a process that takes 50 ms to exit
 * console.log(await within(exited, 10)); // false: still running after 10 ms, so kill it
 * console.log(await within(exited, 1000)); // true
 * ```
 */
export function within(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: Timer | undefined;
  const timeout = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
  return Promise.race([promise.then(() => true), timeout]).finally(() => clearTimeout(timer));
}
