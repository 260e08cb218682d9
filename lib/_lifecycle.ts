/**
 * @module A node's lifecycle, in one place: `new → starting → running → stopping → stopped`. Whatever
 * the start brings up registers how to stop it, and stopping runs those in the reverse order. A start
 * that fails stops what it had started and rethrows; `stop()` during a start waits for the start to
 * finish first. Not part of the public API; `ClusterNode` uses it.
 */

import { ClusterError } from "./errors.ts";

/** Where a node is in its life. */
export type NodeState = "new" | "starting" | "running" | "stopping" | "stopped";

/**
 * Start once, stop once, in order.
 *
 * @example Parts stop in the reverse order of their start
 * ```ts
 * import { Lifecycle } from "./_lifecycle.ts";
 *
 * const order: string[] = [];
 * const life = new Lifecycle("demo");
 * await life.start(async () => {
 *   life.started(() => void order.push("a"));
 *   life.started(() => void order.push("b"));
 * });
 * await life.stop();
 * console.log(order, life.state); // ["b", "a"] "stopped"
 * ```
 */
export class Lifecycle {
  readonly #name: string;
  readonly #onStopping: () => void;
  readonly #stops: (() => unknown)[] = [];
  #state: NodeState = "new";
  #starting: Promise<void> | undefined;
  #stopping: Promise<void> | undefined;
  #shuttingDown: Promise<void> | undefined;

  /**
   * @param name The node's name, for errors.
   * @param onStopping Runs once when a running node starts stopping, before anything is stopped.
   */
  constructor(name: string, onStopping: () => void = () => undefined) {
    this.#name = name;
    this.#onStopping = onStopping;
  }

  /** The current state. */
  get state(): NodeState {
    return this.#state;
  }

  /** Whether the node is running or stopping: what it publishes still goes out. */
  get live(): boolean {
    return this.#state === "running" || this.#state === "stopping";
  }

  /**
   * Runs `run` once (later calls get the same promise); the state is `running` when it resolves.
   *
   * @throws {ClusterError} `NODE_STOPPED` after a stop; whatever `run` throws, once all it started is stopped.
   */
  start(run: () => Promise<void>): Promise<void> {
    this.#starting ??= (async () => {
      if (this.#state !== "new")
        throw new ClusterError("NODE_STOPPED", `Node '${this.#name}' was stopped; create a new one`);
      this.#state = "starting";
      try {
        await run();
      } catch (err: unknown) {
        await this.#shutdown();
        throw err;
      }
      // A stop() that came in while starting has already begun; it wins.
      if (this.#state === "starting") this.#state = "running";
    })();
    return this.#starting;
  }

  /** Records how to stop something that has started; stopping runs these last first. */
  started(stop: () => unknown): void {
    this.#stops.push(stop);
  }

  /** Stops everything started, last first, once; waits for a start in progress to end first. */
  stop(): Promise<void> {
    this.#stopping ??= (async () => {
      if (this.#state === "starting") await this.#starting?.catch(() => undefined);
      await this.#shutdown();
    })();
    return this.#stopping;
  }

  #shutdown(): Promise<void> {
    return (this.#shuttingDown ??= (async () => {
      if (this.#state === "running") this.#onStopping();
      this.#state = "stopping";
      for (const stop of this.#stops.splice(0).reverse()) await stop();
      this.#state = "stopped";
    })());
  }
}
