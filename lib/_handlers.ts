/**
 * @module A node's event handlers by name and its declared events. A handler registered with a
 * declaration (`on(Event, …)`) gets the arguments by parameter name; one registered by name gets them
 * in order. Handlers run one after the other; one that throws (or rejects) is reported and the others
 * still run. Not part of the public API; `ClusterNode` uses it.
 */

import type { BatchCursor } from "./_batch.ts";
import { EventFrame } from "./_frames.ts";
import { type EventArgs, type EventType, isEventType, sameEvent } from "./events.ts";
import type { EventHandler } from "./node-bus.ts";
import type { EventMetadata } from "./serializer.ts";

/** The event being handled, available as `node.current` while its handlers run. */
export interface EventContext {
  /** The topic it was published to. */
  topic: string;
  /** The sender's node id. */
  sender: string;
  /** Its metadata, if any. */
  metadata: EventMetadata | undefined;
}

/**
 * Handlers and declarations of one node.
 *
 * @example A declared event's handler gets its arguments by name
 * ```ts
 * import { defineEvent } from "./events.ts";
 * import { Handlers } from "./_handlers.ts";
 *
 * const Ping = defineEvent("ping", { who: "string", n: "count" });
 * const handlers = new Handlers((message) => console.log(message));
 * handlers.on(Ping, ({ who, n }) => console.log(who, n)); // "w1" 2
 * handlers.raise("ping", ["w1", 2]);
 * ```
 */
export class Handlers {
  readonly #byName = new Map<string, Set<EventHandler<never[]>>>();
  readonly #types = new Map<string, EventType>();
  readonly #report: (message: string) => void;
  #current: EventContext | undefined;

  /** @param report Gets `handler for '<event>' failed: <error>` for a handler that throws or rejects. */
  constructor(report: (message: string) => void) {
    this.#report = report;
  }

  #failed(name: string, err: unknown): void {
    this.#report(`handler for '${name}' failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
  }

  /** The context of the event whose handlers run, or `undefined` outside a handler. */
  get current(): EventContext | undefined {
    return this.#current;
  }

  /** Registers a handler; returns a function that removes it. */
  on<E extends EventType>(event: E, handler: (args: EventArgs<E>) => unknown): () => void;
  on<A extends unknown[]>(name: string, handler: EventHandler<A>): () => void;
  on(event: string | EventType, handler: (...args: never[]) => unknown): () => void {
    const name = typeof event === "string" ? event : isEventType(event) ? this.declare(event).name : undefined;
    if (name === undefined)
      throw new TypeError(`Invalid event: expected a name or a defineEvent() declaration, got ${String(event)}`);
    if (typeof handler !== "function") throw new TypeError(`Invalid handler for '${name}': expected a function`);
    let fn = handler as EventHandler<never[]>;
    if (typeof event !== "string") {
      const params = event.params;
      fn = ((...args: unknown[]) => {
        const named: Record<string, unknown> = {};
        for (let i = 0; i < params.length; i++) named[params[i]!.name] = args[i];
        return (handler as (args: Record<string, unknown>) => unknown)(named);
      }) as EventHandler<never[]>;
    }
    let set = this.#byName.get(name);
    if (!set) this.#byName.set(name, (set = new Set()));
    set.add(fn);
    return () => set.delete(fn);
  }

  /**
   * Declares an event: from then on its arguments are checked and encoded with their Zeek types, also
   * when published or handled by name.
   *
   * @throws {RangeError} a different declaration under the same name.
   */
  declare(type: EventType): EventType {
    const known = this.#types.get(type.name);
    if (known && known !== type && !sameEvent(known, type)) {
      throw new RangeError(`Invalid event '${type.name}': declared twice with different parameters`);
    }
    if (!known) this.#types.set(type.name, type);
    return type;
  }

  /** The declaration of an event, if it has one. */
  readonly typeOf = (name: string): EventType | undefined => this.#types.get(name);

  /** Whether anything handles `name`. */
  has(name: string): boolean {
    return (this.#byName.get(name)?.size ?? 0) > 0;
  }

  /** Runs the handlers of `name` now, with `context` as the current event. */
  raise(name: string, args: unknown[], context?: EventContext): void {
    const handlers = this.#byName.get(name);
    if (!handlers?.size) return;
    const previous = this.#current;
    this.#current = context;
    try {
      for (const handler of handlers) {
        try {
          const result = (handler as EventHandler)(...args);
          if (result instanceof Promise) result.catch((err: unknown) => this.#failed(name, err));
        } catch (err: unknown) {
          this.#failed(name, err);
        }
      }
    } finally {
      this.#current = previous;
    }
  }
}

const decoder = new TextDecoder();

/**
 * The context of a received event; topic and sender are decoded only if a handler asks.
 *
 * @example What a handler sees as `node.current`
 * ```ts no-run
 * import { ClusterNode } from "./pubsub.ts";
 *
 * const node = new ClusterNode({ name: "worker-1" });
 * node.on("ping", () => console.log(node.current?.topic, node.current?.sender));
 * ```
 */
export class ReceivedEvent implements EventContext {
  readonly #bytes: Uint8Array;
  readonly #topicStart: number;
  readonly #topicEnd: number;
  readonly #senderStart: number;
  readonly #senderEnd: number;
  readonly metadata: EventMetadata | undefined;

  constructor(record: BatchCursor, metadata: EventMetadata | undefined) {
    this.#bytes = record.bytes;
    this.#topicStart = record.start(EventFrame.Topic);
    this.#topicEnd = record.end(EventFrame.Topic);
    this.#senderStart = record.start(EventFrame.Sender);
    this.#senderEnd = record.end(EventFrame.Sender);
    this.metadata = metadata;
  }

  get topic(): string {
    return decoder.decode(this.#bytes.subarray(this.#topicStart, this.#topicEnd));
  }

  get sender(): string {
    return decoder.decode(this.#bytes.subarray(this.#senderStart, this.#senderEnd));
  }
}
