/**
 * @module The I/O Worker's outlets: they move what main hands over on an inproc PAIR to an outgoing
 * socket under an overflow policy. DROP discards and counts; BLOCK counts a block and keeps the
 * message until a blocking send (with the socket's 10 ms timeout) gets it out, while the worker
 * serves its other sockets in between. Not part of the public API.
 */

import { bump, Counter, type SharedState, Slot } from "./_channel.ts";
import { LogHeader, logWriteTag, PUBLISH_BATCH, type PublishRecord, readPublishRecord } from "./_frames.ts";
import { DONTWAIT, Message, SNDMORE, type Socket } from "./_zmq.ts";

/** Publish batches up to this size (the usual ones: see `_io-queue.ts`) are copied into one reused buffer. */
const BATCH_COPY_BYTES = 128 * 1024;
/** The backend's own events waiting for the XPUB beyond which more are dropped (and counted). */
const PRIORITY_MAX = 10_000;

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
    /** This node's id, frame 1 of every log message. */
    readonly sender: Uint8Array,
  ) {}

  #readHeader(): void {
    [this.#records, this.#seq] = [this.#msg.readUint32(LogHeader.Records), this.#msg.readUint32(LogHeader.Seq)];
    this.#first = logWriteTag(this.#seq);
  }

  /** Takes one message from the PAIR: `"none"` if there was none, else `"done"`. */
  readOne(): "none" | "done" {
    const msg = this.#msg;
    if (!msg.receive(this.source, DONTWAIT)) return "none";
    if (!msg.more) {
      this.report("inproc", "inproc: error: expected a log batch of 3 frames");
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
      if (!this.#msg.more) continue; // malformed: counted when it was read, never here
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
    sink.sendFrame(this.sender, SNDMORE);
    for (;;) {
      if (!msg.receive(this.source, DONTWAIT))
        return this.report("inproc-partial", "inproc: error: message ended early");
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
 * Publishes: batches from the data PAIR (see `_frames.ts`), each event sent to the XPUB as
 * `[topic, sender, format, payload]` straight from libzmq's copy of the batch. An event the XPUB does
 * not take keeps its batch here and the rest follows once it went out, under both policies: BLOCK
 * counts a block; DROP sets `Slot.XpubFull`, so that main drops new events before it encodes them
 * instead of this worker dropping encoded ones. The backend's own events (control PAIR) go ahead.
 */
export class PublishOutlet {
  blocked = false;
  readonly #msg = new Message();
  /** The batch being sent, copied out of `#msg` (a copy costs less than a view of libzmq's memory). */
  #bytes: Uint8Array = new Uint8Array(0);
  #view = new DataView(this.#bytes.buffer);
  #pos = 0;
  /** Where batches are copied to; a batch too big for it (a huge event) gets a buffer of its own. */
  readonly #buffer = new Uint8Array(BATCH_COPY_BYTES);
  readonly #bufferView = new DataView(this.#buffer.buffer);
  /** The backend's own events, `[topic, payload]`, waiting for room on the XPUB ahead of the batches. */
  readonly #priority: [Uint8Array, Uint8Array][] = [];

  constructor(
    readonly source: Socket,
    readonly sink: Socket,
    readonly policy: "BLOCK" | "DROP",
    readonly state: SharedState,
    readonly sender: Uint8Array,
    readonly format: Uint8Array,
    readonly report: (key: string, message: string) => void,
  ) {}

  /** Takes one batch from the PAIR and sends what it can: `"none"`, or the events it took. */
  readOne(): "none" | number {
    const msg = this.#msg;
    if (!msg.receive(this.source, DONTWAIT)) return "none";
    if (msg.more) {
      while (msg.more && msg.receive(this.source, DONTWAIT));
      return this.#finished(this.#malformed("a multipart message"));
    }
    this.#load();
    if (this.#bytes[0] !== PUBLISH_BATCH) return this.#finished(this.#malformed("not a batch"));
    this.#pos = 1;
    return this.#sendAll(DONTWAIT);
  }

  /** Copies the batch in `#msg` to `#bytes` and `#view`, for reading; `#msg` keeps it for sending. */
  #load(): void {
    const size = this.#msg.size;
    const own = size <= this.#buffer.length;
    const buffer = own ? this.#buffer : new Uint8Array(size);
    this.#msg.copyTo(buffer, 0, size);
    this.#bytes = buffer.subarray(0, size);
    this.#view = own ? this.#bufferView : new DataView(buffer.buffer);
  }

  /** Retries the waiting event with a blocking send (up to 10 ms in libzmq), then the rest of the batch. */
  retry(): void {
    this.#sendAll(0);
  }

  /** Whether backend events wait for room. */
  get prioritized(): boolean {
    return this.#priority.length > 0;
  }

  /** Queues one of the backend's own events (beyond `PRIORITY_MAX` waiting it is dropped and counted). */
  priority(topic: Uint8Array, payload: Uint8Array): void {
    if (this.#priority.length < PRIORITY_MAX) this.#priority.push([topic, payload]);
    else bump(this.state, Counter.XpubDrops);
  }

  /** Sends the waiting backend events as far as the XPUB takes them, ahead of the batches. */
  sendPriority(): void {
    const { sink } = this;
    let sent = 0;
    for (const [topic, payload] of this.#priority) {
      if (!sink.sendFrame(topic, DONTWAIT | SNDMORE) && !(sink.events(), sink.sendFrame(topic, DONTWAIT | SNDMORE)))
        break;
      sink.sendFrame(this.sender, SNDMORE);
      sink.sendFrame(this.format, SNDMORE);
      sink.sendFrame(payload, 0);
      sent++;
    }
    if (sent > 0) this.#priority.splice(0, sent);
  }

  /** Drops the rest of the waiting batch and every batch in the PAIR, counting them (at shutdown). */
  dropAll(): void {
    const count = (): number => {
      let n = 0;
      for (let at = this.#pos; this.#record(at); at = this.#r.payloadEnd) n++;
      return n;
    };
    let lost = (this.blocked ? count() : 0) + this.#priority.splice(0).length;
    this.#setBlocked(false);
    while (this.#msg.receive(this.source, DONTWAIT)) {
      this.#load();
      if (this.#bytes[0] !== PUBLISH_BATCH) continue; // malformed: counted when it was read, never here
      this.#pos = 1;
      lost += count();
    }
    if (lost > 0) {
      bump(this.state, Counter.XpubDrops, lost);
      this.report("drop-xpub", "xpub: warn: dropped at shutdown");
    }
  }

  /** The event being looked at (one object, reused). */
  readonly #r: PublishRecord = { topicStart: 0, topicEnd: 0, payloadStart: 0, payloadEnd: 0 };

  /** Reads the event at `at`; `false` if the batch ends or is cut short there. */
  #record(at: number): boolean {
    return readPublishRecord(this.#view, at, this.#r);
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
      const r = this.#r;
      const first =
        msg.sendRange(sink, r.topicStart, r.topicEnd - r.topicStart, flags | SNDMORE) ||
        (flags !== 0 && (sink.events(), msg.sendRange(sink, r.topicStart, r.topicEnd - r.topicStart, flags | SNDMORE)));
      if (!first) {
        if (this.policy === "BLOCK" && !this.blocked) bump(state, Counter.XpubBlocks);
        this.#setBlocked(true);
        return sent;
      }
      sink.sendFrame(this.sender, SNDMORE);
      sink.sendFrame(this.format, SNDMORE);
      msg.sendRange(sink, r.payloadStart, r.payloadEnd - r.payloadStart, 0);
      this.#pos = r.payloadEnd;
      sent++;
      flags = DONTWAIT;
    }
    this.#setBlocked(false);
    return this.#finished(sent);
  }

  /** Counts a batch from the PAIR as done (main sends on the XPUB itself once all are); passes `sent` on. */
  #finished(sent: number): number {
    Atomics.add(this.state.ints, Slot.BatchesDone, 1);
    return sent;
  }

  #setBlocked(blocked: boolean): void {
    if (this.blocked === blocked) return;
    this.blocked = blocked;
    if (this.policy === "DROP") Atomics.store(this.state.ints, Slot.XpubFull, blocked ? 1 : 0);
  }

  #malformed(what: string): number {
    bump(this.state, Counter.MsgErrors);
    this.report("inproc", `inproc: error: expected a batch of publishes, got ${what}`);
    this.#bytes = new Uint8Array(0);
    this.#pos = 0;
    return 0;
  }

  close(): void {
    this.#msg.close();
  }
}
