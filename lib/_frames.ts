/**
 * @module Every byte layout that crosses a boundary, defined once: the 4-frame event and log messages
 * on the network (Zeek's), subscription notices, and what the main thread and its I/O Worker hand each
 * other on their inproc PAIRs and in posted batches (their records: `_batch.ts`). Numbers are little-endian between the threads;
 * what goes on the network is Zeek's. Not part of the public API.
 */

const encoder = new TextEncoder();

/** The frames of an event message (node XPUB → broker → node XSUB), as Zeek sends them. */
export const EventFrame = { Topic: 0, Sender: 1, Format: 2, Payload: 3 } as const;
/** The frames of a log message (node PUSH → logger PULL), as Zeek sends them. */
export const LogFrame = { Tag: 0, Sender: 1, Format: 2, Payload: 3 } as const;
/** Event and log messages have exactly this many frames. */
export const MESSAGE_FRAMES = 4;

/** Frame 0 of a log message; Zeek sends this and ignores the frame on receipt. */
export const LOG_WRITE: Uint8Array = encoder.encode("log-write");
const ACK_REQUEST = encoder.encode("log-write;seq=");

/**
 * Frame 0 of a log message: `log-write`, or `log-write;seq=<seq>` when the writer asks the logger to
 * acknowledge batch `seq` (a Zeek logger reads nothing in frame 0, so it takes either).
 *
 * @example Asking for an acknowledgment
 * ```ts
 * import { ackRequest, logWriteTag } from "./_frames.ts";
 *
 * console.log(new TextDecoder().decode(logWriteTag(17))); // "log-write;seq=17"
 * console.log(new TextDecoder().decode(logWriteTag(0))); // "log-write"
 * console.log(ackRequest(logWriteTag(17)), ackRequest(logWriteTag(0))); // 17 undefined
 * ```
 */
export function logWriteTag(seq: number): Uint8Array {
  if (seq === 0) return LOG_WRITE;
  const digits = encoder.encode(String(seq));
  const out = new Uint8Array(ACK_REQUEST.length + digits.length);
  out.set(ACK_REQUEST);
  out.set(digits, ACK_REQUEST.length);
  return out;
}

/** The sequence number a log message's frame 0 asks to acknowledge (see {@linkcode logWriteTag}), or `undefined`. */
export function ackRequest(frame: Uint8Array): number | undefined {
  if (frame.length <= ACK_REQUEST.length || frame.length > ACK_REQUEST.length + 10) return undefined;
  for (let i = 0; i < ACK_REQUEST.length; i++) if (frame[i] !== ACK_REQUEST[i]) return undefined;
  let seq = 0;
  for (let i = ACK_REQUEST.length; i < frame.length; i++) {
    const d = frame[i]! - 48;
    if (d < 0 || d > 9) return undefined;
    seq = seq * 10 + d;
  }
  return seq > 0 && seq <= 0xffffffff ? seq : undefined;
}

/** The first byte of a subscription notice (a node's XSUB sends it; every XPUB sees it). */
export const Notice = { Unsubscribe: 0, Subscribe: 1 } as const;

/** A subscription notice: one frame, the flag byte and the topic prefix. */
export function noticeFrame(flag: (typeof Notice)[keyof typeof Notice], topic: string): Uint8Array {
  const bytes = encoder.encode(topic);
  const out = new Uint8Array(1 + bytes.length);
  out[0] = flag;
  out.set(bytes, 1);
  return out;
}

/** Control PAIR (main → worker): `[tag, payload…]`. */
export const Control = {
  XsubUpdate: 0, // payload: a notice to send on the XSUB
  Stop: 1, // payload: u32 grace in ms; main has closed its PAIRs: send what they hold within it, then end
  ClosePull: 2, // read what the PULL socket holds, close it, then post `pull-closed`
  Publish: 3, // `[tag, topic, payload]`: one of the backend's own events, sent ahead of the data PAIR's
  XpubCheck: 4, // main's XPUB sends may have taken its ZMQ_FD signal while subscriptions wait: read them
  XsubBack: 5, // main has read the XSUB the worker lent it and gives it back
} as const;

/** The first byte of a publish batch on the data PAIR. */
export const PUBLISH_BATCH = 0xb1;

/**
 * A batch of publishes (main → worker, one data PAIR message): `[u8 PUBLISH_BATCH]`, then per event
 * `[u16 topic length][topic][u32 payload length][payload]`. The worker adds the sender and format
 * frames. One message for many events: main makes one libzmq call per batch instead of four per event.
 *
 * @example Packing two events and reading them back
 * ```ts
 * import { PublishBatch, readPublishRecord } from "./_frames.ts";
 *
 * const batch = new PublishBatch();
 * const bytes = (s: string) => new TextEncoder().encode(s);
 * batch.add(bytes("t.a"), bytes("one"), 3);
 * batch.add(bytes("t.b"), bytes("two!"), 4);
 * const view = new DataView(batch.bytes.buffer, 0, batch.length);
 * const r = { topicStart: 0, topicEnd: 0, payloadStart: 0, payloadEnd: 0 };
 * console.log(readPublishRecord(view, 1, r), r.payloadEnd - r.payloadStart); // true 3
 * console.log(readPublishRecord(view, r.payloadEnd, r), batch.events); // true 2
 * ```
 */
export class PublishBatch {
  bytes: Uint8Array;
  #view: DataView;
  /** Bytes used: the batch is `bytes[0, length)`. */
  length = 1;
  /** Events in the batch. */
  events = 0;

  constructor(bytes: Uint8Array = new Uint8Array(64 * 1024)) {
    this.bytes = bytes;
    this.bytes[0] = PUBLISH_BATCH;
    this.#view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  /** Bytes an event of these sizes takes in a batch. */
  static size(topicLength: number, payloadLength: number): number {
    return 6 + topicLength + payloadLength;
  }

  /** Appends an event whose payload is `payload[0, length)`; the caller made room (see {@linkcode fits}). */
  add(topic: Uint8Array, payload: Uint8Array, length: number): void {
    const at = this.length;
    this.#view.setUint16(at, topic.length, true);
    copy(topic, topic.length, this.bytes, at + 2);
    this.#view.setUint32(at + 2 + topic.length, length, true);
    copy(payload, length, this.bytes, at + 6 + topic.length);
    this.length = at + PublishBatch.size(topic.length, length);
    this.events++;
  }

  /** Whether `size` more bytes fit. */
  fits(size: number): boolean {
    return this.length + size <= this.bytes.length;
  }

  /** Starts over in `bytes` (a reused or a bigger buffer). */
  reset(bytes: Uint8Array = this.bytes): void {
    this.bytes = bytes;
    this.bytes[0] = PUBLISH_BATCH;
    this.#view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.length = 1;
    this.events = 0;
  }
}

/** Where one event of a publish batch is, as offsets into the batch. */
export interface PublishRecord {
  topicStart: number;
  topicEnd: number;
  payloadStart: number;
  payloadEnd: number;
}

/** Reads the event at `at` of a publish batch into `r`; `false` if the batch ends or is cut short there. */
export function readPublishRecord(view: DataView, at: number, r: PublishRecord): boolean {
  if (at + 2 > view.byteLength) return false;
  r.topicStart = at + 2;
  r.topicEnd = r.topicStart + view.getUint16(at, true);
  if (r.topicEnd + 4 > view.byteLength) return false;
  r.payloadStart = r.topicEnd + 4;
  r.payloadEnd = r.payloadStart + view.getUint32(r.topicEnd, true);
  return r.payloadEnd <= view.byteLength;
}

/** Copies `from[0, length)` to `to` at `at`; small copies in a loop, which beats making a view. */
function copy(from: Uint8Array, length: number, to: Uint8Array, at: number): void {
  if (length > 64) return to.set(length === from.length ? from : from.subarray(0, length), at);
  for (let i = 0; i < length; i++) to[at + i] = from[i]!;
}

/** A log batch on the log PAIR (main → worker): 3 frames `[header, format, payload]`; the header's fields. */
export const LogHeader = { Records: 0, Seq: 4, Size: 8 } as const;

/**
 * The header frame of a log batch on the log PAIR: how many records, and the sequence number the
 * writer wants acknowledged (0: none).
 *
 * @example A header and its fields
 * ```ts
 * import { LogHeader, logHeader, readLogHeader } from "./_frames.ts";
 *
 * const header = logHeader(1000, 7);
 * console.log(header.length === LogHeader.Size, readLogHeader(header)); // true { records: 1000, seq: 7 }
 * ```
 */
export function logHeader(records: number, seq: number): Uint8Array {
  const out = new Uint8Array(LogHeader.Size);
  const view = new DataView(out.buffer);
  view.setUint32(LogHeader.Records, records, true);
  view.setUint32(LogHeader.Seq, seq, true);
  return out;
}

/** The fields of a log batch header frame (see {@linkcode logHeader}). */
export function readLogHeader(frame: Uint8Array): { records: number; seq: number } {
  const view = new DataView(frame.buffer, frame.byteOffset, frame.byteLength);
  return { records: view.getUint32(LogHeader.Records, true), seq: view.getUint32(LogHeader.Seq, true) };
}
