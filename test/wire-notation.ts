// The value notation of the reference's vector lists (zeek-wire.md §0), parsed into Broker values, so
// that the tests compare against the vectors exactly as the reference writes them:
// c42 count · i-5 integer · r2.5 real · "s" string · a:… address · n:… subnet · p:… port ·
// ts:Nns timestamp · td:Nns timespan · e:Name enum · set{…} · tbl{k→v, …} · […] vector · nil · T/F.

import type { BrokerValue } from "../lib/_broker-value.ts";

export function parseNotation(text: string): BrokerValue {
  const r = { s: text, i: 0 };
  const v = value(r);
  skip(r);
  if (r.i !== r.s.length) throw new Error(`trailing text at ${r.i}: ${r.s.slice(r.i)}`);
  return v;
}

interface R {
  s: string;
  i: number;
}

function skip(r: R): void {
  while (r.s[r.i] === " ") r.i++;
}

function until(r: R, stop: RegExp): string {
  const start = r.i;
  while (r.i < r.s.length && !stop.test(r.s[r.i]!)) r.i++;
  return r.s.slice(start, r.i);
}

function list(r: R, close: string): BrokerValue[] {
  const out: BrokerValue[] = [];
  skip(r);
  while (r.s[r.i] !== close) {
    out.push(value(r));
    skip(r);
    if (r.s[r.i] === ",") r.i++;
    skip(r);
  }
  r.i++;
  return out;
}

function value(r: R): BrokerValue {
  skip(r);
  const rest = r.s.slice(r.i);
  if (rest.startsWith("[")) {
    r.i++;
    return { type: "vector", value: list(r, "]") };
  }
  if (rest.startsWith("set{")) {
    r.i += 4;
    return { type: "set", value: list(r, "}") };
  }
  if (rest.startsWith("tbl{")) {
    r.i += 4;
    const pairs: [BrokerValue, BrokerValue][] = [];
    skip(r);
    while (r.s[r.i] !== "}") {
      const k = value(r);
      skip(r);
      if (r.s[r.i] !== "→") throw new Error(`expected → at ${r.i}`);
      r.i++;
      pairs.push([k, value(r)]);
      skip(r);
      if (r.s[r.i] === ",") r.i++;
      skip(r);
    }
    r.i++;
    return { type: "table", value: pairs };
  }
  if (rest.startsWith('"')) {
    r.i++;
    let out = "";
    while (r.s[r.i] !== '"') {
      if (r.s[r.i] === "\\") {
        r.i++;
        out += r.s[r.i] === "n" ? "\n" : r.s[r.i];
      } else out += r.s[r.i];
      r.i++;
    }
    r.i++;
    return { type: "string", value: out };
  }
  if (rest.startsWith("nil")) return ((r.i += 3), { type: "none" });
  const prefixed: [string, (t: string) => BrokerValue][] = [
    ["ts:", (t) => ({ type: "timestamp", value: BigInt(t.replace(/ns$/, "")) })],
    ["td:", (t) => ({ type: "timespan", value: BigInt(t.replace(/ns$/, "")) })],
    ["a:", (t) => ({ type: "address", value: t })],
    ["n:", (t) => ({ type: "subnet", value: t })],
    ["p:", (t) => ({ type: "port", value: t })],
    ["e:", (t) => ({ type: "enum-value", value: t })],
    ["c", (t) => ({ type: "count", value: BigInt(t) })],
    ["i", (t) => ({ type: "integer", value: BigInt(t) })],
    ["r", (t) => ({ type: "real", value: Number(t) })],
  ];
  for (const [prefix, make] of prefixed) {
    if (rest.startsWith(prefix)) {
      r.i += prefix.length;
      return make(until(r, /[,\]}→ ]/));
    }
  }
  if (rest[0] === "T" || rest[0] === "F") return (r.i++, { type: "boolean", value: rest[0] === "T" });
  throw new Error(`cannot parse at ${r.i}: ${rest}`);
}
