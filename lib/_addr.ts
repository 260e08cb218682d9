/**
 * @module IP addresses and subnets as Zeek and Broker carry them: 16 bytes in network order, IPv4 as
 * `::ffff:a.b.c.d`; text as Zeek prints it (IPv4 dotted, IPv6 in the form of glibc's `inet_ntop`).
 * Not part of the public API; the wire formats use it.
 */

/** The 12-byte prefix of an IPv4-mapped IPv6 address. */
const V4_MAPPED = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff] as const;

/**
 * Parses an IPv4 or IPv6 address (no zone, no brackets) into 16 bytes, IPv4 as `::ffff:a.b.c.d`;
 * `undefined` when the text is not an address.
 */
export function parseAddr(text: string): Uint8Array | undefined {
  if (typeof text !== "string" || text.length > 45) return undefined;
  if (text.includes(":")) return parseV6(text);
  const v4 = parseV4(text);
  if (!v4) return undefined;
  const out = new Uint8Array(16);
  out.set(V4_MAPPED);
  out.set(v4, 12);
  return out;
}

/** Whether `s` is a dotted-quad IPv4 address (no leading zeros); no allocation, for hot paths. */
export function isIPv4(s: string): boolean {
  return parseV4(s, SCRATCH) !== undefined;
}

const SCRATCH = new Uint8Array(4);

/** Dotted-quad IPv4 without leading zeros into `out`; `undefined` otherwise. */
function parseV4(s: string, out: Uint8Array = new Uint8Array(4)): Uint8Array | undefined {
  let part = 0;
  let value = 0;
  let digits = 0;
  for (let i = 0; i <= s.length; i++) {
    const c = i < s.length ? s.charCodeAt(i) : 46;
    if (c === 46) {
      if (digits === 0 || value > 255 || part > 3) return undefined;
      out[part++] = value;
      value = 0;
      digits = 0;
    } else if (c >= 48 && c <= 57 && digits < 3 && !(digits === 1 && value === 0)) {
      value = value * 10 + c - 48;
      digits++;
    } else return undefined;
  }
  return part === 4 ? out : undefined;
}

function parseV6(s: string): Uint8Array | undefined {
  const halves = s.split("::");
  if (halves.length > 2) return undefined;
  const groups = (half: string): number[] | undefined => {
    if (half === "") return [];
    const words: number[] = [];
    const parts = half.split(":");
    for (let i = 0; i < parts.length; i++) {
      const p = parts[i]!;
      if (i === parts.length - 1 && p.includes(".")) {
        const v4 = parseV4(p);
        if (!v4) return undefined;
        words.push((v4[0]! << 8) | v4[1]!, (v4[2]! << 8) | v4[3]!);
      } else if (/^[0-9a-fA-F]{1,4}$/.test(p)) {
        words.push(parseInt(p, 16));
      } else return undefined;
    }
    return words;
  };
  const head = groups(halves[0]!);
  const tail = halves.length === 2 ? groups(halves[1]!) : [];
  if (!head || !tail) return undefined;
  const missing = 8 - head.length - tail.length;
  if (halves.length === 2 ? missing < 1 : missing !== 0) return undefined;
  const words = [...head, ...new Array<number>(missing).fill(0), ...tail];
  const out = new Uint8Array(16);
  words.forEach((w, i) => {
    out[2 * i] = w >> 8;
    out[2 * i + 1] = w & 0xff;
  });
  return out;
}

/** Whether 16 address bytes hold an IPv4-mapped address. */
export function isV4Mapped(bytes: Uint8Array, offset = 0): boolean {
  for (let i = 0; i < 12; i++) if (bytes[offset + i] !== V4_MAPPED[i]) return false;
  return true;
}

/**
 * Formats 16 address bytes (at `offset`) as Zeek prints them: IPv4-mapped as a dotted quad, others as
 * glibc's `inet_ntop` does (the longest run of two or more zero groups as `::`, lowercase hex, and
 * `::a.b.c.d` / `::ffff:a.b.c.d` forms for embedded IPv4).
 */
export function formatAddr(bytes: Uint8Array, offset = 0): string {
  if (isV4Mapped(bytes, offset)) return formatV4(bytes, offset + 12);
  const words: number[] = [];
  for (let i = 0; i < 8; i++) words.push((bytes[offset + 2 * i]! << 8) | bytes[offset + 2 * i + 1]!);
  let bestBase = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (words[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && words[j] === 0) j++;
    if (j - i > bestLen) [bestBase, bestLen] = [i, j - i];
    i = j;
  }
  if (bestLen < 2) bestBase = -1;
  let out = "";
  for (let i = 0; i < 8; i++) {
    if (bestBase !== -1 && i >= bestBase && i < bestBase + bestLen) {
      if (i === bestBase) out += ":";
      continue;
    }
    if (i !== 0) out += ":";
    // glibc prints an embedded IPv4 address for ::a.b.c.d (IPv4-compatible) the same way.
    if (i === 6 && bestBase === 0 && (bestLen === 6 || (bestLen === 5 && words[5] === 0xffff))) {
      return out + formatV4(bytes, offset + 12);
    }
    out += words[i]!.toString(16);
  }
  if (bestBase !== -1 && bestBase + bestLen === 8) out += ":";
  return out;
}

function formatV4(bytes: Uint8Array, offset: number): string {
  return `${bytes[offset]}.${bytes[offset + 1]}.${bytes[offset + 2]}.${bytes[offset + 3]}`;
}

/** A subnet: the network's 16 bytes and the prefix length relative to 128 bits (IPv4 /8 is 104). */
export interface Subnet {
  readonly network: Uint8Array;
  /** Prefix length over the 16 bytes, as Broker carries it: IPv4 prefix + 96. */
  readonly length: number;
}

/**
 * Parses `10.0.0.0/8` or `2001:db8::/32`; the network is masked to the prefix, as Zeek and Broker do.
 * `undefined` when the text is not a subnet.
 */
export function parseSubnet(text: string): Subnet | undefined {
  if (typeof text !== "string") return undefined;
  const slash = text.lastIndexOf("/");
  if (slash <= 0 || !/^\d{1,3}$/.test(text.slice(slash + 1))) return undefined;
  const addr = parseAddr(text.slice(0, slash));
  const prefix = Number(text.slice(slash + 1));
  if (!addr) return undefined;
  const v4 = !text.slice(0, slash).includes(":");
  if (prefix > (v4 ? 32 : 128)) return undefined;
  const length = v4 ? prefix + 96 : prefix;
  return { network: maskAddr(addr, length), length };
}

/** Zeroes the bits of `addr` beyond `length` (of 128). */
export function maskAddr(addr: Uint8Array, length: number): Uint8Array {
  const out = addr.slice();
  for (let bit = length; bit < 128; bit++) out[bit >> 3]! &= ~(0x80 >> (bit & 7));
  return out;
}

/** Formats a subnet as Zeek prints it: `10.0.0.0/8`, `2001:db8::/32` (IPv4 lengths user-facing). */
export function formatSubnet(network: Uint8Array, length: number, offset = 0): string {
  const v4 = isV4Mapped(network, offset) && length >= 96;
  return `${formatAddr(network, offset)}/${v4 ? length - 96 : length}`;
}
