/**
 * @module Doubles as Zeek's JSON log writer prints them. Zeek uses rapidjson, whose `dtoa` is Grisu2:
 * its digits are not always the shortest, nor the closest, that JavaScript prints (about 3 in 1000
 * random doubles differ, e.g. 132405809496.45313 where JavaScript says 132405809496.45312), so the
 * algorithm is done here as published (Loitsch 2010, with rapidjson's cached powers and rounding).
 * 64-bit quantities are pairs of 32-bit halves in plain numbers: BigInt was 20 times slower.
 * `_zeek-ascii.ts` takes JavaScript's own digits where they are provably the same, and this otherwise.
 * Not part of the public API.
 */

const TWO32 = 2 ** 32;
const f64 = new Float64Array(1);
const u32 = new Uint32Array(f64.buffer);
const LITTLE = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

// The cached powers 10^(-348 + 8i), i = 0…86: 64-bit significands with the top bit set, rounded to
// nearest, and their binary exponents. Computed once, exactly.
const POW_HI: number[] = [];
const POW_LO: number[] = [];
const POW_E: number[] = [];
for (let i = 0; i < 87; i++) {
  const k = -348 + 8 * i;
  const num = k >= 0 ? 10n ** BigInt(k) : 1n;
  const den = k < 0 ? 10n ** BigInt(-k) : 1n;
  let e = num.toString(2).length - den.toString(2).length - 64;
  for (;;) {
    const n = e >= 0 ? num : num << BigInt(-e);
    const d = e >= 0 ? den << BigInt(e) : den;
    let f = n / d;
    if (f >= 1n << 64n) e++;
    else if (f < 1n << 63n) e--;
    else {
      if (2n * (n % d) >= d) f += 1n;
      if (f === 1n << 64n) [f, e] = [1n << 63n, e + 1];
      POW_HI.push(Number(f >> 32n));
      POW_LO.push(Number(f & 0xffffffffn));
      POW_E.push(e);
      break;
    }
  }
}

// Unsigned 64-bit values are two numbers, hi and lo (32 bits each); every operation wraps modulo
// 2^64 as C's uint64_t does. Helpers return lo and leave hi in H, so nothing is allocated.
let H = 0;
const TEN_POW = Array.from({ length: 10 }, (_, i) => 10 ** i);
const TWO_POW = Array.from({ length: 32 }, (_, i) => 2 ** i);

// The product X · c of the value's 64-bit significand and the cached power: eight 16-bit limbs.
const PROD = new Float64Array(8);
const C = new Float64Array(4);

function multiply(xH: number, xL: number, cH: number, cL: number): void {
  const x0 = xL & 0xffff,
    x1 = xL >>> 16,
    x2 = xH & 0xffff,
    x3 = xH >>> 16;
  const c0 = (C[0] = cL & 0xffff),
    c1 = (C[1] = cL >>> 16),
    c2 = (C[2] = cH & 0xffff),
    c3 = (C[3] = cH >>> 16);
  // Column sums stay below 2^36; `& 0xffff` keeps the low 16 bits through ToInt32.
  let t = x0 * c0;
  let low = t & 0xffff;
  PROD[0] = low;
  t = (t - low) / 65536 + x0 * c1 + x1 * c0;
  PROD[1] = low = t & 0xffff;
  t = (t - low) / 65536 + x0 * c2 + x1 * c1 + x2 * c0;
  PROD[2] = low = t & 0xffff;
  t = (t - low) / 65536 + x0 * c3 + x1 * c2 + x2 * c1 + x3 * c0;
  PROD[3] = low = t & 0xffff;
  t = (t - low) / 65536 + x1 * c3 + x2 * c2 + x3 * c1;
  PROD[4] = low = t & 0xffff;
  t = (t - low) / 65536 + x2 * c3 + x3 * c2;
  PROD[5] = low = t & 0xffff;
  t = (t - low) / 65536 + x3 * c3;
  PROD[6] = low = t & 0xffff;
  PROD[7] = (t - low) / 65536;
}

/**
 * The high 64 bits, rounded to nearest as rapidjson's `DiyFp::operator*` does, of X·c + sign · c·2^shift:
 * the bounds (X ± 2^shift) · c without multiplying again. Returns lo; hi is left in H.
 */
function bound(sign: number, shift: number): number {
  const q = shift >> 4;
  const scale = sign * TWO_POW[shift & 15]!;
  let carry = 0;
  let r4 = 0,
    r5 = 0,
    r6 = 0;
  for (let k = 0; k < 8; k++) {
    const i = k - q;
    let t = PROD[k]! + carry;
    if (i >= 0 && i < 4) t += C[i]! * scale;
    if (k === 3) t += 32768; // + 2^63: rounds the dropped half
    const low = t & 0xffff;
    carry = (t - low) / 65536;
    if (k === 4) r4 = low;
    else if (k === 5) r5 = low;
    else if (k === 6) r6 = low;
    else if (k === 7) H = low * 65536 + r6;
  }
  return r5 * 65536 + r4;
}

function addTo(aH: number, aL: number, bH: number, bL: number): number {
  const lo = aL + bL;
  const hi = aH + bH + (lo >= TWO32 ? 1 : 0);
  H = hi >= TWO32 ? hi - TWO32 : hi;
  return lo >= TWO32 ? lo - TWO32 : lo;
}

function subFrom(aH: number, aL: number, bH: number, bL: number): number {
  const lo = aL - bL;
  const hi = aH - bH - (lo < 0 ? 1 : 0);
  H = hi < 0 ? hi + TWO32 : hi;
  return lo < 0 ? lo + TWO32 : lo;
}

function times10(aH: number, aL: number): number {
  const x = aL * 10;
  const lo = x >>> 0; // ToUint32 is x modulo 2^32, exactly, below 2^53
  H = (aH * 10 + (x - lo) / TWO32) >>> 0;
  return lo;
}

const less = (aH: number, aL: number, bH: number, bL: number): boolean => aH < bH || (aH === bH && aL < bL);

/** An exact integer below 2^64 held in a double, as lo (hi in H). */
function split64(x: number): number {
  H = Math.floor(x / TWO32);
  return x - H * TWO32;
}

/**
 * rapidjson's `GrisuRound`: how many times the last digit steps down, which it does while the result
 * stays within delta and comes closer to w (`toW` is the distance from the upper bound to w). The digit
 * never goes below 1: had it room for that, the digits would have stopped one place earlier.
 */
function round(
  rH: number,
  rL: number,
  tkH: number,
  tkL: number,
  toWH: number,
  toWL: number,
  dH: number,
  dL: number,
): number {
  for (let steps = 0; ; steps++) {
    if (!less(rH, rL, toWH, toWL)) return steps;
    const gapL = subFrom(dH, dL, rH, rL);
    if (less(H, gapL, tkH, tkL)) return steps;
    const nextL = addTo(rH, rL, tkH, tkL);
    const nextH = H;
    let closer = less(nextH, nextL, toWH, toWL);
    if (!closer) {
      const overL = subFrom(nextH, nextL, toWH, toWL);
      const overH = H;
      const underL = subFrom(toWH, toWL, rH, rL);
      closer = less(overH, overL, H, underL);
    }
    if (!closer) return steps;
    rH = nextH;
    rL = nextL;
  }
}

/** The decimal exponent of the digits {@linkcode digitsOf} returned last. */
let exponent = 0;

// Digits go to DIGITS and the text is assembled in OUT: converting numbers to strings piecewise was
// most of the time taken.
const DIGITS = new Uint8Array(32);
const OUT = Buffer.alloc(400);

/** Writes Grisu2's digits of a positive finite double to DIGITS; returns how many (the exponent goes to {@linkcode exponent}). */
function digitsOf(value: number): number {
  f64[0] = value;
  const hi = u32[LITTLE ? 1 : 0]!;
  const lo = u32[LITTLE ? 0 : 1]!;
  const biased = (hi >>> 20) & 0x7ff;
  const fHi = (hi & 0xfffff) + (biased ? 0x100000 : 0);
  const f = fHi * TWO32 + lo; // < 2^53: exact
  const e = biased ? biased - 1075 : -1074;
  const fBits = fHi ? 64 - Math.clz32(fHi) : 32 - Math.clz32(lo);
  // The value 2f · 2^(e-1) and its bounds (2f ± 1) · 2^(e-1), shifted so that the upper bound's top
  // bit is bit 63 (below a power of two the lower bound is half as far).
  const up = 63 - fBits;
  const pe = e - 1 - up;
  const xL = split64(2 * f * 2 ** up);
  const xH = H;
  const dk = (-61 - pe) * 0.30102999566398114 + 347;
  let k = Math.trunc(dk);
  if (dk - k > 0) k++;
  const index = (k >> 3) + 1;
  const K = 348 - index * 8;
  multiply(xH, xL, POW_HI[index]!, POW_LO[index]!);
  const wL = bound(0, 0);
  const wH = H;
  let wpL = bound(1, up);
  wpL = subFrom(H, wpL, 0, 1);
  const wpH = H;
  let wmL = bound(-1, f === 2 ** 52 ? up - 1 : up);
  wmL = addTo(H, wmL, 0, 1);
  const wmH = H;
  const s = -(pe + POW_E[index]! + 64); // 34…60: the unit is 2^s
  const unit = TWO_POW[s - 32]!; // 2^s as hi (lo 0)
  let dL = subFrom(wpH, wpL, wmH, wmL);
  let dH = H;
  const toWL = subFrom(wpH, wpL, wH, wL);
  const toWH = H;
  let p1 = Math.floor(wpH / unit);
  let p2H = wpH - p1 * unit;
  let p2L = wpL;
  let kappa =
    p1 < 10
      ? 1
      : p1 < 100
        ? 2
        : p1 < 1e3
          ? 3
          : p1 < 1e4
            ? 4
            : p1 < 1e5
              ? 5
              : p1 < 1e6
                ? 6
                : p1 < 1e7
                  ? 7
                  : p1 < 1e8
                    ? 8
                    : 9;
  // The integral part p1 is at least 8, so no leading zero is ever written.
  let n = 0;
  while (kappa > 0) {
    const pow = TEN_POW[kappa - 1]!;
    const d = (p1 / pow) | 0;
    p1 -= d * pow;
    DIGITS[n++] = 48 + d;
    kappa--;
    const restH = p1 * unit + p2H;
    if (!less(dH, dL, restH, p2L)) {
      exponent = K + kappa;
      DIGITS[n - 1]! -= round(restH, p2L, TEN_POW[kappa]! * unit, 0, toWH, toWL, dH, dL);
      return n;
    }
  }
  for (;;) {
    p2L = times10(p2H, p2L);
    p2H = H;
    dL = times10(dH, dL);
    dH = H;
    DIGITS[n++] = 48 + (p2H >>> (s - 32));
    p2H &= unit - 1;
    kappa--;
    if (less(p2H, p2L, dH, dL)) {
      exponent = K + kappa;
      let twL = -kappa < 20 ? toWL : 0;
      let twH = -kappa < 20 ? toWH : 0;
      for (let i = 0; i < -kappa && i < 20; i++) {
        twL = times10(twH, twL);
        twH = H;
      }
      DIGITS[n - 1]! -= round(p2H, p2L, unit, 0, twH, twL, dH, dL);
      return n;
    }
  }
}

let lastValue = Number.NaN;
let lastText = "";

/**
 * A double as rapidjson's `Writer::Double` writes it: Grisu2 digits; `.0` on integers; plain decimals
 * from 1e-6 up to 1e21, exponents (`1e21`, `1.5e-7`) beyond; `-0.0`; `null` for NaN and infinities.
 *
 * @example Where JavaScript prints other digits
 * ```ts
 * import { rapidjsonDouble } from "./_json-double.ts";
 *
 * console.log(rapidjsonDouble(132405809496.45312), rapidjsonDouble(2), rapidjsonDouble(1e21)); // "132405809496.45313" "2.0" "1e21"
 * ```
 */
export function rapidjsonDouble(d: number): string {
  if (d === lastValue && !Object.is(d, -0)) return lastText; // the same duration, record after record
  if (!Number.isFinite(d)) return "null";
  if (d === 0) return Object.is(d, -0) ? "-0.0" : "0.0";
  let at = 0;
  if (d < 0) OUT[at++] = 45;
  const n = digitsOf(d < 0 ? -d : d);
  const k = exponent;
  const kk = n + k;
  const digits = (from: number, to: number) => {
    for (let i = from; i < to; i++) OUT[at++] = DIGITS[i]!;
  };
  const zeros = (count: number) => {
    for (let i = 0; i < count; i++) OUT[at++] = 48;
  };
  if (k >= 0 && kk <= 21) {
    digits(0, n);
    zeros(k);
    OUT[at++] = 46;
    OUT[at++] = 48;
  } else if (kk > 0 && kk <= 21) {
    digits(0, kk);
    OUT[at++] = 46;
    digits(kk, n);
  } else if (kk > -6 && kk <= 0) {
    OUT[at++] = 48;
    OUT[at++] = 46;
    zeros(-kk);
    digits(0, n);
  } else if (kk < -324) {
    return d < 0 ? "-0.0" : "0.0";
  } else {
    digits(0, 1);
    if (n > 1) {
      OUT[at++] = 46;
      digits(1, n);
    }
    return `${OUT.toString("latin1", 0, at)}e${kk - 1}`;
  }
  lastValue = d;
  return (lastText = OUT.toString("latin1", 0, at));
}
