import { describe, expect, test } from "bun:test";
import { Packr, Unpackr } from "msgpackr";
import { getFormat, MSGPACK_V1, registerFormat } from "../lib/serializer.ts";
import { expectEntry, makeNode, record, startManager, via } from "./cluster-helpers.ts";

describe("msgpack-v1", () => {
  test("round-trips names, typed arguments and metadata", () => {
    const args = [
      1,
      -7,
      2 ** 40,
      1.5,
      "text",
      true,
      null,
      [1, [2]],
      { a: 1, b: "x" },
      new Uint8Array([0, 255]),
      2n ** 62n,
    ];
    const decoded = MSGPACK_V1.decode(
      MSGPACK_V1.encode({
        name: "Cluster::hello",
        args,
        metadata: [
          [1, 1700000000.5],
          [200, "app"],
        ],
      }),
    );
    expect(decoded.name).toBe("Cluster::hello");
    expect(decoded.args.slice(0, 9)).toEqual(args.slice(0, 9));
    expect(new Uint8Array(decoded.args[9] as Uint8Array)).toEqual(new Uint8Array([0, 255]));
    expect(decoded.args[10]).toBe(2n ** 62n);
    expect(decoded.metadata).toEqual([
      [1, 1700000000.5],
      [200, "app"],
    ]);
    expect(MSGPACK_V1.decode(MSGPACK_V1.encode({ name: "e", args: [] }))).toEqual({ name: "e", args: [] });
  });

  test("anything that is not [name, args(, metadata)] is an error", () => {
    const bad: [string, number[]][] = [
      ["not an array", [0x01]],
      ["one element", [0x91, 0xa1, 0x78]],
      ["four elements", [0x94, 0xa1, 0x78, 0x90, 0x90, 0x90]],
      ["name not a string", [0x92, 0x01, 0x90]],
      ["empty name", [0x92, 0xa0, 0x90]],
      ["args not an array", [0x92, 0xa1, 0x78, 0x01]],
      ["metadata not pairs", [0x93, 0xa1, 0x78, 0x90, 0x91, 0x01]],
      ["truncated", [0x92, 0xa1]],
      ["trailing bytes", [0x92, 0xa1, 0x78, 0x90, 0x00]],
    ];
    for (const [what, bytes] of bad) {
      expect(() => MSGPACK_V1.decode(new Uint8Array(bytes)), what).toThrow();
    }
  });
});

describe("msgpack-v1 fast path", () => {
  const packr = new Packr({ useRecords: false, moreTypes: false });
  const unpackr = new Unpackr({
    useRecords: false,
    moreTypes: false,
    mapsAsObjects: true,
    int64AsType: "auto" as unknown as "number",
  });
  const boundaries = [
    0,
    1,
    127,
    128,
    255,
    256,
    65535,
    65536,
    2 ** 32 - 1,
    2 ** 32,
    2 ** 53,
    -1,
    -32,
    -33,
    -128,
    -129,
    -32768,
    -32769,
    -(2 ** 31),
    -(2 ** 31) - 1,
    1.5,
    -0.25,
    1e300,
    NaN,
    Infinity,
    -Infinity,
  ];
  const strings = [
    "",
    "a",
    "x".repeat(31),
    "x".repeat(32),
    "x".repeat(255),
    "x".repeat(256),
    "x".repeat(65535),
    "x".repeat(65536),
    "é",
    "ü".repeat(20),
    "日本語".repeat(11),
    `${"a".repeat(30)}é`,
    "😀",
    "\u0000",
  ];
  const others = [
    true,
    false,
    null,
    [],
    [1, [2, [3]]],
    Array.from({ length: 20 }, (_, i) => i),
    Array.from({ length: 70000 }, () => 1),
    { a: 1, b: "x" },
    12n,
    -(2n ** 63n),
    new Uint8Array([1, 2, 3]),
    new Date(0),
    undefined,
    [undefined, null],
  ];

  test("encodes byte for byte what msgpackr encodes, and decodes what msgpackr decodes", () => {
    for (const value of [...boundaries, ...strings, ...others]) {
      const event = { name: "e", args: [value, value] };
      const expected = packr.pack(["e", [value, value]]);
      expect(Buffer.from(MSGPACK_V1.encode(event)).equals(Buffer.from(expected)), String(value).slice(0, 40)).toBe(
        true,
      );
      expect(
        Bun.deepEquals(MSGPACK_V1.decode(expected).args, unpackr.unpack(expected)[1]),
        String(value).slice(0, 40),
      ).toBe(true);
    }
  });

  test("decodes maps, float32 and 64-bit integers from other encoders", () => {
    // fixmap {"k": 1}, float32 1.5, uint64 2^60, int64 -2^60: not what the fast encoder writes, but valid.
    const bytes = new Uint8Array([
      0x92, 0xa1, 0x65, 0x94, 0x81, 0xa1, 0x6b, 0x01, 0xca, 0x3f, 0xc0, 0, 0, 0xcf, 0x10, 0, 0, 0, 0, 0, 0, 0, 0xd3,
      0xf0, 0, 0, 0, 0, 0, 0, 0,
    ]);
    expect(MSGPACK_V1.decode(bytes).args).toEqual([{ k: 1 }, 1.5, 2n ** 60n, -(2n ** 60n)]);
  });

  test("the shared encoding is reused: a caller that keeps it must copy", () => {
    const first = MSGPACK_V1.encodeShared!("a", [1]);
    const copy = first.bytes.slice(0, first.length);
    const second = MSGPACK_V1.encodeShared!("b", [2]);
    expect(second.bytes).toBe(first.bytes);
    expect(MSGPACK_V1.decode(copy)).toEqual({ name: "a", args: [1] });
    expect(MSGPACK_V1.decode(second.bytes.slice(0, second.length))).toEqual({ name: "b", args: [2] });
  });

  test("functions and symbols are a TypeError (msgpackr would send them as undefined)", () => {
    expect(() => MSGPACK_V1.encode({ name: "e", args: [() => 1] })).toThrow(
      new TypeError("Cannot encode a function in msgpack-v1"),
    );
    expect(() => MSGPACK_V1.encode({ name: "e", args: [[Symbol("s")]] })).toThrow(TypeError);
  });
});

describe("format registry", () => {
  test("a registered format is used by name, also for receiving", async () => {
    registerFormat({
      name: "json-v1-test",
      encode: (e) => new TextEncoder().encode(JSON.stringify([e.name, e.args])),
      decode: (p) => {
        const [name, args] = JSON.parse(new TextDecoder().decode(p));
        return { name, args };
      },
    });
    expect(getFormat("json-v1-test")?.name).toBe("json-v1-test");
    const manager = await startManager({ nodes: { manager: { type: "manager", ip: "127.0.0.1", port: 1 } } });
    const log = record(manager, "greet");
    manager.subscribe("json.");
    const sender = makeNode({ name: "json-sender", eventSerializer: "json-v1-test", ...via(manager) });
    await sender.start();
    sender.publish("json.x", "greet", ["hi", 2]);
    await expectEntry(log, 'greet ["hi",2]');
  });

  test("bad registrations are refused", () => {
    expect(() => registerFormat({ name: "" } as never)).toThrow(TypeError);
    expect(() => registerFormat(MSGPACK_V1)).toThrow(/'msgpack-v1' is already registered/);
    expect(getFormat("nope")).toBeUndefined();
  });
});
