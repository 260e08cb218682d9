/**
 * @module The path of an event through a node, both ways: out, `send()` checks the call, encodes the
 * event in the node's format (`events.ts`) and hands it to the I/O thread; in, `receive()` takes a
 * record from the worker's batch, decodes it in whatever format it came (`events.ts`), counts it and
 * runs its handlers. Counts Zeek's core event metrics and malformed messages. Not part of the public
 * API; `ClusterNode` owns one.
 */

import type { BatchCursor } from "./_batch.ts";
import { EventFrame } from "./_frames.ts";
import { type Handlers, ReceivedEvent } from "./_handlers.ts";
import { type DecodedEvent, decodeEvent, type EventType, encodeEvent, isEventType } from "./events.ts";
import { type EventFormat, type EventMetadata, getFormat } from "./serializer.ts";
import type { EventTelemetry } from "./telemetry.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();
/** Longer format frames name no format: not decoded, and cut to this in a report. */
const MAX_FORMAT_NAME = 64;
/** Reports of malformed messages are cut to this many characters. */
const MAX_REPORT = 300;

/** What the path needs from its node. */
export interface EventPathHooks {
  /** Hands an encoded event to the I/O thread (`priority`: a backend event); `true` when it went out without waiting. */
  publish(topic: string, payload: Uint8Array, length: number, priority: boolean): boolean;
  /** Under DROP, whether the next event cannot be queued: it is counted as dropped and not encoded. */
  full(): boolean;
  /** The node's event telemetry (VERBOSE and DEBUG families), when any is on. */
  telemetry(): EventTelemetry;
  /** Reports a problem once per key. */
  report(level: "warning" | "error", message: string, key: string): void;
}

/** One node's event path; its `ClusterNode` makes it, and `publish()` and incoming batches go through it. */
export class EventPath {
  /** `zeek_cluster_core_outgoing_events_total` */
  outgoing = 0;
  /** `zeek_cluster_core_incoming_events_total` */
  incoming = 0;
  /** Malformed messages found on the main thread (the worker counts its own). */
  msgErrors = 0;
  readonly #format: EventFormat;
  readonly #formatBytes: Uint8Array;
  readonly #handlers: Handlers;
  readonly #hooks: EventPathHooks;
  readonly #reportedKinds = new Set<string>();

  constructor(format: EventFormat, handlers: Handlers, hooks: EventPathHooks) {
    this.#format = format;
    this.#formatBytes = encoder.encode(format.name);
    this.#handlers = handlers;
    this.#hooks = hooks;
  }

  /**
   * Checks, encodes and hands over an event: a declared one (or one published by the name of a declared
   * one) with its Zeek types, else by the default mapping. Under DROP, an event that cannot be queued
   * is counted and dropped before it is encoded (its arguments are then not checked); the backend's own
   * events (`priority`) are never dropped there and go ahead of the data.
   *
   * @throws {TypeError} a topic or name that is not a string, args that do not fit; nothing is sent.
   */
  send(
    topic: string,
    event: string | EventType,
    args: unknown[] | Readonly<Record<string, unknown>>,
    metadata?: EventMetadata,
    priority = false,
  ): boolean {
    if (typeof topic !== "string") throw new TypeError(`Cannot publish: expected a topic string, got ${typeof topic}`);
    const declared = typeof event !== "string" && isEventType(event);
    const name = declared ? event.name : event;
    if (typeof name !== "string" || name === "") {
      throw new TypeError(`Cannot publish to '${topic}': expected an event name, got ${String(name)}`);
    }
    if (!priority && this.#hooks.full()) return false;
    const type = declared ? this.#handlers.declare(event) : this.#handlers.typeOf(name);
    if (!declared && !Array.isArray(args)) {
      throw new TypeError(`Cannot publish '${name}': expected an array of arguments, got ${typeof args}`);
    }
    const { bytes, length } = encodeEvent(this.#format, name, args, type, metadata);
    this.outgoing++;
    const telemetry = this.#hooks.telemetry();
    if (telemetry.active) telemetry.outgoing(topic, name, length);
    return this.#hooks.publish(topic, bytes, length, priority);
  }

  /** An event from the XSUB: the cursor stands on its record of 4 frames. */
  receive(record: BatchCursor): void {
    const format = record.frameEquals(EventFrame.Format, this.#formatBytes)
      ? this.#format
      : record.end(EventFrame.Format) - record.start(EventFrame.Format) <= MAX_FORMAT_NAME
        ? getFormat(decoder.decode(record.frame(EventFrame.Format)))
        : undefined;
    if (!format) {
      return this.malformed("format", () => {
        const name = decoder.decode(record.frame(EventFrame.Format).subarray(0, MAX_FORMAT_NAME));
        return `Wrong format: '${name}' is not a registered format`;
      });
    }
    const [start, end] = [record.start(EventFrame.Payload), record.end(EventFrame.Payload)];
    let event: DecodedEvent;
    try {
      event = decodeEvent(format, record.bytes, start, end, this.#handlers.typeOf);
    } catch (err: unknown) {
      return this.malformed("decode", () => {
        const topic = decoder.decode(record.frame(EventFrame.Topic));
        return `Failed to unserialize message: ${topic}: ${err instanceof Error ? err.message : String(err)}`;
      });
    }
    this.incoming++;
    const telemetry = this.#hooks.telemetry();
    if (telemetry.active) telemetry.incoming(decoder.decode(record.frame(EventFrame.Topic)), event.name, end - start);
    if (this.#handlers.has(event.name))
      this.#handlers.raise(event.name, event.args, new ReceivedEvent(record, event.metadata));
  }

  /**
   * Counts a malformed message and reports the first of its kind. Hostile peers send these by the
   * hundred thousand: after the first of a kind nothing is built (`message` may be a function) and
   * nothing kept, and the one report is cut short, since its text can hold whatever the peer sent.
   */
  malformed(kind: string, message: string | (() => string)): void {
    this.msgErrors++;
    if (this.#reportedKinds.has(kind)) return;
    this.#reportedKinds.add(kind); // a few fixed names: the formats and the ways a message can be wrong
    const text = typeof message === "string" ? message : message();
    this.#hooks.report(
      "warning",
      text.length > MAX_REPORT ? `${text.slice(0, MAX_REPORT)}…` : text,
      `msg-error-${kind}`,
    );
  }
}
