/**
 * @module The options, transport and counters of the log writer (`logpush.ts`, which re-exports them).
 */

import type { SendResult } from "./_io-thread.ts";
import type { LogBatch, LogStream } from "./logformat.ts";

/** Options of the log writer (Zeek's `Log::` settings, and what this library adds). */
export interface LogWriterOptions {
  /** Records buffered per stream and path before a batch goes out (`Log::write_buffer_size`). @default {1000} */
  writeBufferSize?: number;
  /** Every this many ms, buffered records go out (`Log::flush_interval`); 0 only by size and flush(). @default {1000} */
  flushInterval?: number;
  /** When no logger can take a batch: wait (`BLOCK`; `write()` returns false, await `drain()`) or drop it, counted. @default {"BLOCK"} */
  overflowPolicy?: "BLOCK" | "DROP";
  /**
   * Ask loggers to acknowledge written batches; unacknowledged ones are sent again and counted as lost at
   * close. Set `false` when writing to Zeek loggers without a layout (with one, a logger that does not
   * acknowledge is recognized when it comes up). @default {true}
   */
  acknowledge?: boolean;
  /** Batches sent and not yet acknowledged, beyond which the writer waits (BLOCK) or drops (DROP). @default {64} */
  maxInFlight?: number;
  /** Send a batch again when it has not been acknowledged for this many ms. @default {30000} */
  resendAfter?: number;
}

/** What the writer needs from its node. */
export interface LogTransport {
  /** Sends a batch to the loggers; `seq` 0 asks for no acknowledgment. */
  send(records: number, seq: number, payload: Uint8Array): SendResult;
  /**
   * Encodes a batch in the format `send` names; may write the bytes into `spare` (a buffer of an
   * acknowledged batch) and return a view of it when they fit. @default {msgpack-log-v1's encodeBatch}
   */
  encode?: (batch: LogBatch, spare?: Uint8Array) => Uint8Array;
  /** Resolves once everything handed to `send` has left for the I/O thread. */
  drain(): Promise<void>;
  /** Reports a problem once per `key`. */
  report(message: string, key: string): void;
  /** On a node that is itself a logger: takes a batch directly, no network involved. */
  local?: (batch: LogBatch) => void;
}

/** The writer's counters. */
export interface LogWriterStats {
  /** Records accepted by `write()`. */
  logRecordsWritten: number;
  /** Batches handed to the transport (first sends only). */
  logBatchesSent: number;
  /** Batches acknowledged by a logger. */
  logBatchesAcked: number;
  /** Batches sent again because a logger stopped, died, or did not answer in time. */
  logBatchesResent: number;
  /** Records and batches dropped under DROP (or with no logger to send to). */
  logDroppedRecords: number;
  logDroppedBatches: number;
  /** Records and batches sent but never acknowledged by the time the writer closed. */
  logLostRecords: number;
  logLostBatches: number;
  /**
   * Records and batches sent without an acknowledgment request (to loggers that do not acknowledge,
   * such as Zeek's, or with `acknowledge: false`): whether they were written is unknowable. Any the I/O
   * thread then had to drop are in `logDropped…` too.
   */
  logUnackedRecords: number;
  logUnackedBatches: number;
}

/** Records waiting for their batch, per stream (as its key was made: a stream object may change) and path. */
export interface Buffered {
  key: string;
  stream: LogStream;
  id: string;
  writer: string;
  filter: string;
  path: string;
  records: unknown[][];
}

/** A batch encoded and not yet acknowledged. */
export interface Pending {
  seq: number;
  records: number;
  payload: Uint8Array;
  /** The buffer `payload` views, to reuse once acknowledged; none once sent again. */
  spare: Uint8Array | undefined;
  sentAt: number;
}
