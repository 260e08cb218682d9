// broker-bin-v1 values: every upstream vector of the reference (zeek-wire.md §2.8, plus the binary
// equivalents of §3.4), CAF's special reals, and hostile input that must be refused cheaply.

import { describe, expect, test } from "bun:test";
import { decodeBrokerBin, encodeBrokerBin } from "../lib/_broker-bin.ts";
import { BinReader, unpack754 } from "../lib/_broker-bin-reader.ts";
import { pack754 } from "../lib/_broker-bin-writer.ts";
import { type BrokerValue, compareBroker } from "../lib/_broker-value.ts";
import vectors from "./fixtures/broker-bin-vectors.json";
import { parseNotation } from "./wire-notation.ts";

const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");
const bytes = (h: string) => new Uint8Array(Buffer.from(h.replace(/\s+/g, ""), "hex"));

describe("broker-bin-v1: the reference's vectors", () => {
  for (const v of vectors) {
    if (v.id === "broker-builder-encoded-values-two-strings") {
      // Not a complete value: the elements of a builder without its tag and count.
      test(`${v.id}: two values back to back`, () => {
        const r = new BinReader(bytes(v.hex), 0, v.hex.length / 2);
        expect([r.value(), r.value()]).toEqual([
          { type: "string", value: "hello" },
          { type: "string", value: "broker" },
        ]);
        expect(r.pos).toBe(v.hex.length / 2);
      });
      continue;
    }
    if (v.reject) {
      test(`${v.id}: rejected`, () => {
        expect(() => decodeBrokerBin(bytes(v.hex))).toThrow(TypeError);
      });
      continue;
    }
    test(`${v.id}: decodes to ${v.value.slice(0, 50)} and encodes back to the same bytes`, () => {
      const expected = parseNotation(v.value);
      expect(decodeBrokerBin(bytes(v.hex))).toEqual(expected);
      expect(hex(encodeBrokerBin(expected))).toBe(v.hex);
    });
  }
});

describe("broker-bin-v1: reals as CAF packs them", () => {
  const bits = (d: number) => pack754(d).toString(16).padStart(16, "0");

  test("±∞ and NaN have CAF's patterns, which Zeek reads back as the same values", () => {
    expect(bits(Infinity)).toBe("fff0000000000000");
    expect(bits(-Infinity)).toBe("7ff0000000000000");
    expect(bits(NaN)).toBe("ffffffffffffffff");
    expect(unpack754(0xfff0000000000000n)).toBe(Infinity);
    expect(unpack754(0x7ff0000000000000n)).toBe(-Infinity);
    expect(unpack754(0xffffffffffffffffn)).toBeNaN();
  });

  test("JavaScript's own NaN bits read as Zeek reads them (+∞), and zeros keep their sign", () => {
    expect(unpack754(0x7ff8000000000000n)).toBe(Infinity);
    expect(Object.is(unpack754(0x8000000000000000n), -0)).toBe(true);
    expect(bits(-0)).toBe("8000000000000000");
  });

  test("normal numbers are their IEEE-754 bits", () => {
    const view = new DataView(new ArrayBuffer(8));
    let seed = 7;
    for (let i = 0; i < 10_000; i++) {
      seed = (seed * 1103515245 + 12345) >>> 0;
      const d = (seed / 2 ** 32 - 0.5) * 10 ** ((seed % 600) - 300);
      if (d === 0) continue;
      view.setFloat64(0, d);
      expect(pack754(d)).toBe(view.getBigUint64(0));
      expect(unpack754(view.getBigUint64(0))).toBe(d);
    }
  });

  test("a subnormal number cannot be carried: TypeError, nothing encoded", () => {
    expect(() => encodeBrokerBin({ type: "real", value: 5e-324 })).toThrow(/subnormal/);
    expect(() => encodeBrokerBin({ type: "real", value: 2.2250738585072014e-308 })).not.toThrow();
  });
});

describe("broker-bin-v1: hostile input", () => {
  const rejects = (h: string, message: RegExp) => expect(() => decodeBrokerBin(bytes(h))).toThrow(message);

  test("declared counts beyond the bytes left are refused before anything is allocated", () => {
    const before = process.memoryUsage().rss;
    for (let i = 0; i < 1000; i++) {
      rejects("0e ffffffff0f 00", /vector of 4294967295 elements in 1 bytes/);
      rejects("0c ffffffff0f", /set of 4294967295/);
      rejects("0d 80808080 01 0000", /table of 268435456/);
      rejects("05 ffffff7f 41", /truncated string/);
    }
    expect(process.memoryUsage().rss - before).toBeLessThan(50 * 1024 * 1024);
  });

  test("nesting deeper than the bound, a varint of 6 bytes, unknown tags, bad ports and subnets", () => {
    rejects(`${"0e01".repeat(100_000)}00`, /nested deeper than 32/);
    rejects("05 8080808080 00", /more than 5 bytes/);
    rejects("0f", /unknown type tag 15/);
    rejects("ff", /unknown type tag 255/);
    rejects("08 0050 04", /port protocol 4/);
    rejects(`07 ${"00000000000000000000ffff0a000000"} 08`, /subnet length 8/);
    rejects(`07 ${"20010db8000000000000000000000000"} 81`, /subnet length 129/);
  });

  test("duplicate set elements and table keys are refused, as Broker does", () => {
    rejects("0c02 0201 0201".replace(/0201/g, "020000000000000001"), /duplicate set element/);
    rejects("0d02 0501610100 0501610101", /duplicate table key/);
  });

  test("an empty payload, trailing bytes and truncated values are refused", () => {
    expect(() => decodeBrokerBin(new Uint8Array(0))).toThrow(/empty/);
    rejects("0000", /1 trailing bytes/);
    rejects("09 0102", /truncated timestamp/);
    rejects("06 0102", /truncated address/);
  });

  test("a boolean byte other than 0 reads as true, as in Broker", () => {
    expect(decodeBrokerBin(bytes("0107"))).toEqual({ type: "boolean", value: true });
  });
});

describe("broker-bin-v1: every type round-trips (seeded)", () => {
  test("2,000 random nested values", () => {
    const random = seeded(42);
    for (let i = 0; i < 2000; i++) {
      const v = randomValue(random, 0);
      expect(decodeBrokerBin(encodeBrokerBin(v))).toEqual(v);
    }
  });
});

/** A small deterministic PRNG (mulberry32). */
export function seeded(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) >>> 0;
    let t = seed;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A random Broker value in canonical form (what a decoder gives back). */
export function randomValue(random: () => number, depth: number): BrokerValue {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)]!;
  const big = (bits: number) =>
    BigInt.asUintN(bits, (BigInt(Math.floor(random() * 2 ** 32)) << 32n) | BigInt(Math.floor(random() * 2 ** 32)));
  const kinds = depth < 3 ? 15 : 12;
  switch (Math.floor(random() * kinds)) {
    case 0:
      return { type: "none" };
    case 1:
      return { type: "boolean", value: random() < 0.5 };
    case 2:
      return { type: "count", value: pick([0n, 1n, 2n ** 64n - 1n, big(64), big(20)]) };
    case 3:
      return { type: "integer", value: pick([0n, -1n, -(2n ** 63n), 2n ** 63n - 1n, BigInt.asIntN(64, big(64))]) };
    case 4:
      return {
        type: "real",
        value: pick([0, -0, 1.5, -2.25e300, Infinity, -Infinity, NaN, 2.2250738585072014e-308, (random() - 0.5) * 1e6]),
      };
    case 5:
      return { type: "string", value: pick(["", "abc", "ünïcödé ☃", "a\0b", new Uint8Array([0xff, 0xfe, 0x41])]) };
    case 6:
      return {
        type: "address",
        value: pick(["1.2.3.4", "::1", "2001:db8::", "fe80::1:2", "0.0.0.0", "::", "::ffff:0:0:1"]),
      };
    case 7:
      return {
        type: "subnet",
        value: pick(["10.0.0.0/8", "0.0.0.0/0", "2001:db8::/32", "::/0", "192.168.1.7/32", "fe80::/128"]),
      };
    case 8:
      return { type: "port", value: pick(["0/?", "80/tcp", "53/udp", "8/icmp", "65535/tcp"]) };
    case 9:
      return { type: "timestamp", value: BigInt.asIntN(64, big(64)) };
    case 10:
      return { type: "timespan", value: pick([0n, -1n, 1_000_000_000n, BigInt.asIntN(64, big(64))]) };
    case 11:
      return { type: "enum-value", value: pick(["tcp", "Cluster::WORKER", "Log::WRITER_ASCII"]) };
    case 12: {
      const items = distinct(Array.from({ length: Math.floor(random() * 4) }, () => randomValue(random, depth + 1)));
      return { type: "set", value: items };
    }
    case 13: {
      const keys = distinct(Array.from({ length: Math.floor(random() * 4) }, () => randomValue(random, depth + 1)));
      return { type: "table", value: keys.map((k) => [k, randomValue(random, depth + 1)] as const) };
    }
    default:
      return {
        type: "vector",
        value: Array.from({ length: Math.floor(random() * 4) }, () => randomValue(random, depth + 1)),
      };
  }
}

// Broker's order decides what a duplicate is: 0.0 and -0.0 are one element, and NaN equals anything.
function distinct(items: BrokerValue[]): BrokerValue[] {
  return items.filter((v, i) => items.findIndex((w) => compareBroker(v, w) === 0) === i);
}
