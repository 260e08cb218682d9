// Typed events (defineEvent) and Zeek's event envelope in every event format: exact types on the way
// out, strict checks on the way in, what each Zeek version sends, and random values of every type
// through broker-bin-v1, broker-json-v1 and msgpack-v1.

import { describe, expect, test } from "bun:test";
import { fromBroker, toBroker } from "../lib/_broker-convert.ts";
import { BROKER_BIN_V1, BROKER_JSON_V1 } from "../lib/_broker-event.ts";
import { decodeEvent, defineEvent, type EventType, encodeEvent } from "../lib/events.ts";
import { type EventFormat, MSGPACK_V1 } from "../lib/serializer.ts";
import { parseZeekType, record, setOf, tableOf, vectorOf, type ZeekType } from "../lib/zeek-types.ts";
import { seeded } from "./broker-bin.test.ts";

const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");
const bytes = (h: string) => new Uint8Array(Buffer.from(h.replace(/\s+/g, ""), "hex"));
const encode = (f: EventFormat, e: EventType, args: Record<string, unknown>) => {
  const p = encodeEvent(f, e.name, args, e);
  return p.bytes.slice(0, p.length);
};
const decode = (f: EventFormat, payload: Uint8Array, ...types: EventType[]) =>
  decodeEvent(f, payload, 0, payload.length, (name) => types.find((t) => t.name === name));

describe("defineEvent", () => {
  test("Zeek's type names, constructors for records in containers, and refusals naming the event and parameter", () => {
    const E = defineEvent("Intel::seen", {
      hosts: "set[addr, port]",
      by: tableOf("string", record({ n: "count" })),
      all: vectorOf(setOf("subnet")),
    });
    expect(E.params.map((p) => p.type.kind)).toEqual(["set", "table", "vector"]);
    expect(() => defineEvent("x", { n: "cnt" })).toThrow(
      /type of parameter 'n' of event 'x': 'cnt' is not a Zeek type/,
    );
    expect(() => defineEvent("x", { n: "table[string]" })).toThrow(RangeError);
    expect(() => defineEvent("x", { 0: "count" })).toThrow(/not an integer/);
    expect(() => defineEvent("", { n: "count" })).toThrow(TypeError);
    expect(() => record({ a: "vector[]" })).toThrow(/record field 'a'/);
    expect(parseZeekType(" table[ addr ,port ] of  vector[count] ")).toEqual(
      parseZeekType("table[addr, port] of vector[count]"),
    );
  });
});

describe("typed arguments are checked before anything is encoded", () => {
  const E = defineEvent("Test::args", {
    c: "count",
    i: "int",
    d: "double",
    t: "time",
    iv: "interval",
    s: "string",
    e: "enum",
    a: "addr",
    n: "subnet",
    p: "port",
    set: "set[count]",
    tbl: "table[string] of count",
    rec: record({ x: "count", y: { type: "string", optional: true } }),
  });
  const ok = {
    c: 1,
    i: -1,
    d: 0.5,
    t: 1,
    iv: 1,
    s: "s",
    e: "tcp",
    a: "::1",
    n: "10.0.0.0/8",
    p: "80/tcp",
    set: [1, 2],
    tbl: { a: 1 },
    rec: { x: 1 },
  };
  for (const [name, value, message] of [
    ["c", -1, /Cannot publish 'Test::args': argument 'c' expects a count .*, got -1/],
    ["c", 2 ** 60, /argument 'c' expects a count .*bigint beyond 2\^53.*got 1152921504606847000/],
    ["c", 2n ** 64n, /argument 'c' expects a count/],
    ["i", 2n ** 63n, /argument 'i' expects an int/],
    ["i", 1.5, /argument 'i' expects an int/],
    ["d", "1", /argument 'd' expects a number, got '1'/],
    ["t", NaN, /argument 't' expects a time/],
    ["t", new Date(NaN), /argument 't' expects a time/],
    ["iv", Infinity, /argument 'iv' expects an interval/],
    ["s", 5, /argument 's' expects a string, got 5/],
    ["e", "", /argument 'e' expects an enum name/],
    ["a", "10.0.0.256", /argument 'a' expects an IP address/],
    ["n", "10.0.0.0/33", /argument 'n' expects a subnet/],
    ["p", "80", /argument 'p' expects a port like '80\/tcp', got '80'/],
    ["set", [1, 1], /argument 'set' holds the same element twice/],
    ["set", [1, -2], /argument 'set'\[1\] expects a count/],
    ["tbl", new Map([[1, 1]]), /argument 'tbl' key expects a string/],
    ["rec", { x: 1, z: 2 }, /argument 'rec' has no field 'z'/],
    ["rec", { y: "a" }, /argument 'rec'.x is required \(count\)/],
  ] as const) {
    test(`${name} = ${typeof value === "bigint" ? `${value}n` : String(value)}`, () => {
      for (const f of [BROKER_BIN_V1, BROKER_JSON_V1, MSGPACK_V1]) {
        expect(() => encode(f, E, { ...ok, [name]: value })).toThrow(message);
      }
    });
  }

  test("a missing or unknown argument, and positional arguments of the wrong number", () => {
    const { c: _, ...noC } = ok;
    expect(() => encode(BROKER_BIN_V1, E, noC)).toThrow(/argument 'c' is missing \(count\)/);
    expect(() => encode(BROKER_BIN_V1, E, { ...ok, extra: 1 })).toThrow(/has no parameter 'extra'/);
    expect(() => encodeEvent(BROKER_BIN_V1, E.name, [1, 2], E)).toThrow(
      /Cannot publish 'Test::args': it has 13 parameters, got 2 arguments/,
    );
    const positional = encodeEvent(BROKER_BIN_V1, E.name, Object.values(ok), E);
    expect(Buffer.from(positional.bytes.subarray(0, positional.length))).toEqual(
      Buffer.from(encode(BROKER_BIN_V1, E, ok)),
    );
  });

  test("values no format can carry are TypeErrors, never silent changes", () => {
    const D = defineEvent("d", { d: "double" });
    expect(() => encode(BROKER_BIN_V1, D, { d: 5e-324 })).toThrow(/subnormal/);
    expect(() => encode(BROKER_JSON_V1, D, { d: Infinity })).toThrow(TypeError);
    expect(() => encodeEvent(BROKER_BIN_V1, "f", [() => 1], undefined)).toThrow(
      /Cannot publish 'f': argument 1 expects a value with a Zeek type/,
    );
    expect(() => encodeEvent(BROKER_BIN_V1, "f", [Symbol("x")], undefined)).toThrow(TypeError);
  });
});

describe("the envelope of every Zeek version is accepted", () => {
  const args = "0e02 0504 54455354 02000000000000002a";
  const header = (parts: number) =>
    `0e03 020000000000000001 020000000000000001 0e0${parts} 0517 ${Buffer.from("Supervisor::node_status").toString("hex")} ${args}`;
  const NodeStatus = defineEvent("Supervisor::node_status", { node: "string", pid: "count" });

  test("8.0.1 and later: no metadata", () => {
    const e = decode(BROKER_BIN_V1, bytes(header(2)), NodeStatus);
    expect(e).toEqual({
      name: "Supervisor::node_status",
      args: ["TEST", 42],
      named: { node: "TEST", pid: 42 },
      metadata: undefined,
    });
    expect(hex(encode(BROKER_BIN_V1, NodeStatus, { node: "TEST", pid: 42 }))).toBe(header(2).replace(/\s+/g, ""));
  });

  test("8.0.0: an empty metadata vector", () => {
    expect(decode(BROKER_BIN_V1, bytes(`${header(3)} 0e00`)).metadata).toBeUndefined();
  });

  test("7.1 and 7.2: always a network timestamp, -1 s outside any event", () => {
    const e = decode(BROKER_BIN_V1, bytes(`${header(3)} 0e01 0e02 020000000000000001 09ffffffffc4653600`));
    expect(e.metadata).toEqual([[1, -1]]);
  });

  test("metadata Zeek does not know is kept; a network timestamp goes out as a timestamp", () => {
    const p = encodeEvent(BROKER_BIN_V1, "x", [], undefined, [
      [1, 1.5],
      [200, "mine"],
    ]);
    expect(decode(BROKER_BIN_V1, p.bytes.slice(0, p.length)).metadata).toEqual([
      [1, 1.5],
      [200, "mine"],
    ]);
    expect(hex(p.bytes.slice(0, p.length))).toContain("0e02020000000000000001090000000059682f00");
  });

  test("a payload of the wrong shape is refused (Zeek would index past its end)", () => {
    for (const [h, why] of [
      ["0e00", /expected \[version, type, content\]/],
      ["0e03 020000000000000002 020000000000000001 0e02 050178 0e00", /protocol version is not 1/],
      ["0e03 020000000000000001 020000000000000002 0e02 050178 0e00", /message type 2/],
      ["0e03 020000000000000001 020000000000000001 0e01 050178", /expected \[name, args\]/],
      ["0e03 020000000000000001 020000000000000001 0e02 0500 0e00", /empty name/],
      ["0e03 020000000000000001 020000000000000001 0e02 050178 0500", /arguments of 'x' are not a vector/],
      [
        "0e03 020000000000000001 020000000000000001 0e03 050178 0e00 0e01 0500",
        /metadata of 'x' is not \[count, value\]/,
      ],
      ["0e03 020000000000000001 020000000000000001 0e02 050178 0e00 00", /1 trailing bytes/],
    ] as const) {
      expect(() => decode(BROKER_BIN_V1, bytes(h))).toThrow(why);
    }
  });

  test("declared events are converted as strictly as Zeek does: an integer is no count", () => {
    const C = defineEvent("c", { n: "count" });
    const asInt = encodeEvent(BROKER_BIN_V1, "c", [5], undefined);
    expect(() => decode(BROKER_BIN_V1, asInt.bytes.slice(0, asInt.length), C)).toThrow(
      /argument 1 expects count, got a Broker integer/,
    );
    const twoArgs = encodeEvent(BROKER_BIN_V1, "c", [5, 6], undefined);
    expect(() => decode(BROKER_BIN_V1, twoArgs.bytes.slice(0, twoArgs.length), C)).toThrow(
      /'c' has 1 parameters, got 2 arguments/,
    );
  });

  test("Zeek's JSON vector decodes to the same event", () => {
    const json =
      '{"@data-type":"vector","data":[{"@data-type":"count","data":1},{"@data-type":"count","data":1},{"@data-type":"vector","data":[{"@data-type":"string","data":"Supervisor::node_status"},{"@data-type":"vector","data":[{"@data-type":"string","data":"TEST"},{"@data-type":"count","data":42}]},{"@data-type":"vector","data":[{"@data-type":"vector","data":[{"@data-type":"count","data":1},{"@data-type":"timestamp","data":"1970-01-01T00:00:00.000"}]}]}]}]}';
    const e = decode(BROKER_JSON_V1, new TextEncoder().encode(json), NodeStatus);
    expect(e.named).toEqual({ node: "TEST", pid: 42 });
    expect(e.metadata).toEqual([[1, 0]]);
  });
});

describe("random values of every type through every format (seeded)", () => {
  const TYPES = [
    "bool",
    "count",
    "int",
    "double",
    "time",
    "interval",
    "string",
    "addr",
    "subnet",
    "port",
    "enum",
    "set[addr]",
    "set[count, string]",
    "vector[double]",
    "table[string] of vector[int]",
  ].map((t) => parseZeekType(t));
  TYPES.push(record({ a: "count", b: { type: "set[port]", optional: true }, c: vectorOf(record({ d: "time" })) }));
  const E = defineEvent("Test::random", Object.fromEntries(TYPES.map((t, i) => [`p${i}`, t])));

  for (const format of [BROKER_BIN_V1, BROKER_JSON_V1, MSGPACK_V1]) {
    test(`${format.name}: 500 events of ${TYPES.length} arguments each`, () => {
      const random = seeded(format.name.length);
      for (let n = 0; n < 500; n++) {
        const args = Object.fromEntries(TYPES.map((t, i) => [`p${i}`, randomOf(t, random, format === BROKER_JSON_V1)]));
        // What a receiver should see: the value after Zeek's own conversion (e.g. times through ns).
        const expected = Object.fromEntries(
          TYPES.map((t, i) => [`p${i}`, fromBroker(t, toBroker(t, args[`p${i}`], "x"), "x")]),
        );
        expect(decode(format, encode(format, E, args), E).named).toEqual(expected);
      }
    });
  }
});

function randomOf(t: ZeekType, random: () => number, json: boolean): unknown {
  const int = (max: number) => Math.floor(random() * max);
  const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)]!;
  switch (t.kind) {
    case "bool":
      return random() < 0.5;
    case "count":
      return pick([0, 1, 2 ** 53 - 1, 2n ** 64n - 1n, BigInt(int(2 ** 31)) << 20n, int(1e6)]);
    case "int":
      return pick([0, -1, -(2n ** 63n), 2n ** 63n - 1n, -int(1e9)]);
    case "double":
      return pick(
        json
          ? [0, -0, 0.1, 1e-300, 1.7976931348623157e308, -2.5, random()]
          : [0, -0, 0.1, 1e-300, Infinity, -Infinity, NaN, random() * 1e9],
      );
    case "time":
      return pick([0, 1_700_000_000.123456, -1, new Date(1_700_000_000_000), random() * 2e9]);
    case "interval":
      return pick([0, -1.5, 1e-9, random() * 1e5]);
    case "string":
      return pick(["", "x", 'ünï\n"\\\u0001', "a".repeat(300)]);
    case "enum":
      return pick(["tcp", "Cluster::WORKER"]);
    case "addr":
      return pick(["10.0.0.1", "::", "2001:db8::1", "::ffff:1.2.3.4", "fe80::1"]);
    case "subnet":
      return pick(["10.0.0.0/8", "2001:db8::/32", "0.0.0.0/0", "::/0"]);
    case "port":
      return pick(["80/tcp", "53/udp", "8/icmp", "0/?"]);
    case "vector":
      return Array.from({ length: int(4) }, () => randomOf(t.of, random, json));
    case "set": {
      const keys = Array.from({ length: int(4) }, () =>
        t.index.length === 1 ? randomOf(t.index[0]!, random, json) : t.index.map((k) => randomOf(k, random, json)),
      );
      return unique(keys, t.index);
    }
    case "table":
      return new Map(
        unique(
          Array.from({ length: int(4) }, () => randomOf(t.index[0]!, random, json)),
          t.index,
        ).map((k) => [k, randomOf(t.yield, random, json)]),
      );
    case "record":
      return Object.fromEntries(
        t.fields.filter((f) => !f.optional || random() < 0.5).map((f) => [f.name, randomOf(f.type, random, json)]),
      );
  }
}

function unique(keys: unknown[], index: readonly ZeekType[]): unknown[] {
  const type = index.length === 1 ? index[0]! : parseZeekType(`vector[string]`);
  const seen = new Set<string>();
  return keys.filter((k) => {
    const key = JSON.stringify(index.length === 1 ? toBroker(type, k, "k") : k, (_, v) =>
      typeof v === "bigint" ? `${v}` : v,
    );
    return !seen.has(key) && !!seen.add(key);
  });
}
