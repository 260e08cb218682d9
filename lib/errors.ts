/**
 * @module The one domain error of the library. Bad arguments raise the built-in `TypeError` and
 * `RangeError`; anything a caller may want to catch and branch on raises a {@linkcode ClusterError}
 * with a stable string `code`.
 */

/**
 * An error of the cluster backend that callers can branch on by its `code`, such as
 * `"LIBZMQ_NOT_FOUND"`, `"PROXY_BIND_FAILED"` or a libzmq errno name like `"EADDRINUSE"`.
 *
 * @example Branching on the code
 * ```ts
 * import { ClusterError } from "./errors.ts";
 *
 * const err = new ClusterError("PROXY_BIND_FAILED", "Cannot bind XSUB socket to 'tcp://127.0.0.1:5556'");
 * if (err instanceof ClusterError && err.code === "PROXY_BIND_FAILED") {
 *   console.log(err.message);
 * }
 * ```
 */
export class ClusterError extends Error {
  /** A stable, machine-readable identifier of the condition. */
  readonly code: string;

  /**
   * Creates an error with a code and a message.
   *
   * @param code A stable identifier, upper snake case.
   * @param message What went wrong, in one sentence.
   * @param options The standard `cause`.
   */
  constructor(code: string, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "ClusterError";
    this.code = code;
  }
}
