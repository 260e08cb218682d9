/**
 * @module A libzmq context and the sockets this thread made in it, built on the native calls of
 * `_zmq.ts`, which re-exports it. Its handle is the one thing about it that crosses threads.
 */

import { contextNew, contextShutdown, contextTerm } from "./_zmq.ts";
import { type ContextHandle, type ContextOptions, SocketOption, type SocketTypeName } from "./_zmq-constants.ts";
import { Socket } from "./_zmq-socket.ts";
import { ClusterError } from "./errors.ts";

/**
 * A libzmq context. It tracks the sockets created through it on this thread, and {@linkcode close}
 * closes them before terminating the context, so a forgotten socket cannot hang the exit.
 *
 * @example Creating sockets
 * ```ts
 * import { Context } from "./_zmq.ts";
 *
 * const ctx = new Context({ ioThreads: 1 });
 * const pull = ctx.socket("PULL");
 * pull.bind("tcp://127.0.0.1:*");
 * console.log(pull.lastEndpoint);
 * ctx.close();
 * ```
 */
export class Context {
  readonly #handle: ContextHandle;
  readonly #owner: boolean;
  readonly #sockets = new Set<Socket>();
  #closed = false;

  /**
   * @param options I/O threads and IPv6.
   * @param attachTo A context created on another thread, to use instead of creating one: see
   * {@linkcode Context.attach}.
   */
  constructor(options: ContextOptions = {}, attachTo?: ContextHandle) {
    this.#owner = attachTo === undefined;
    this.#handle = attachTo ?? contextNew(options);
  }

  /**
   * Uses a context created on another thread (its {@linkcode handle} was posted to this Worker).
   * Sockets made through it belong to this thread; `close()` closes them and leaves the context to its
   * owner.
   */
  static attach(handle: ContextHandle): Context {
    return new Context({}, handle);
  }

  /** The handle to post to a Worker. */
  get handle(): ContextHandle {
    return this.#handle;
  }

  /** How many sockets of this thread are open. */
  get socketCount(): number {
    return this.#sockets.size;
  }

  /** Whether {@linkcode close} was called. */
  get closed(): boolean {
    return this.#closed;
  }

  /** Creates a socket of the given type, owned by the calling thread. */
  socket(type: SocketTypeName): Socket {
    if (this.#closed) throw new ClusterError("CONTEXT_CLOSED", "Cannot create a socket: the context is closed");
    const socket = new Socket(this.#handle, type, () => this.#sockets.delete(socket));
    this.#sockets.add(socket);
    return socket;
  }

  /** Makes every blocking call in this context, on any thread, fail with `ETERM`. Owner only. */
  shutdown(): void {
    if (this.#owner && !this.#closed) contextShutdown(this.#handle);
  }

  /**
   * Closes this thread's sockets and gives up ownership without terminating: the thread that will be
   * the last user calls {@linkcode Context.terminate} instead. `zmq_ctx_term` waits for lingering
   * messages, so a Worker can take that wait off the main thread.
   */
  handOver(): ContextHandle {
    this.#closeSockets();
    this.#closed = true;
    return this.#handle;
  }

  /** Terminates a context handed over with {@linkcode handOver}, waiting for its lingering messages. */
  static terminate(handle: ContextHandle): void {
    contextTerm(handle);
  }

  #closeSockets(): void {
    for (const socket of [...this.#sockets]) {
      // A socket its owner forgot must not make zmq_ctx_term wait for its pending messages. After a
      // context shutdown setsockopt fails with ETERM, and the socket is closed all the same.
      try {
        socket.setOption(SocketOption.LINGER, 0);
      } catch {
        // closing is what matters
      }
      socket.close();
    }
  }

  /**
   * Closes this thread's sockets and, if this thread created the context, terminates it. The caller
   * must have made other threads close their sockets first: `zmq_ctx_term` waits for them.
   */
  close(): void {
    if (this.#closed) return;
    this.#closeSockets();
    this.#closed = true;
    if (this.#owner) contextTerm(this.#handle);
  }
}
