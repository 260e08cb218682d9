import { describe, expect, test } from "bun:test";
import { getFormat, MSGPACK_V1, registerFormat } from "../lib/serializer.ts";
import { expectEntry, makeNode, record, startManager, via } from "./cluster-helpers.ts";

describe("msgpack-v1", () => {
  test("round-trips names, typed arguments and metadata", () => {
    const args = [1, -7, 2 ** 40, 1.5, "text", true, null, [1, [2]], { a: 1, b: "x" }, new Uint8Array([0, 255]), 2n ** 62n];
    const decoded = MSGPACK_V1.decode(MSGPACK_V1.encode({ name: "Cluster::hello", args, metadata: [[1, 1700000000.5], [200, "app"]] }));
    expect(decoded.name).toBe("Cluster::hello");
    expect(decoded.args.slice(0, 9)).toEqual(args.slice(0, 9));
    expect(new Uint8Array(decoded.args[9] as Uint8Array)).toEqual(new Uint8Array([0, 255]));
    expect(decoded.args[10]).toBe(2n ** 62n);
    expect(decoded.metadata).toEqual([[1, 1700000000.5], [200, "app"]]);
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
    const sender = makeNode({ name: "json-sender", format: "json-v1-test", ...via(manager) });
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
