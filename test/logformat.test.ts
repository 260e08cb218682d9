import { describe, expect, test } from "bun:test";
import { beginStreamBatch, endStreamBatch, streamEncoder } from "../lib/_zeek-log-stream.ts";
import {
  decodeBatch,
  decodeZeekBatch,
  defineStream,
  encodeBatch,
  encodeZeekBatch,
  recordValues,
} from "../lib/logformat.ts";
import { LogWriter } from "../lib/logpush.ts";

const CONN = defineStream({
  id: "Conn::LOG",
  path: "conn",
  fields: {
    ts: "time",
    uid: "string",
    "id.orig_h": "addr",
    "id.orig_p": "port",
    proto: "enum",
    duration: { type: "interval", optional: true },
    orig_bytes: { type: "count", optional: true },
    tunnel_parents: { type: "set[string]", optional: true },
  },
});
const OK = { ts: 1700000000.25, uid: "CHhAvVGS1DHFjwGM9", "id.orig_h": "10.0.0.1", "id.orig_p": 53, proto: "udp" };

describe("defineStream()", () => {
  test("keeps field order and optional flags", () => {
    expect(CONN.fields.map((f) => `${f.name}:${f.type}${f.optional ? "?" : ""}`)).toEqual([
      "ts:time",
      "uid:string",
      "id.orig_h:addr",
      "id.orig_p:port",
      "proto:enum",
      "duration:interval?",
      "orig_bytes:count?",
      "tunnel_parents:set[string]?",
    ]);
  });

  test("rejects unknown types and bad definitions", () => {
    expect(() => defineStream({ id: "X::LOG", path: "x", fields: { a: "uint" as never } })).toThrow(
      /stream 'X::LOG': field 'a' has unknown type "uint"/,
    );
    expect(() => defineStream({ id: "X::LOG", path: "x", fields: { a: "set[table]" as never } })).toThrow(RangeError);
    expect(() => defineStream({ id: "", path: "x", fields: { a: "string" } })).toThrow(TypeError);
    expect(() => defineStream({ id: "X::LOG", path: "../etc", fields: { a: "string" } })).toThrow(
      /path must be a file name/,
    );
    expect(() => defineStream({ id: "X::LOG", path: "x", fields: {} })).toThrow(TypeError);
  });
});

describe("records are checked against the schema", () => {
  test("a valid record becomes values in field order, unset optional fields null", () => {
    expect(recordValues(CONN, { ...OK, orig_bytes: 10, tunnel_parents: new Set(["a"]) })).toEqual([
      1700000000.25,
      "CHhAvVGS1DHFjwGM9",
      "10.0.0.1",
      53,
      "udp",
      null,
      10,
      ["a"],
    ]);
    expect(recordValues(CONN, { ...OK, ts: new Date(1500) })[0]).toBe(1.5);
  });

  const bad: [string, Record<string, unknown>, RegExp][] = [
    ["missing required", { ...OK, uid: undefined }, /'Conn::LOG': field 'uid' is required/],
    ["unknown field", { ...OK, bogus: 1 }, /'Conn::LOG': has no field 'bogus'/],
    ["string for a time", { ...OK, ts: "now" }, /field 'ts' expects a time .* got 'now'/],
    ["not an address", { ...OK, "id.orig_h": "10.0.0.256" }, /field 'id.orig_h' expects an IP address/],
    ["port out of range", { ...OK, "id.orig_p": 70000 }, /field 'id.orig_p' expects a port number/],
    ["negative count", { ...OK, orig_bytes: -1 }, /field 'orig_bytes' expects a non-negative 64-bit integer, got -1/],
    [
      "set element of the wrong type",
      { ...OK, tunnel_parents: ["a", 1] },
      /field 'tunnel_parents' expects set elements that are a string/,
    ],
    ["scalar for a set", { ...OK, tunnel_parents: "a" }, /field 'tunnel_parents' expects a set of string/],
  ];
  for (const [what, record, message] of bad) {
    test(`${what}: TypeError naming stream and field`, () => {
      expect(() => recordValues(CONN, record)).toThrow(TypeError);
      expect(() => recordValues(CONN, record)).toThrow(message);
    });
  }

  test("an address that passed is remembered, and only that one", () => {
    const at = (addr: string) => recordValues(CONN, { ...OK, "id.orig_h": addr })[2];
    expect(at("10.0.0.1")).toBe("10.0.0.1");
    expect(at("10.0.0.1")).toBe("10.0.0.1");
    expect(() => at("10.0.0.256")).toThrow(/field 'id.orig_h' expects an IP address/);
    expect(() => at("10.0.0.01")).toThrow(/field 'id.orig_h' expects an IP address/);
    expect(at("2001:DB8::1")).toBe("2001:db8::1"); // not a dotted quad: checked and made canonical as before
    expect(() => at("")).toThrow(/field 'id.orig_h' expects an IP address/);
    expect(at("10.0.0.2")).toBe("10.0.0.2");
  });

  test("schema errors raise in write() before anything is buffered or sent", async () => {
    const sent: number[] = [];
    const writer = new LogWriter(
      { send: (records) => (sent.push(records), "sent"), drain: async () => {}, report: () => {} },
      { acknowledge: false },
    );
    // @ts-expect-error: a wrong type is a compile error as well (test/typed-log.test.ts)
    expect(() => writer.write(CONN, { ...OK, uid: 5 })).toThrow(/field 'uid' expects a string/);
    // @ts-expect-error: so is a field the stream does not have
    expect(() => writer.write(CONN, { ...OK, extra: true })).toThrow(/has no field 'extra'/);
    await writer.flush();
    expect(sent).toEqual([]);
    expect(writer.stats().logRecordsWritten).toBe(0);
    writer.write(CONN, OK);
    await writer.flush();
    expect(sent).toEqual([1]);
  });
});

describe("the writer's payload buffers", () => {
  test("an acknowledged batch's buffer carries a later batch; one sent twice never does", () => {
    const sent: { seq: number; payload: Uint8Array; copy: Uint8Array }[] = [];
    const writer = new LogWriter(
      {
        send: (_records, seq, payload) => (sent.push({ seq, payload, copy: payload.slice() }), "sent"),
        encode: encodeZeekBatch,
        drain: async () => {},
        report: () => {},
      },
      { writeBufferSize: 2, flushInterval: 0, resendAfter: 0 },
    );
    let uid = 0;
    const write = (n: number) => {
      for (let i = 0; i < n; i++) writer.write(CONN, { ...OK, uid: `C${uid++}` });
    };
    write(6); // batches 1-3
    writer.onAck([1]);
    writer.onLoggerStopped(); // 2 and 3 go again: the transport may hold them
    writer.onAck([2, 3]);
    write(6); // batches 4-6
    expect(sent.map((s) => s.seq)).toEqual([1, 2, 3, 2, 3, 4, 5, 6]);
    const buffers = sent.map((s) => s.payload.buffer);
    expect(buffers[5]).toBe(buffers[0]!); // batch 4 in batch 1's buffer
    for (const later of buffers.slice(6)) expect([buffers[1], buffers[2]]).not.toContain(later);
    // Every payload said what was written when it went, and the ones not reused still do.
    for (const [i, s] of sent.entries()) {
      const first = [0, 2, 4, 2, 4, 6, 8, 10][i]!;
      expect(decodeZeekBatch(s.copy).records.map((r) => r[1])).toEqual([`C${first}`, `C${first + 1}`]);
      if (i !== 0) expect(s.payload).toEqual(s.copy);
    }
  });
});

describe("msgpack-log-v1", () => {
  test("a batch round-trips, with or without a sequence number", () => {
    const batch = { stream: CONN.id, path: "conn", fields: [...CONN.fields], records: [recordValues(CONN, OK)] };
    expect(decodeBatch(encodeBatch(batch))).toEqual(batch);
    expect(decodeBatch(encodeBatch({ ...batch, seq: 7 })).seq).toBe(7);
  });

  test("malformed batches are errors", () => {
    const fields = [...CONN.fields];
    const enc = (body: unknown) => new Uint8Array(Buffer.from(JSON.stringify(body))); // not msgpack at all
    expect(() => decodeBatch(enc(["x"]))).toThrow();
    expect(() => decodeBatch(encodeBatch({ stream: "S", path: "../x", fields, records: [] }))).toThrow(
      /bad stream or path/,
    );
    expect(() => decodeBatch(encodeBatch({ stream: "S", path: "p", fields, records: [[1]] }))).toThrow(
      /does not match the fields/,
    );
    const wrong = recordValues(CONN, OK);
    wrong[2] = "not-an-ip";
    expect(() => decodeBatch(encodeBatch({ stream: "S", path: "p", fields, records: [wrong] }))).toThrow(/id.orig_h/);
  });
});

describe("records checked and encoded in one pass (a writer sending zeek-bin-serializer)", () => {
  // Every type, optional or not, with values the inline code takes and values only checkValue takes.
  const ALL = defineStream({
    id: "All::LOG",
    path: "all",
    fields: {
      t: "time",
      i: { type: "interval", optional: true },
      d: { type: "double", optional: true },
      c: { type: "count", optional: true },
      n: { type: "int", optional: true },
      p: { type: "port", optional: true },
      b: { type: "bool", optional: true },
      a: { type: "addr", optional: true },
      a2: { type: "addr", optional: true },
      s: { type: "subnet", optional: true },
      str: { type: "string", optional: true },
      e: { type: "enum", optional: true },
      set: { type: "set[string]", optional: true },
      vec: { type: "vector[count]", optional: true },
    },
  });
  let seed = 99;
  const rand = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
  const good: Record<string, () => unknown> = {
    t: () => pick([1700000000.25, new Date(1700000000250), 0, -1.5]),
    i: () => pick([0.25, 1e21, Number.NaN]),
    d: () => pick([1.5, -0, Infinity]),
    c: () => pick([0, 2 ** 31, 2 ** 53 - 1, 18446744073709551615n]),
    n: () => pick([-1, 7, -(2 ** 40), -5n]),
    p: () => pick([0, 443, 65535, "53/udp"]),
    b: () => rand() < 0.5,
    a: () => pick(["10.0.0.1", "10.0.0.2", "::1", "::ffff:10.0.0.3", "2001:DB8::1"]),
    a2: () => pick(["192.168.1.1", "192.168.1.1", "fe80::1"]),
    s: () => pick(["10.0.0.0/8", "2001:db8::/32"]),
    str: () => pick(["", "plain", "é", "a\tb", new Uint8Array([0xff, 0x41])]),
    e: () => pick(["tcp", "udp"]),
    set: () => pick([[], ["a", "b"], new Set(["x"])]),
    vec: () => pick([[], [1, null, 3]]),
  };
  const bad: Record<string, () => unknown> = {
    t: () => pick(["now", Number.NaN, {}]),
    c: () => pick([-1, 1.5, "7", 2n ** 64n]),
    p: () => pick([65536, -1, "80/sctp"]),
    a: () => pick(["10.0.0.256", "010.0.0.1", "host", 7]),
    str: () => pick([5, true]),
    vec: () => pick([["a"], 3]),
  };
  const record = () => {
    const r: Record<string, unknown> = {};
    for (const f of ALL.fields) {
      const x = rand();
      if (f.optional && x < 0.15) continue;
      r[f.name] = f.optional && x < 0.25 ? pick([null, undefined]) : good[f.name]!();
    }
    const y = rand();
    if (y < 0.05) r.extra = 1;
    else if (y < 0.08) delete r.t;
    else if (y < 0.2) {
      const name = pick(Object.keys(bad));
      r[name] = bad[name]!();
    }
    return r;
  };

  test("give encodeZeekBatch's bytes, and throw recordValues' errors with nothing of the record kept", () => {
    const encode = streamEncoder(ALL)!;
    let errors = 0;
    for (let round = 0; round < 40; round++) {
      // A small buffer, grown on the way.
      const batch = beginStreamBatch(ALL, "all-x", Buffer.alloc(round % 2 ? 64 : 4096));
      const values: unknown[][] = [];
      for (let k = 0; k < 50; k++) {
        const r = record();
        let expected: unknown[] | Error;
        try {
          expected = recordValues(ALL, r);
        } catch (err) {
          expected = err as Error;
        }
        const before = [batch.pos, batch.count];
        if (expected instanceof Error) {
          expect(() => encode(r, batch)).toThrow(expected.message);
          expect([batch.pos, batch.count]).toEqual(before);
          errors++;
        } else {
          encode(r, batch);
          values.push(expected);
        }
      }
      const fields = [...ALL.fields];
      const reference = encodeZeekBatch({ stream: ALL.id, path: "all-x", fields, records: values });
      expect(Buffer.from(endStreamBatch(batch)).equals(Buffer.from(reference))).toBe(true);
    }
    expect(errors).toBeGreaterThan(100);
  });

  test("a writer's batches decode to the records written, a stream object of the same id in a batch of its own", () => {
    const sent: Uint8Array[] = [];
    const writer = new LogWriter(
      {
        send: (_r, _s, payload) => (sent.push(payload.slice()), "sent"),
        encode: encodeZeekBatch,
        drain: async () => {},
        report: () => {},
      },
      { acknowledge: false, writeBufferSize: 3 },
    );
    const OTHER = defineStream({ id: CONN.id, path: "conn", fields: { ts: "time" } });
    for (let i = 0; i < 4; i++) writer.write(CONN, { ...OK, uid: `C${i}` });
    writer.write(OTHER, { ts: 5 });
    writer.write(CONN, { ...OK, uid: "C5" });
    // @ts-expect-error: a bad record throws and leaves nothing in the batch
    expect(() => writer.write(CONN, { ...OK, uid: 5 })).toThrow(/field 'uid' expects a string/);
    writer.flush();
    const batches = sent.map((p) => decodeZeekBatch(p));
    expect(batches.map((b) => b.records.map((r) => r[b.fields.length > 1 ? 1 : 0]))).toEqual([
      ["C0", "C1", "C2"],
      ["C3"],
      [5],
      ["C5"],
    ]);
    expect(batches[2]!.fields.map((f) => f.name)).toEqual(["ts"]);
    expect(writer.stats().logRecordsWritten).toBe(6);
  });
});
