/**
 * @module CURVE keys and Z85 text (Zeek's `generate_keypair()`), and what libzmq build is in use.
 * These calls pass typed arrays for the duration of one call only; no pointer is kept.
 */

import { libzmq, ZmqError } from "./libzmq.ts";

const lib = () => libzmq().symbols;
const encoder = new TextEncoder();
const decoder = new TextDecoder();

function cstr(text: string): Uint8Array {
  return encoder.encode(`${text}\0`);
}

/** A CURVE key pair, both keys in Z85 (40 characters). */
export interface CurveKeyPair {
  /** The public key. */
  publicKey: string;
  /** The secret key. */
  secretKey: string;
}

/**
 * Generates a CURVE key pair (Zeek's `generate_keypair()`).
 *
 * @example Keys for a server
 * ```ts
 * import { curveKeypair } from "./curve.ts";
 *
 * const { publicKey, secretKey } = curveKeypair();
 * console.log(publicKey.length, secretKey.length); // 40 40
 * ```
 */
export function curveKeypair(): CurveKeyPair {
  const pub = new Uint8Array(41);
  const sec = new Uint8Array(41);
  if (lib().zmq_curve_keypair(pub, sec) !== 0) throw new ZmqError(lib().zmq_errno(), "Cannot generate a CURVE key pair");
  return { publicKey: decoder.decode(pub.subarray(0, 40)), secretKey: decoder.decode(sec.subarray(0, 40)) };
}

/**
 * Derives the public key from a Z85 secret key.
 *
 * @example Round trip
 * ```ts
 * import { curveKeypair, curvePublicKey } from "./curve.ts";
 *
 * const pair = curveKeypair();
 * console.log(curvePublicKey(pair.secretKey) === pair.publicKey); // true
 * ```
 */
export function curvePublicKey(secretKey: string): string {
  if (secretKey.length !== 40) throw new RangeError(`CURVE secret key must be 40 Z85 characters, got ${secretKey.length}`);
  const pub = new Uint8Array(41);
  if (lib().zmq_curve_public(pub, cstr(secretKey)) !== 0) {
    throw new ZmqError(lib().zmq_errno(), "Cannot derive the CURVE public key");
  }
  return decoder.decode(pub.subarray(0, 40));
}

/**
 * Encodes bytes (a multiple of 4 long) as Z85 text.
 *
 * @example A 32-byte key
 * ```ts
 * import { z85Decode, z85Encode } from "./curve.ts";
 *
 * const text = z85Encode(new Uint8Array(32));
 * console.log(text.length, z85Decode(text).length); // 40 32
 * ```
 */
export function z85Encode(data: Uint8Array): string {
  if (data.length % 4 !== 0) throw new RangeError(`Z85 input length must be a multiple of 4, got ${data.length}`);
  const out = new Uint8Array((data.length / 4) * 5 + 1);
  if (data.length && !lib().zmq_z85_encode(out, data, data.length)) throw new RangeError("Cannot Z85-encode the input");
  return decoder.decode(out.subarray(0, out.length - 1));
}

/**
 * Decodes Z85 text (a multiple of 5 long) to bytes.
 *
 * @example Decoding
 * ```ts
 * import { z85Decode } from "./curve.ts";
 *
 * console.log(z85Decode("HelloWorld")); // Uint8Array(8) [ 134, 79, 210, 111, 181, 89, 247, 91 ]
 * ```
 */
export function z85Decode(text: string): Uint8Array {
  if (text.length % 5 !== 0) throw new RangeError(`Z85 text length must be a multiple of 5, got ${text.length}`);
  const out = new Uint8Array((text.length / 5) * 4);
  if (text.length && !lib().zmq_z85_decode(out, cstr(text))) throw new RangeError(`Invalid Z85 text '${text}'`);
  return out;
}

/**
 * The libzmq version and where it was loaded from.
 *
 * @example Printing the version
 * ```ts
 * import { libzmqInfo } from "./curve.ts";
 *
 * const info = libzmqInfo();
 * console.log(info.version, info.path, info.capabilities.curve);
 * ```
 */
export function libzmqInfo(): { version: string; path: string; capabilities: Record<string, boolean> } {
  const v = new Int32Array(3);
  lib().zmq_version(v.subarray(0, 1), v.subarray(1, 2), v.subarray(2, 3));
  const capabilities: Record<string, boolean> = {};
  for (const cap of ["ipc", "pgm", "tipc", "norm", "curve", "gssapi", "draft"]) {
    capabilities[cap] = lib().zmq_has(cstr(cap)) === 1;
  }
  return { version: `${v[0]}.${v[1]}.${v[2]}`, path: libzmq().path, capabilities };
}
