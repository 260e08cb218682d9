// Fuzzing on real sockets with fixed seeds: hostile events in every format, hostile subscriptions,
// hostile log batches in both formats and raw bytes that are not ZMTP, each against a node in a process
// of its own. Every target survives, counts every malformed message exactly (msg_errors), stays under
// +100 MB RSS and 50 ms of event-loop lag, and gets all the valid traffic sent between the hostile.

import { afterEach, expect, test } from "bun:test";
import { Context, SocketOption } from "../lib/_zmq.ts";
import { encodeBatch, LOG_FORMAT, recordValues, ZEEK_LOG_FORMAT } from "../lib/logformat.ts";
import { BROKER_BIN_V1, BROKER_JSON_V1, type EventFormat, MSGPACK_V1 } from "../lib/serializer.ts";
import { ANY_PORT, bytes } from "./helpers.ts";
import {
  EVENT_BOMBS,
  eventIsMalformed,
  logBatch,
  logBombs,
  logRecordsOf,
  mib,
  mutate,
  RawBroker,
  rng,
  sendPaced,
  startTarget,
  statsWhen,
  type TargetStats,
  TEST_LOG,
} from "./hostile-helpers.ts";

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
});

const MB = 2 ** 20;
const SENDER = bytes("zeromq_raw_peer");
const FORMATS: EventFormat[] = [BROKER_BIN_V1, BROKER_JSON_V1, MSGPACK_V1];
/** Zeek's default maxTopicLength, which the targets run with. */
const MAX_TOPIC = 1024;

/** A stable order for a seeded shuffle. */
function shuffle<T>(r: ReturnType<typeof rng>, items: T[]): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = r.int(i + 1);
    [items[i], items[j]] = [items[j]!, items[i]!];
  }
  return items;
}

/** What every target must hold to: alive, small, responsive, and every report given once. */
function expectHealthy(stats: TargetStats): void {
  expect(stats.maxLag, "event-loop lag (ms)").toBeLessThan(50);
  expect(stats.rssPeak - stats.rssBase, `RSS growth ${mib(stats.rssPeak - stats.rssBase)}`).toBeLessThan(100 * MB);
  expect(Object.entries(stats.reports).filter(([, n]) => n !== 1)).toEqual([]);
}

function rawBroker(): RawBroker {
  const broker = new RawBroker();
  cleanups.push(() => broker.close());
  return broker;
}

test("events in every format and subscriptions: malformed ones counted exactly, valid ones all delivered", async () => {
  const broker = rawBroker();
  const target = await startTarget("target", broker.endpoints, ["hostile."]);
  await broker.subscribed("hostile.");
  const r = rng(2024);
  const topic = bytes("hostile.fuzz");
  const hostile: Uint8Array[][] = [];
  let malformed = 0;
  const add = (frames: Uint8Array[], bad: boolean) => {
    hostile.push(frames);
    if (bad) malformed++;
  };
  for (const f of FORMATS) {
    const format = bytes(f.name);
    const samples = [
      f.encode({ name: "junk", args: ["zeromq_raw_peer", 1, -2, 2.5, true, null, "ü"] }),
      f.encode({ name: "junk", args: [[1, [2, [3, ["x"]]]], new Map([["k", [1, 2]]]), new Set(["a"])] }),
      f.encode({ name: "junk", args: [new Date(1700000000000)], metadata: [[1, 1700000000.5]] }),
    ];
    // Mutated events (some still decode: those count as events, not errors), random bytes, bombs.
    for (let i = 0; i < 1500; i++) {
      const payload = mutate(r, samples[r.int(samples.length)]!);
      add([topic, SENDER, format, payload], eventIsMalformed(f.name, payload));
    }
    for (let i = 0; i < 300; i++) {
      const payload = r.bytes(r.int(64));
      add([topic, SENDER, format, payload], eventIsMalformed(f.name, payload));
    }
    for (const bomb of EVENT_BOMBS[f.name]!) add([topic, SENDER, format, bomb], true);
    // A valid event under a topic beyond maxTopicLength.
    for (let i = 0; i < 20; i++)
      add([bytes(`hostile.${"x".repeat(MAX_TOPIC - 7 + i * 3)}`), SENDER, format, samples[0]!], true);
  }
  // Wrong frame counts, and formats nobody registered.
  const valid = MSGPACK_V1.encode({ name: "junk", args: [] });
  for (const n of [1, 2, 3, 5, 6])
    for (let i = 0; i < 20; i++) add([topic, SENDER, bytes("msgpack-v1"), valid, valid, valid].slice(0, n), true);
  for (const name of ["broker-bin-v9", "", "msgpack-v2", "x".repeat(10_000)])
    for (let i = 0; i < 20; i++) add([topic, SENDER, bytes(name), valid], true);
  shuffle(r, hostile);

  const before = await target.stats();
  let pings = 0;
  function* messages(): Generator<readonly Uint8Array[]> {
    for (let i = 0; i < hostile.length; i++) {
      if (i % 4 === 0) {
        const f = FORMATS[pings % FORMATS.length]!;
        yield [topic, SENDER, bytes(f.name), f.encode({ name: "ping", args: ["raw", pings++] })];
      }
      yield hostile[i]!;
    }
  }
  await sendPaced(messages(), (frames) => broker.send(frames), 500, 10);
  // Subscriptions as a broker forwards them: beyond maxTopicLength (distinct, counted), within it
  // (raised as `subscription`), and frames that are no (un)subscription (ignored, as Zeek does).
  const long = `hostile.${"s".repeat(MAX_TOPIC)}`;
  for (let i = 0; i < 40; i++) broker.notice(bytes(`\x01${long}${i}`));
  for (let i = 0; i < 20; i++) broker.notice(bytes(`\x01hostile.sub.${i}`));
  for (let i = 0; i < 10; i++) broker.notice(Uint8Array.from([2 + r.int(250), ...r.bytes(r.int(20))]));
  malformed += 40;

  await statsWhen(
    target,
    (s) => s.pings >= pings && s.msgErrors >= malformed && s.subscriptions >= before.subscriptions + 20,
    "every message handled",
    30_000,
  );
  await Bun.sleep(200);
  const final = await target.stats();
  expect({ pings: final.pings, gaps: final.gaps, drops: final.onloopDrops }).toEqual({ pings, gaps: 0, drops: 0 });
  expect(final.msgErrors).toBe(malformed);
  expect(final.subscriptions - before.subscriptions).toBe(20);
  expectHealthy(final);
}, 90_000);

for (const pullEngine of ["libzmq", "bun"] as const)
  test(`log batches in both formats: malformed ones counted exactly, every valid record written once (pullEngine "${pullEngine}")`, async () => {
    const broker = rawBroker();
    const logger = await startTarget("logger", { ...broker.endpoints, listenLogEndpoint: ANY_PORT, pullEngine });
    const ctx = new Context();
    cleanups.push(() => ctx.close());
    const push = ctx.socket("PUSH");
    push.setOption(SocketOption.SNDHWM, 0);
    push.connect(logger.logEndpoint);
    const r = rng(77);
    const bombs = logBombs();
    const tag = bytes("log-write");
    const hostile: Uint8Array[][] = [];
    let malformed = 0;
    const add = (frames: Uint8Array[], bad: boolean) => {
      hostile.push(frames);
      if (bad) malformed++;
    };
    const undecodable = (format: string, payload: Uint8Array) => logRecordsOf(format, payload, new Set()) === undefined;
    for (const format of [LOG_FORMAT, ZEEK_LOG_FORMAT]) {
      const name = bytes(format);
      for (let i = 0; i < 1000; i++) {
        const payload = mutate(r, logBatch(format, 1 + r.int(5)));
        add([tag, SENDER, name, payload], undecodable(format, payload));
      }
      for (let i = 0; i < 200; i++) {
        const payload = r.bytes(r.int(96));
        add([tag, SENDER, name, payload], undecodable(format, payload));
      }
      for (const bomb of bombs[format]!) add([tag, SENDER, name, bomb], true);
      // A valid batch from a sender whose id could never be part of a topic.
      for (let i = 0; i < 10; i++) add([tag, bytes("s".repeat(MAX_TOPIC + 1 + i)), name, logBatch(format, 1)], true);
    }
    const one = logBatch(LOG_FORMAT, 1);
    for (const n of [1, 2, 3, 5])
      for (let i = 0; i < 10; i++) add([tag, SENDER, bytes(LOG_FORMAT), one, one].slice(0, n), true);
    for (let i = 0; i < 10; i++) add([tag, SENDER, bytes("json-log-v9"), one], true);
    shuffle(r, hostile);
    // The records the logger writes, in the order batches go out: mutated batches that still decode are
    // written too, and a batch whose sequence number was seen is not written again.
    const seqs = new Set<number>();
    let records = 0;
    const written = (frames: readonly Uint8Array[]): number =>
      frames.length !== 4 || frames[1]!.length > MAX_TOPIC
        ? 0
        : (logRecordsOf(new TextDecoder().decode(frames[2]), frames[3]!, seqs) ?? 0);
    function* batches(): Generator<readonly Uint8Array[]> {
      let seq = 0;
      for (let i = 0; i < hostile.length; i++) {
        if (i % 4 === 0) {
          // Valid batches, the msgpack ones with a sequence number and each of those sent twice.
          const rows = Array.from({ length: 1 + (i % 3) }, (_, k) =>
            recordValues(TEST_LOG, { ts: 1, writer: "raw", seq: i + k, tags: [] }),
          );
          const payload = encodeBatch({
            stream: TEST_LOG.id,
            path: "test",
            fields: [...TEST_LOG.fields],
            records: rows,
            seq: ++seq,
          });
          for (const frames of [
            [tag, SENDER, bytes(LOG_FORMAT), payload],
            [tag, SENDER, bytes(LOG_FORMAT), payload],
            [tag, SENDER, bytes(ZEEK_LOG_FORMAT), logBatch(ZEEK_LOG_FORMAT, 2)],
          ]) {
            records += written(frames);
            yield frames;
          }
        }
        records += written(hostile[i]!);
        yield hostile[i]!;
      }
    }
    await sendPaced(batches(), (frames) => push.send(frames), 250, 10);
    await statsWhen(logger, (s) => s.msgErrors >= malformed && s.logRecords >= records, "every batch handled", 30_000);
    await Bun.sleep(200);
    const final = await logger.stats();
    expect({ msgErrors: final.msgErrors, logRecords: final.logRecords }).toEqual({
      msgErrors: malformed,
      logRecords: records,
    });
    expectHealthy(final);
  }, 90_000);

/** ZMTP 3.0's greeting with the NULL mechanism, as a client (`as-server` 0). */
function zmtpGreeting(): Uint8Array {
  const g = new Uint8Array(64);
  g.set([0xff, 0, 0, 0, 0, 0, 0, 0, 1, 0x7f, 3, 0]);
  g.set(bytes("NULL"), 12);
  return g;
}

/** A READY command saying Socket-Type PUSH. */
function zmtpReady(): Uint8Array {
  const body = [5, ...bytes("READY"), 11, ...bytes("Socket-Type"), 0, 0, 0, 4, ...bytes("PUSH")];
  return Uint8Array.from([0x04, body.length, ...body]);
}

/** Connects to `port` and writes `data`; hangs up after unless `stay`. */
async function rawConnection(port: number, data: Uint8Array, stay: boolean): Promise<Bun.Socket<undefined>> {
  const socket = await Bun.connect({
    hostname: "127.0.0.1",
    port,
    socket: { data: () => {}, error: () => {} },
  });
  socket.write(data);
  if (!stay) socket.end();
  return socket;
}

for (const pullEngine of ["libzmq", "bun"] as const)
  test(`raw bytes that are not ZMTP on a logger's TCP port: no harm, valid batches still written (pullEngine "${pullEngine}")`, async () => {
    const broker = rawBroker();
    const logger = await startTarget("logger", { ...broker.endpoints, listenLogEndpoint: ANY_PORT, pullEngine });
    const port = Number(new URL(logger.logEndpoint.replace("tcp://", "http://")).port);
    const r = rng(99);
    const sockets: Bun.Socket<undefined>[] = [];
    cleanups.push(() => {
      for (const s of sockets) s.terminate();
    });
    // ZMTP's signature or greeting, then noise; a full handshake, then a frame that declares 1 TiB, and
    // one that declares 15 MiB and stops short. libzmq ends these in the handshake or keeps waiting:
    // no message reaches the node, so none is counted.
    const huge = [0x02, 0, 0, 1, 0, 0, 0, 0, 0];
    const short = [0x02, 0, 0, 0, 0, 0, 0xf0, 0, 0, ...r.bytes(1000)];
    const zmtp = [
      ...Array.from({ length: 5 }, () => [...zmtpGreeting().subarray(0, 10), ...r.bytes(4096)]),
      ...Array.from({ length: 5 }, () => [...zmtpGreeting(), ...r.bytes(4096)]),
      [...zmtpGreeting(), ...zmtpReady(), ...huge],
      [...zmtpGreeting(), ...zmtpReady(), ...short],
    ];
    for (const [i, data] of zmtp.entries()) sockets.push(await rawConnection(port, Uint8Array.from(data), i % 2 === 0));
    await Bun.sleep(300);
    expect((await logger.stats()).msgErrors).toBe(0);
    // Random bytes: libzmq reads bytes without ZMTP's signature as ZMTP 1.0 frames, so some arrive as
    // messages, which are malformed and counted (how many depends on libzmq's framing).
    for (let i = 0; i < 20; i++) sockets.push(await rawConnection(port, r.bytes(1 + r.int(64 * 1024)), i % 2 === 0));

    const ctx = new Context();
    cleanups.push(() => ctx.close());
    const push = ctx.socket("PUSH");
    push.connect(logger.logEndpoint);
    for (let i = 0; i < 200; i++)
      push.send([bytes("log-write"), SENDER, bytes(ZEEK_LOG_FORMAT), logBatch(ZEEK_LOG_FORMAT, 5)]);
    await statsWhen(logger, (s) => s.logRecords >= 1000, "the valid batches", 30_000);
    await Bun.sleep(200);
    const final = await logger.stats();
    expect(logger.proc.exitCode).toBeNull();
    expect(final.logRecords).toBe(1000);
    expectHealthy(final);
  }, 60_000);
