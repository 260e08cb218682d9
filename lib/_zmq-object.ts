/**
 * @module The slot in which the libzmq binding keeps a pointer: the base class of its sockets,
 * messages and buffers. Only `_zmq.ts` sets or reads the slot, through a subclass of its own, so no
 * other module ever holds a pointer. A leaf module, so that classes in other files can extend it while
 * `_zmq.ts` re-exports them. Not part of the public API.
 */

import type { Pointer } from "bun:ffi";
import { ClusterError } from "./errors.ts";

/**
 * Something `_zmq.ts` allocated in C: a socket, a message or a buffer. The pointer is set by the
 * native call that creates it and taken away by the one that frees it.
 *
 * @example A message is one
 * ```ts
 * import { Message } from "./_zmq.ts";
 * import { NativeObject } from "./_zmq-object.ts";
 *
 * const msg = new Message();
 * console.log(msg instanceof NativeObject, msg.closed); // true false
 * msg.close();
 * console.log(msg.closed); // true
 * ```
 */
export abstract class NativeObject {
  #ptr: Pointer | undefined;
  /** An address inside its memory (a message's content), cached while valid; 0: not looked up. */
  #inner = 0;
  readonly #code: string;
  readonly #what: string;

  /**
   * @param code The error code once closed, such as `"SOCKET_CLOSED"`.
   * @param what What it is, for that error: `"The <what> is closed"`.
   */
  protected constructor(code: string, what: string) {
    this.#code = code;
    this.#what = what;
  }

  /** Whether it was closed (or never opened). */
  get closed(): boolean {
    return this.#ptr === undefined;
  }

  /** Throws the {@linkcode ClusterError} of a closed object; does nothing while it is open. */
  protected assertOpen(): void {
    NativeObject.pointer(this);
  }

  /** The pointer, for a native call; a {@linkcode ClusterError} once closed. */
  protected static pointer(of: NativeObject): Pointer {
    const p = of.#ptr;
    if (p === undefined) throw new ClusterError(of.#code, `The ${of.#what} is closed`);
    return p;
  }

  /** Puts `ptr` in the slot (`undefined`: closed) and returns what was there. */
  protected static swap(of: NativeObject, ptr: Pointer | undefined): Pointer | undefined {
    const old = of.#ptr;
    of.#ptr = ptr;
    of.#inner = 0;
    return old;
  }

  /** The cached inner address, or 0. */
  protected static inner(of: NativeObject): number {
    return of.#inner;
  }

  /** Caches an inner address (0: forget it, the memory changed) and returns it. */
  protected static keepInner(of: NativeObject, address: number): number {
    return (of.#inner = address);
  }
}
