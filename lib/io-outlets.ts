/**
 * @module The I/O Worker's outlets: they move what main hands over on an inproc PAIR to an outgoing
 * socket under an overflow policy. DROP discards and counts; BLOCK counts a block and keeps the
 * message until a blocking send (with the socket's 10 ms timeout) gets it out, while the worker
 * serves its other sockets in between. Not part of the public API.
 */

import { bump, Counter, DATA_TERMINATE, PUBLISH_BATCH, type SharedState } from "./channel.ts";
import { DONTWAIT, Message, SNDMORE, type Socket } from "./zmq.ts";

const encoder = new TextEncoder();
const TERMINATE = encoder.encode(DATA_TERMINATE);
const ACK_REQUEST = encoder.encode(";seq=");

/**
 * Log batches: log PAIR → PUSH, one multipart message each. Frames after the first never hit the HWM
 * (libzmq checks it once per message), so only the first one can wait; while it waits it stays in
 * this outlet's message and the rest of the message stays in the PAIR. Frame 0 asks for an
 * acknowledgment, `log-write;seq=<n>`, when the batch has a sequence number (not 0): frame 0 is where
 * Zeek loggers look at nothing, so they take such batches as they are.
 */
export class LogOutlet {
  blocked = false;
  /** Log batches dropped since the last look, as [seq, records]; main counts them. */
  readonly dropped: [number, number][] = [];
  readonly #msg = new Message();
  #seq = 0;
  #records = 0;
  /** Frame 0 of the batch being sent. */
  #first: Uint8Array = new Uint8Array(0);

  constructor(
    readonly source: Socket,
    readonly sink: Socket | undefined,
    readonly policy: "BLOCK" | "DROP",
    readonly state: SharedState,
    readonly counters: { drops?: Counter; blocks: Counter },
    readonly report: (key: string, message: string) => void,
    /** Sent first: `["log-write", sender]`; the first PAIR frame is `[records, seq]` (seq 0: no acknowledgment wanted). */
    readonly prefix: Uint8Array[],
  ) {}

  #readHeader(): void {
    const header = new DataView(this.#msg.bytes().buffer);
    [this.#records, this.#seq] = [header.getUint32(0, true), header.getUint32(4, true)];
    const plain = this.prefix[0]!;
    if (this.#seq === 0) {
      this.#first = plain;
      return;
    }
    const digits = encoder.encode(String(this.#seq));
    this.#first = new Uint8Array(plain.length + ACK_REQUEST.length + digits.length);
    this.#first.set(plain);
    this.#first.set(ACK_REQUEST, plain.length);
    this.#first.set(digits, plain.length + ACK_REQUEST.length);
  }

  /** Takes one message from the PAIR: `"none"` if there was none, `"terminate"`, or `"done"`. */
  readOne(): "none" | "terminate" | "done" {
    const msg = this.#msg;
    if (!msg.receive(this.source, DONTWAIT)) return "none";
    if (!msg.more) {
      if (msg.equals(TERMINATE)) return "terminate";
      this.report("inproc", "inproc: error: expected a publish or terminate");
      bump(this.state, Counter.MsgErrors);
      return "done";
    }
    this.#readHeader();
    if (this.sink && this.#sendFirst(DONTWAIT)) {
      this.#sendRest();
    } else if (!this.sink || this.policy === "DROP") {
      this.#drop(this.sink ? "dropped a message due to hwm" : "dropped: no logger endpoints");
      this.#skipRest();
    } else {
      bump(this.state, this.counters.blocks);
      this.blocked = true;
    }
    return "done";
  }

  /** Retries the waiting message with a blocking send: libzmq sleeps until there is room, or 10 ms. */
  retry(): void {
    if (!this.#sendFirst(0)) return;
    this.blocked = false;
    this.#sendRest();
  }

  /** Drops what waits and what is left in the PAIR, counting it (at shutdown). */
  dropAll(): void {
    if (this.blocked) {
      this.#drop("dropped at shutdown");
      this.#skipRest();
      this.blocked = false;
    }
    while (this.#msg.receive(this.source, DONTWAIT)) {
      if (!this.#msg.more) continue; // a terminate marker
      this.#readHeader();
      this.#drop("dropped at shutdown");
      this.#skipRest();
    }
  }

  #sendFirst(flags: number): boolean {
    const sink = this.sink!;
    const send = () => sink.sendFrame(this.#first, flags | SNDMORE);
    // On EAGAIN, ZMQ_EVENTS processes libzmq's throttled "room again" commands before we decide.
    return send() || (flags !== 0 && (sink.events(), send()));
  }

  #sendRest(): void {
    const sink = this.sink!;
    const msg = this.#msg;
    for (const frame of this.prefix.slice(1)) sink.sendFrame(frame, SNDMORE);
    for (;;) {
      if (!msg.receive(this.source, DONTWAIT)) return this.report("inproc-partial", "inproc: error: message ended early");
      const more = msg.more;
      if (!msg.sendTo(sink, more ? SNDMORE : 0)) this.report("partial", "error: could not send the rest of a message");
      if (!more) return;
    }
  }

  #skipRest(): void {
    while (this.#msg.more && this.#msg.receive(this.source, DONTWAIT));
  }

  #drop(why: string): void {
    if (this.counters.drops !== undefined) bump(this.state, this.counters.drops);
    this.dropped.push([this.#seq, this.#records]);
    this.report("drop-log", `log: warn: ${why}`);
  }

  close(): void {
    this.#msg.close();
  }
}

/**
 * Publishes: batches from the data PAIR (see `outbox.ts`), each event sent to the XPUB as
 * `[topic, sender, format, payload]` straight from libzmq's copy of the batch. An event waiting under
 * BLOCK keeps its batch here; the rest of the batch follows once it went out.
 */
export class PublishOutlet {
  blocked = false;
  readonly #msg = new Message();
  /** The batch being sent: a view of `#msg`, valid until it is received into again. */
  #bytes: Uint8Array = new Uint8Array(0);
  #view = new DataView(this.#bytes.buffer);
  #pos = 0;

  constructor(
    readonly source: Socket,
    readonly sink: Socket,
    readonly policy: "BLOCK" | "DROP",
    readonly state: SharedState,
    readonly sender: Uint8Array,
    readonly format: Uint8Array,
    readonly report: (key: string, message: string) => void,
  ) {}

  /** Takes one batch from the PAIR and sends what it can: `"none"`, `"terminate"`, or the events it took. */
  readOne(): "none" | "terminate" | number {
    const msg = this.#msg;
    if (!msg.receive(this.source, DONTWAIT)) return "none";
    if (msg.more) {
      while (msg.more && msg.receive(this.source, DONTWAIT));
      return this.#malformed("a multipart message");
    }
    if (msg.equals(TERMINATE)) return "terminate";
    this.#bytes = msg.view();
    if (this.#bytes[0] !== PUBLISH_BATCH) return this.#malformed("not a batch");
    this.#view = new DataView(this.#bytes.buffer, this.#bytes.byteOffset, this.#bytes.byteLength);
    this.#pos = 1;
    return this.#sendAll(DONTWAIT);
  }

  /** Retries the waiting event with a blocking send (up to 10 ms in libzmq), then the rest of the batch. */
  retry(): void {
    this.#sendAll(0);
  }

  /** Drops the rest of the waiting batch and every batch in the PAIR, counting them (at shutdown). */
  dropAll(): void {
    const count = (): number => {
      let n = 0;
      for (let at = this.#pos; this.#record(at); at = this.#next) n++;
      return n;
    };
    let lost = this.blocked ? count() : 0;
    this.blocked = false;
    while (this.#msg.receive(this.source, DONTWAIT)) {
      this.#bytes = this.#msg.view();
      if (this.#bytes[0] !== PUBLISH_BATCH) continue; // a terminate marker
      this.#view = new DataView(this.#bytes.buffer, this.#bytes.byteOffset, this.#bytes.byteLength);
      this.#pos = 1;
      lost += count();
    }
    if (lost > 0) {
      bump(this.state, Counter.XpubDrops, lost);
      this.report("drop-xpub", "xpub: warn: dropped at shutdown");
    }
  }

  // The record being looked at (set by #record, no object per event).
  #topic = 0;
  #topicLength = 0;
  #payload = 0;
  #payloadLength = 0;
  #next = 0;

  /** Reads the record at `at` into the fields above; `false` if the batch ends or is cut short there. */
  #record(at: number): boolean {
    if (at + 2 > this.#bytes.length) return false;
    this.#topicLength = this.#view.getUint16(at, true);
    this.#topic = at + 2;
    const payloadAt = this.#topic + this.#topicLength;
    if (payloadAt + 4 > this.#bytes.length) return false;
    this.#payloadLength = this.#view.getUint32(payloadAt, true);
    this.#payload = payloadAt + 4;
    this.#next = this.#payload + this.#payloadLength;
    return this.#next <= this.#bytes.length;
  }

  #sendAll(firstFlags: number): number {
    const { sink, state } = this;
    const msg = this.#msg;
    let sent = 0;
    let flags = firstFlags;
    while (this.#pos < this.#bytes.length) {
      if (!this.#record(this.#pos)) {
        this.#pos = this.#bytes.length;
        this.#malformed("a truncated batch");
        break;
      }
      // Only the first frame can meet the HWM. On EAGAIN, ZMQ_EVENTS processes libzmq's throttled
      // "room again" commands before we decide.
      const first = msg.sendRange(sink, this.#topic, this.#topicLength, flags | SNDMORE) ||
        (flags !== 0 && (sink.events(), msg.sendRange(sink, this.#topic, this.#topicLength, flags | SNDMORE)));
      if (!first) {
        if (this.policy === "BLOCK") {
          if (!this.blocked) bump(state, Counter.XpubBlocks);
          this.blocked = true;
          return sent;
        }
        bump(state, Counter.XpubDrops);
        this.report("drop-xpub", "xpub: warn: dropped a message due to hwm");
      } else {
        sink.sendFrame(this.sender, SNDMORE);
        sink.sendFrame(this.format, SNDMORE);
        msg.sendRange(sink, this.#payload, this.#payloadLength, 0);
      }
      this.#pos = this.#next;
      sent++;
      flags = DONTWAIT;
    }
    this.blocked = false;
    return sent;
  }

  #malformed(what: string): number {
    bump(this.state, Counter.MsgErrors);
    this.report("inproc", `inproc: error: expected a batch of publishes or terminate, got ${what}`);
    this.#bytes = new Uint8Array(0);
    this.#pos = 0;
    return 0;
  }

  close(): void {
    this.#msg.close();
  }
}
