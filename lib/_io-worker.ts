/**
 * @module A node's I/O Worker, as one program read top-down: this loop, the sockets it opens
 * (`_io-sockets.ts`), the outlets it sends through (`_io-outlets.ts`) and the reader it reads with
 * (`_io-reader.ts`); its main-thread side is `_io-thread.ts`. It creates every socket of the node
 * (XPUB and XSUB to the broker, PUSH to the loggers, PULL on a logger, the inproc PAIRs from the main
 * thread) and sits in `zmq_poll`, so the main thread never waits on libzmq. Main takes two turns of
 * its own: it sends an event on its own on the XPUB (under `Slot.XpubLock`, `_io-direct.ts`), and an
 * idle main is lent the XSUB to read arriving events itself (`_io-xsub-loan.ts`); either saves a hop
 * between threads where latency counts.
 *
 * - Publishes (data PAIR → XPUB) and log batches (log PAIR → PUSH) each follow their overflow policy
 *   on their own: DROP discards and counts; BLOCK counts a block and waits in a blocking send with a
 *   10 ms timeout, serving every other socket between tries. A stalled logger never holds up events.
 * - Events from the XSUB, subscription notices from the XPUB and log batches from the PULL are copied
 *   into one batch for main, handed over whenever the sockets run dry. Events beyond
 *   `onloop_queue_hwm` waiting on main are dropped (`onloop_drops`); with a HWM of 0, and for log
 *   batches always, the worker stops reading instead, so nothing is lost and memory stays bounded.
 */

import { BatchWriter } from "./_batch.ts";
import {
  bump,
  Counter,
  createSharedState,
  type IoWorkerEvent,
  type IoWorkerStart,
  LOG_BACKPRESSURE_AT,
  lockXpub,
  QUIET_MS,
  Slot,
  unlockXpub,
  XsubOwner,
} from "./_channel.ts";
import { Control } from "./_frames.ts";
import { SocketMonitors } from "./_io-monitors.ts";
import { LogOutlet, PublishOutlet } from "./_io-outlets.ts";
import { MessageReader } from "./_io-reader.ts";
import { openSockets, type WorkerSockets } from "./_io-sockets.ts";
import { Context, DONTWAIT, ETERM, NativeBuffer, POLLIN, Poller, type Socket, SocketOption, ZmqError } from "./_zmq.ts";

declare const self: Worker;

const FLUSH_BYTES = 512 * 1024;

function post(event: IoWorkerEvent, transfer?: ArrayBuffer[]): void {
  self.postMessage(event, transfer ? { transfer } : undefined);
}

self.onmessage = (event: MessageEvent<IoWorkerStart>) => run(event.data);

function run(cfg: IoWorkerStart): void {
  const state = createSharedState(cfg.shared);
  const ctx = Context.attach(cfg.context);
  const reported = new Set<string>();
  const report = (key: string, message: string) => {
    if (reported.has(key)) return;
    reported.add(key);
    post({ type: "report", key, message });
  };
  const debug = (text: string) => cfg.debug && console.error(`[zeromq] io thread ${cfg.nodeId}: ${text}`);
  let s: WorkerSockets;
  try {
    s = openSockets(ctx, cfg);
  } catch (err: unknown) {
    ctx.close();
    post({ type: "failed", message: err instanceof Error ? err.message : String(err) });
    return;
  }
  // Main uses the XPUB and the XSUB too, in turns (see the module's doc). So both are polled by their
  // ZMQ_FD, never as sockets: zmq_poll would read a socket's state while main uses it.
  const xpubFd = s.xpub.getInt(SocketOption.FD);
  const xsubFd = s.xsub.getInt(SocketOption.FD);
  post({ type: "ready", logListen: s.pull?.lastEndpoint ?? "", xpub: s.xpub.handle, xsub: s.xsub.handle });
  debug(`started, XPUB -> ${cfg.xpubEndpoint}, XSUB -> ${cfg.xsubEndpoint}`);

  const idBytes = new TextEncoder().encode(cfg.nodeId);
  const events = new PublishOutlet(
    s.data,
    s.xpub,
    cfg.overflowPolicy,
    state,
    idBytes,
    new TextEncoder().encode(cfg.format),
    report,
  );
  const logs = new LogOutlet(
    s.logs,
    s.push,
    cfg.logOverflowPolicy,
    state,
    { blocks: Counter.LogBlocks },
    report,
    idBytes,
  );
  const postDropped = () => logs.dropped.length > 0 && post({ type: "log-dropped", batches: logs.dropped.splice(0) });
  const batch = new BatchWriter(new NativeBuffer(256 * 1024));
  const limit = cfg.pollMaxMessages || Infinity;
  const hwm = cfg.onloopQueueHwm;
  const flushEvents = hwm > 0 ? Math.max(1, Math.min(8192, Math.floor(hwm / 2))) : 8192;
  /** Set by main's one stop message: until when what the PAIRs hold may still go out. */
  let stopBy = Infinity;

  const monitors = new SocketMonitors(
    s.monitors,
    state,
    (message) => post({ type: "handshake-failed", message }),
    report,
  );

  /** Whether main has the XSUB now (see `lend` below); XSUB input left for the next turn; held updates. */
  let lent = false;
  let xsubPending = false;
  /** Whether the last poll slept (at least `QUIET_MS`): the node is not in a stream of events. */
  let slept = false;
  const heldUpdates: Uint8Array[] = [];

  // The poll set changes when the PULL closes or a socket pauses; items are addressed by role.
  let items: { socket: Socket; role: string }[] = [];
  let poller = new Poller([]);
  const paused = new Set<string>();
  const rebuild = () => {
    poller.close();
    const all: [Socket | undefined, string][] = [
      [s.data, "data"],
      [s.logs, "logs"],
      [s.control, "control"],
      [s.xpub, "xpub"],
      [s.xsub, "xsub"],
      [s.pull, "pull"],
    ];
    items = [
      ...all.filter((e): e is [Socket, string] => e[0] !== undefined),
      ...monitors.sockets.map((m) => [m, "monitor"] as [Socket, string]),
    ]
      .filter(([, role]) => !paused.has(role))
      .map(([socket, role]) => ({ socket, role }));
    poller = new Poller(
      items.map(({ socket, role }) =>
        role === "xpub"
          ? { fd: xpubFd, events: POLLIN }
          : role === "xsub"
            ? { fd: xsubFd, events: lent ? 0 : POLLIN }
            : { socket, events: POLLIN },
      ),
    );
  };
  /** Polls the XSUB's descriptor, or not while main has the socket. */
  const pollXsub = (on: boolean) => {
    const index = items.findIndex((item) => item.role === "xsub");
    if (index >= 0) poller.setEvents(index, on ? POLLIN : 0);
  };
  rebuild();
  const setPaused = (role: string, pause: boolean) => {
    if (paused.has(role) === pause) return;
    if (pause) paused.add(role);
    else paused.delete(role);
    rebuild();
  };

  const flush = () => {
    if (batch.size === 0) return;
    const taken = batch.take();
    Atomics.add(state.ints, Slot.OnloopDepth, taken.events);
    Atomics.add(state.ints, Slot.LogDepth, taken.logs);
    post({ type: "batch", ...taken }, [taken.buffer]);
  };
  const logsWaitingOnMain = () => Atomics.load(state.ints, Slot.LogDepth) + batch.logs;

  const read = new MessageReader(batch, {
    state,
    idBytes,
    maxTopicLength: cfg.maxTopicLength,
    onloopHwm: hwm,
    report,
  });
  const readNotice = () => read.readNotice(s.xpub);
  const readEvent = () => read.readEvent(s.xsub);
  // A batch for main holds at most FLUSH_BYTES and what one message adds, and no more log messages are
  // read while main has LOG_BACKPRESSURE_AT waiting: log batches are large (a 1,000-record batch is
  // ~170 KB), and a poll's worth of them at once (pollMaxMessages) kept tens of MB alive in main.
  const readLog = () => batch.size < FLUSH_BYTES && logsWaitingOnMain() < LOG_BACKPRESSURE_AT && read.readLog(s.pull!);

  // Main reads the XSUB itself while it has nothing else to do (`_io-xsub-loan.ts`): it waits with
  // `Slot.XsubOwner` at MainWaiting, and when events arrive and nothing of the worker's waits for main
  // (their order), the worker lends it the socket instead of reading, one hop between threads fewer.
  // Main gives it back with `XsubBack` once it has processed what it read (at once if that takes long).
  // While lent, this thread does not touch the XSUB: its subscription changes wait, its descriptor is
  // not polled.
  const lend = (): boolean => {
    // Only to a main that waits, after this thread slept too (events come one now and then: the hop
    // matters; in a stream, batches cost less per event than loans), for events that wait (the
    // descriptor also signals libzmq's other commands), and when nothing read earlier still waits for
    // main: main processes what it reads at once.
    if (!slept || batch.events > 0 || Atomics.load(state.ints, Slot.OnloopDepth) > 0) return false;
    if (!(s.xsub.events() & POLLIN)) return false;
    const waiting = XsubOwner.MainWaiting;
    if (Atomics.compareExchange(state.ints, Slot.XsubOwner, waiting, XsubOwner.Main) !== waiting) return false;
    Atomics.notify(state.ints, Slot.XsubOwner);
    lent = true;
    xsubPending = false;
    pollXsub(false);
    return true;
  };
  const takeBack = () => {
    lent = false; // what came meanwhile shows in ZMQ_EVENTS before the next poll
    pollXsub(true);
    for (const notice of heldUpdates.splice(0)) s.xsub.sendFrame(notice, DONTWAIT);
  };
  /** Reads the XSUB (or lends it to main); what is left past pollMaxMessages is read next turn. */
  const serveXsub = () => {
    if (lent || paused.has("xsub") || lend()) return;
    xsubPending = !drain(readEvent);
    read.countDrops(); // before this thread may sleep: main reads the counter any time
  };

  const readControl = (): boolean => {
    const frames = s.control.recv(DONTWAIT);
    if (!frames) return false;
    const tag = frames[0]?.[0];
    if (tag === Control.XsubUpdate && frames[1]) {
      if (lent) heldUpdates.push(frames[1]);
      else s.xsub.sendFrame(frames[1], DONTWAIT);
    } else if (tag === Control.XsubBack) takeBack();
    else if (tag === Control.Publish && frames.length === 3) {
      events.priority(frames[1]!, frames[2]!);
      withXpub(() => events.sendPriority());
    } else if (tag === Control.ClosePull) closePull();
    else if (tag === Control.XpubCheck) xpubPending = true;
    else if (tag === Control.Stop && frames[1]?.length === 4) {
      stopBy = performance.now() + new DataView(frames[1].buffer, frames[1].byteOffset, 4).getUint32(0, true);
    }
    return true;
  };

  const closePull = () => {
    if (s.pull) while (read.readLog(s.pull)) if (batch.size >= FLUSH_BYTES) flush();
    flush();
    s.pull?.close();
    s.pull = undefined;
    paused.delete("pull");
    rebuild();
    post({ type: "pull-closed" });
  };

  const drain = (read: () => boolean): boolean => {
    for (let n = 0; n < limit; n++) if (!read()) return true;
    return false;
  };
  /**
   * Subscriptions may wait on the XPUB with its ZMQ_FD quiet: sends (main's or this thread's) process
   * libzmq's commands, which takes the descriptor's signal. So before sleeping, with the XPUB held,
   * ZMQ_EVENTS says whether to read; `xpubPending` also stands for main's `XpubCheck`.
   */
  let xpubPending = false;
  /** Whether this thread used the XPUB since it last looked for subscriptions waiting there. */
  let xpubUsed = true;
  /** Reads subscription notices; the caller holds the XPUB. */
  const readNotices = () => {
    xpubPending = !drain(readNotice);
  };
  // pollMaxMessages counts events: a batch of publishes counts for the events in it.
  const readOutlet = (outlet: PublishOutlet | LogOutlet, wantDrain: number, drainEvent: "drain" | "log-drain") => {
    for (let n = 0; n < limit && !outlet.blocked; ) {
      const got = outlet.readOne();
      if (got === "none") break;
      n += typeof got === "number" ? Math.max(1, got) : 1;
    }
    if (Atomics.exchange(state.ints, wantDrain, 0) === 1) post({ type: drainEvent });
  };

  /**
   * Runs `work` holding the XPUB. Main sends on it whenever this thread does not hold it, so it is
   * held only for what needs it: a turn that only reads the XSUB leaves main's sends alone.
   */
  const withXpub = <T>(work: () => T): T => {
    lockXpub(state);
    xpubUsed = true;
    try {
      return work();
    } finally {
      unlockXpub(state);
    }
  };
  // One loop turn; anything unexpected is reported and the loop goes on, except the context ending.
  const beforePoll = (): number => {
    if (events.prioritized || events.blocked) {
      withXpub(() => {
        if (events.prioritized) events.sendPriority(); // the backend's own events go ahead of the data
        if (events.blocked) events.retry(); // waits up to 10 ms inside libzmq
      });
    }
    if (logs.blocked) logs.retry();
    if (xpubPending || xpubUsed) {
      withXpub(() => (xpubPending || s.xpub.events() & POLLIN) && readNotices());
      xpubUsed = false;
    }
    // Like the XPUB, the XSUB is polled by its descriptor: reads and sends take its signal.
    if (!lent && !paused.has("xsub") && (xsubPending || s.xsub.events() & POLLIN)) serveXsub();
    // Never drop: stop reading while main is this far behind, and libzmq pushes back to the sender.
    setPaused("xsub", hwm === 0 && read.waitingOnMain() >= cfg.onloopBackpressureAt);
    setPaused("pull", s.pull !== undefined && logsWaitingOnMain() >= LOG_BACKPRESSURE_AT);
    const busy = events.blocked || logs.blocked;
    const wait =
      busy || batch.size > 0 || xpubPending || (xsubPending && !paused.has("xsub"))
        ? 0
        : paused.size > 0 || events.prioritized
          ? 1
          : -1;
    // A socket libzmq will not connect again: how soon to look (not the XSUB while main has it).
    const recheck = monitors.waiting ? withXpub(() => monitors.tick((socket) => lent && socket === s.xsub)) : -1;
    return recheck < 0 ? wait : wait < 0 ? recheck : Math.min(wait, recheck);
  };
  const turn = () => {
    const timeout = beforePoll(); // first: it may rebuild the poller
    const start = performance.now();
    const ready = poller.wait(timeout);
    slept = performance.now() - start >= QUIET_MS;
    if (cfg.debug) debug(`poll: ${ready} ready, blocked=${events.blocked || logs.blocked}, paused=${[...paused]}`);
    if (ready === 0) return flush(); // the sockets ran dry: hand the batch over before sleeping
    afterPoll();
  };
  const afterPoll = () => {
    for (let i = 0; i < items.length; i++) {
      if (!(poller.revents(i) & POLLIN)) continue;
      const { socket, role } = items[i]!;
      if (role === "control") drain(readControl);
      else if (role === "xpub") withXpub(readNotices);
      else if (role === "xsub") serveXsub();
      else if (role === "pull" && s.pull) drain(readLog);
      else if (role === "monitor") monitors.read(socket, limit);
      else if (role === "data" && !events.blocked) withXpub(() => readOutlet(events, Slot.WantDrain, "drain"));
      else if (role === "logs" && !logs.blocked) readOutlet(logs, Slot.LogWantDrain, "log-drain");
    }
    if (batch.size >= FLUSH_BYTES || batch.events >= flushEvents) flush();
    read.countDrops();
    postDropped();
  };

  while (stopBy === Infinity) {
    try {
      turn();
    } catch (err: unknown) {
      if (err instanceof ZmqError && err.errno === ETERM) break;
      bump(state, Counter.MsgErrors);
      report(
        `io-error-${err instanceof Error ? err.message : ""}`,
        `io thread: error: ${err instanceof Error ? err.message : String(err)}`,
      );
      batch.rollback();
    }
  }
  // Main no longer uses the XPUB (it stops sending on it before it sends Stop): this thread keeps it.
  lockXpub(state);
  try {
    flush();
    // Stopping: main has closed its ends of the PAIRs; what they hold goes out until the grace ends,
    // and whatever is still there then is dropped and counted.
    for (let moved = true; moved && performance.now() < stopBy; ) {
      moved = false;
      if (events.prioritized) events.sendPriority();
      for (const outlet of [events, logs]) {
        if (outlet.blocked) outlet.retry();
        else if (outlet.readOne() === "none") continue;
        moved = true;
      }
    }
    events.dropAll();
    logs.dropAll();
    postDropped();
  } catch (err: unknown) {
    report("io-failed", `io thread failed: ${err instanceof Error ? err.message : String(err)}`);
  }
  debug("stopping");
  poller.close();
  read.close();
  events.close();
  logs.close();
  monitors.close();
  s.pull?.close();
  s.xsub.close();
  s.xpub.close(); // keeps its linger: queued publishes still go out
  s.push?.close(); // likewise for log batches
  ctx.close();
  // The last user of the context: wait here, off the main thread, for lingering messages to go out.
  Context.terminate(cfg.context);
  post({ type: "terminated" });
}
