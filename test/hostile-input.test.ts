// Issue 12, hostile input: payloads that declare gigabytes, floods of malformed messages and batches,
// batches that would hold the event loop, topics beyond maxTopicLength. Each test failed before the fix.

import { afterEach, describe, expect, test } from "bun:test";
import { Context, SocketOption } from "../lib/_zmq.ts";
import { decodeEvent } from "../lib/events.ts";
import { decodeBatch, decodeZeekBatch, LOG_FORMAT, ZEEK_LOG_FORMAT } from "../lib/logformat.ts";
import { getFormat, MSGPACK_V1 } from "../lib/serializer.ts";
import { EVENTS } from "../lib/topics.ts";
import { makeNode } from "./cluster-helpers.ts";
import { ANY_PORT, bytes, lagMonitor, waitFor } from "./helpers.ts";
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
} from "./hostile-helpers.ts";

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
});

function rawBroker(): RawBroker {
  const broker = new RawBroker();
  cleanups.push(() => broker.close());
  return broker;
}

const SENDER = bytes("zeromq_raw_peer");
const MB = 2 ** 20;

describe("payload bombs", () => {
  test("every decoder rejects a bomb in well under 100 ms without allocating what it declares", () => {
    const decoders: [string, Uint8Array, (b: Uint8Array) => unknown][] = [];
    for (const [format, bombs] of Object.entries(EVENT_BOMBS))
      for (const b of bombs)
        decoders.push([format, b, (p) => decodeEvent(getFormat(format)!, p, 0, p.length, () => undefined)]);
    for (const [format, bombs] of Object.entries(logBombs()))
      for (const b of bombs) decoders.push([format, b, format === LOG_FORMAT ? decodeBatch : decodeZeekBatch]);
    Bun.gc(true);
    const before = process.memoryUsage().rss;
    for (const [format, bomb, decode] of decoders) {
      const started = performance.now();
      expect(() => decode(bomb), `${format} ${bomb.length} bytes`).toThrow();
      // Before the fix the 8-byte bomb took 0.8 s and 800 MB; 203 bytes of nested arrays, gigabytes.
      expect(performance.now() - started, `${format} bomb of ${bomb.length} bytes`).toBeLessThan(100);
      expect(process.memoryUsage().rss - before, `${format} bomb of ${bomb.length} bytes`).toBeLessThan(64 * MB);
    }
  });
});

describe("a flood of malformed input", () => {
  test(
    "100,000 malformed events and 20,000 valid ones: no loop stall over 50 ms, every valid one arrives, each malformed one counted",
    async () => {
      const broker = rawBroker();
      // Zeek's defaults, onloopQueueHwm 10,000 among them.
      const target = await startTarget("target", broker.endpoints, ["hostile."]);
      await broker.subscribed("hostile.");
      const r = rng(12);
      const topic = bytes("hostile.flood");
      const format = bytes("msgpack-v1");
      const junk = MSGPACK_V1.encode({ name: "junk", args: ["zeromq_raw_peer", 1, 2.5, ["a", { b: 1 }]] });
      const bomb = EVENT_BOMBS["msgpack-v1"]![0]!;
      let valid = 0;
      /** A malformed payload: a mutated event, random bytes or, one in a thousand, the 8-byte bomb. */
      const hostile = (): Uint8Array => {
        for (;;) {
          const roll = r.next();
          const payload = roll < 0.001 ? bomb : roll < 0.8 ? mutate(r, junk) : r.bytes(r.int(48));
          if (eventIsMalformed("msgpack-v1", payload)) return payload;
        }
      };
      function* messages(): Generator<Uint8Array[]> {
        for (let i = 0; i < 120_000; i++) {
          if (i % 6 === 0) yield [topic, SENDER, format, MSGPACK_V1.encode({ name: "ping", args: ["raw", valid++] })];
          else yield [topic, SENDER, format, i === 1 ? bomb : hostile()];
        }
      }
      await sendPaced(messages(), (frames) => broker.send(frames), 1000, 20);
      const malformed = 100_000;
      await statsWhen(
        target,
        (s) => s.pings + s.onloopDrops >= valid && s.msgErrors >= malformed,
        "every event",
        60_000,
      );
      await Bun.sleep(200);
      const final = await target.stats();
      expect({ pings: final.pings, gaps: final.gaps, onloopDrops: final.onloopDrops }).toEqual({
        pings: 20_000,
        gaps: 0,
        onloopDrops: 0,
      });
      expect(final.msgErrors).toBe(malformed);
      expect(Object.values(final.reports).every((n) => n === 1)).toBe(true);
      console.log(`[hostile-input] flood of events: max event-loop lag ${final.maxLag.toFixed(1)} ms`);
      expect(final.maxLag, "event-loop lag (ms)").toBeLessThan(50);
      expect(final.rssPeak - final.rssBase, `RSS growth ${mib(final.rssPeak - final.rssBase)}`).toBeLessThan(100 * MB);
      // One retry: the lag is typically 9–15 ms here (also with both cores busy), but once in about six
      // full-suite runs a single stall of 50–60 ms came from the machine (page reclaim), not the node.
    },
    { timeout: 90_000, retry: 1 },
  );

  test("10,000 malformed log batches: the logger counts each, writes every valid one, stays small and responsive", async () => {
    const broker = rawBroker();
    const logger = await startTarget("logger", { ...broker.endpoints, listenLogEndpoint: ANY_PORT });
    const ctx = new Context();
    cleanups.push(() => ctx.close());
    const push = ctx.socket("PUSH");
    push.setOption(SocketOption.SNDHWM, 0); // what the logger does not take yet waits here
    push.connect(logger.logEndpoint);
    const r = rng(34);
    const bombs = logBombs();
    const seen = new Set<number>();
    let records = 0;
    /** A malformed batch: a mutated one, random bytes or, one in a hundred, a bomb. */
    const hostile = (format: string, valid: Uint8Array): Uint8Array => {
      for (;;) {
        const roll = r.next();
        // The 8-byte bomb, and the zeek-bin-serializer ones.
        const list = format === LOG_FORMAT ? bombs[format]!.slice(0, 1) : bombs[format]!;
        const payload = roll < 0.01 ? list[r.int(list.length)]! : roll < 0.8 ? mutate(r, valid) : r.bytes(r.int(64));
        if (logRecordsOf(format, payload, seen) === undefined) return payload;
      }
    };
    function* batches(): Generator<Uint8Array[]> {
      for (let i = 0; i < 12_000; i++) {
        const format = i % 2 ? LOG_FORMAT : ZEEK_LOG_FORMAT;
        const valid = logBatch(format, 1 + (i % 7), i * 10);
        if (i % 6 === 0) records += logRecordsOf(format, valid, seen)!;
        yield [bytes("log-write"), SENDER, bytes(format), i % 6 === 0 ? valid : hostile(format, valid)];
      }
    }
    await sendPaced(batches(), (frames) => push.send(frames), 500, 20);
    const malformed = 10_000;
    await statsWhen(logger, (s) => s.msgErrors >= malformed && s.logRecords >= records, "every batch", 60_000);
    await Bun.sleep(200);
    const final = await logger.stats();
    expect({ msgErrors: final.msgErrors, logRecords: final.logRecords }).toEqual({
      msgErrors: malformed,
      logRecords: records,
    });
    expect(Object.values(final.reports).every((n) => n === 1)).toBe(true);
    expect(final.maxLag, "event-loop lag (ms)").toBeLessThan(50);
    expect(final.rssPeak - final.rssBase, `RSS growth ${mib(final.rssPeak - final.rssBase)}`).toBeLessThan(100 * MB);
  }, 90_000);
});

describe("bounded work per batch", () => {
  test("300 events whose handlers take 1 ms each never hold the event loop for 50 ms", async () => {
    const broker = rawBroker();
    const node = makeNode({ name: "busy", ...broker.endpoints });
    node.subscribe("hostile.");
    let handled = 0;
    node.on("slow", () => {
      for (const until = performance.now() + 1; performance.now() < until; );
      handled++;
    });
    await node.start();
    await broker.subscribed("hostile.");
    const lag = lagMonitor(5);
    cleanups.push(() => lag.stop());
    const payload = MSGPACK_V1.encode({ name: "slow", args: [] });
    for (let i = 0; i < 300; i++) broker.send([bytes("hostile.slow"), SENDER, bytes("msgpack-v1"), payload]);
    await waitFor(() => handled === 300, "300 slow events", 20_000);
    await Bun.sleep(20); // a tick the batches held up would come now
    // Before the fix a batch was processed in one go: hundreds of ms without a timer.
    expect(lag.maxMs, "event-loop lag (ms)").toBeLessThan(50);
    expect(node.stats().onloopQueueDepth).toBe(0);
  }, 30_000);
});

describe("maxTopicLength", () => {
  test("events and subscriptions with longer topics are counted as malformed, reported once, never seen", async () => {
    const broker = rawBroker();
    const node = makeNode({ name: "strict", ...broker.endpoints, maxTopicLength: 64 });
    node.subscribe("hostile.");
    const got: string[] = [];
    node.on("ping", (topic: string) => got.push(topic));
    const subscribed: string[] = [];
    node.on(EVENTS.subscription, (topic: string) => topic.startsWith("hostile.t") && subscribed.push(topic));
    await node.start();
    await broker.subscribed("hostile.");
    const before = node.stats().msgErrors;
    const topicOf = (n: number) => `hostile.${"t".repeat(n - 8)}`;
    const ping = (topic: string) => MSGPACK_V1.encode({ name: "ping", args: [topic] });
    // Just within the limit, then beyond it, then within it again.
    for (const n of [64, 65, 200, 4000, 64])
      broker.send([bytes(topicOf(n)), SENDER, bytes("msgpack-v1"), ping(`${n}`)]);
    for (const n of [64, 65, 300]) broker.notice(bytes(`\x01${topicOf(n)}`));
    await waitFor(
      () => got.length === 2 && subscribed.length === 1,
      "the events and the subscription within the limit",
    );
    await waitFor(() => node.stats().msgErrors - before === 5, "five malformed messages");
    await Bun.sleep(100); // nothing else arrives
    expect(got).toEqual(["64", "64"]);
    expect(subscribed).toEqual([topicOf(64)]);
    expect(node.stats().msgErrors - before).toBe(5);
    expect(node.reports.filter((r) => r.includes("a topic longer than maxTopicLength (64 bytes)"))).toHaveLength(1);
    expect(node.reports.filter((r) => r.includes("a subscription longer than maxTopicLength"))).toHaveLength(1);
  }, 30_000);
});
