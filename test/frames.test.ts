// The wire-frames module on its own, without sockets: each byte layout written and read back, at the
// byte level where the layout is Zeek's or where the two threads must agree.

import { describe, expect, test } from "bun:test";
import { BatchCursor, BatchWriter, Kind, Record } from "../lib/_batch.ts";
import {
  ackRequest,
  EventFrame,
  LOG_WRITE,
  LogFrame,
  LogHeader,
  logHeader,
  logWriteTag,
  MESSAGE_FRAMES,
  Notice,
  noticeFrame,
  PUBLISH_BATCH,
  PublishBatch,
  type PublishRecord,
  readLogHeader,
  readPublishRecord,
} from "../lib/_frames.ts";
import { Message, NativeBuffer } from "../lib/_zmq.ts";

const text = (b: Uint8Array) => new TextDecoder().decode(b);
const bytes = (s: string) => new TextEncoder().encode(s);

describe("network messages (Zeek's)", () => {
  test("events and log messages have 4 frames, named as Zeek names them", () => {
    expect(MESSAGE_FRAMES).toBe(4);
    expect(EventFrame).toEqual({ Topic: 0, Sender: 1, Format: 2, Payload: 3 });
    expect(LogFrame).toEqual({ Tag: 0, Sender: 1, Format: 2, Payload: 3 });
    expect(text(LOG_WRITE)).toBe("log-write");
  });

  test("frame 0 of a log message asks for an acknowledgment, and only a well-formed request counts", () => {
    expect(text(logWriteTag(0))).toBe("log-write");
    expect(text(logWriteTag(4294967295))).toBe("log-write;seq=4294967295");
    for (const seq of [1, 17, 123456789, 4294967295]) expect(ackRequest(logWriteTag(seq))).toBe(seq);
    for (const other of [
      "log-write",
      "log-write;seq=",
      "log-write;seq=0",
      "log-write;seq=-1",
      "log-write;seq=1x",
      "log-write;seq=4294967296",
      "log-write;seq=99999999999",
      "x-write;seq=1",
    ]) {
      expect(ackRequest(bytes(other))).toBeUndefined();
    }
  });

  test("a subscription notice is the flag byte and the topic", () => {
    expect([...noticeFrame(Notice.Subscribe, "ab")]).toEqual([1, 97, 98]);
    expect([...noticeFrame(Notice.Unsubscribe, "")]).toEqual([0]);
  });
});

describe("main → worker", () => {
  test("a publish batch: the marker, then [u16 topic length][topic][u32 payload length][payload] per event, little-endian", () => {
    const batch = new PublishBatch(new Uint8Array(64));
    batch.add(bytes("t"), bytes("xyz-not-sent"), 3);
    batch.add(bytes("tt"), bytes("pq"), 2);
    expect(batch.events).toBe(2);
    expect([...batch.bytes.subarray(0, batch.length)]).toEqual([
      PUBLISH_BATCH,
      1,
      0,
      116,
      3,
      0,
      0,
      0,
      120,
      121,
      122,
      2,
      0,
      116,
      116,
      2,
      0,
      0,
      0,
      112,
      113,
    ]);
    const view = new DataView(batch.bytes.buffer, 0, batch.length);
    const r: PublishRecord = { topicStart: 0, topicEnd: 0, payloadStart: 0, payloadEnd: 0 };
    const seen: string[] = [];
    for (let at = 1; at < batch.length && readPublishRecord(view, at, r); at = r.payloadEnd) {
      seen.push(
        `${text(batch.bytes.subarray(r.topicStart, r.topicEnd))}=${text(batch.bytes.subarray(r.payloadStart, r.payloadEnd))}`,
      );
    }
    expect(seen).toEqual(["t=xyz", "tt=pq"]);
    expect(batch.fits(PublishBatch.size(2, 64 - batch.length - 6 - 2))).toBe(true);
    expect(batch.fits(PublishBatch.size(2, 64 - batch.length - 6 - 1))).toBe(false);
    batch.reset();
    expect([batch.length, batch.events, batch.bytes[0]]).toEqual([1, 0, PUBLISH_BATCH]);
  });

  test("a truncated publish record is refused wherever it is cut", () => {
    const batch = new PublishBatch(new Uint8Array(64));
    batch.add(bytes("topic"), bytes("payload"), 7);
    const r: PublishRecord = { topicStart: 0, topicEnd: 0, payloadStart: 0, payloadEnd: 0 };
    for (let cut = 2; cut < batch.length; cut++) {
      expect(readPublishRecord(new DataView(batch.bytes.buffer, 0, cut), 1, r)).toBe(false);
    }
    expect(readPublishRecord(new DataView(batch.bytes.buffer, 0, batch.length), 1, r)).toBe(true);
  });

  test("a log batch header: records then seq, u32 little-endian", () => {
    const header = logHeader(0x01020304, 7);
    expect(LogHeader).toEqual({ Records: 0, Seq: 4, Size: 8 });
    expect([...header]).toEqual([4, 3, 2, 1, 7, 0, 0, 0]);
    expect(readLogHeader(header)).toEqual({ records: 0x01020304, seq: 7 });
  });
});

describe("worker → main", () => {
  test("records of frames copied from libzmq messages, read back by the cursor without views until asked", () => {
    const writer = new BatchWriter(new NativeBuffer(8)); // grows as needed
    const msg = new Message();
    const record = (kind: Kind, frames: string[]) => {
      writer.begin(kind);
      for (const f of frames) {
        msg.set(f);
        writer.frame(msg, msg.size);
      }
    };
    record(Kind.Event, ["topic", "sender", "broker-bin-v1", "payload"]);
    expect(writer.frameEquals(EventFrame.Sender, bytes("sender"))).toBe(true);
    expect(writer.frameEquals(EventFrame.Sender, bytes("sende"))).toBe(false);
    expect(writer.firstByte(EventFrame.Topic)).toBe(116);
    writer.commit();
    record(Kind.Notice, ["\x01t"]);
    writer.rollback(); // a record can be taken back before it is committed
    record(Kind.Log, ["log-write", "w", "zeek-bin-serializer", ""]);
    expect(writer.firstByte(LogFrame.Payload)).toBe(-1);
    writer.commit();
    const taken = writer.take();
    expect([taken.events, taken.logs, writer.size]).toEqual([1, 1, 0]);
    const raw = new Uint8Array(taken.buffer);
    expect([raw[Record.Kind], raw[Record.Frames]]).toEqual([Kind.Event, 4]);
    expect(new DataView(taken.buffer).getUint32(Record.HeaderSize, true)).toBe(5); // "topic"
    const cursor = new BatchCursor(taken.buffer);
    const seen: string[] = [];
    while (cursor.next())
      seen.push(`${cursor.kind}:${Array.from({ length: cursor.count }, (_, i) => text(cursor.frame(i))).join("|")}`);
    expect(seen).toEqual([
      `${Kind.Event}:topic|sender|broker-bin-v1|payload`,
      `${Kind.Log}:log-write|w|zeek-bin-serializer|`,
    ]);
    msg.close();
    writer.close();
  });
});
