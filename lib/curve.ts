/**
 * @module CURVE keys and Z85 text (Zeek's `generate_keypair()`), and what libzmq build is in use:
 * the checks and the documented API, over libzmq's own functions, which `_zmq.ts` calls.
 */

import { zmqBuild, zmqCurveKeypair, zmqCurvePublic, zmqZ85Decode, zmqZ85Encode } from "./_zmq.ts";

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
  return zmqCurveKeypair();
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
  if (secretKey.length !== 40)
    throw new RangeError(`CURVE secret key must be 40 Z85 characters, got ${secretKey.length}`);
  return zmqCurvePublic(secretKey);
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
  const text = zmqZ85Encode(data);
  if (text === null) throw new RangeError("Cannot Z85-encode the input");
  return text;
}

/**
 * Decodes Z85 text (a multiple of 5 long) to bytes.
 *
 * @example Decoding
 * ```ts
 * import { z85Decode } from "./curve.ts";
 *
 * console.log(z85Decode("HelloWorld")); // new Uint8Array([134, 79, 210, 111, 181, 89, 247, 91])
 * ```
 */
export function z85Decode(text: string): Uint8Array {
  if (text.length % 5 !== 0) throw new RangeError(`Z85 text length must be a multiple of 5, got ${text.length}`);
  const bytes = zmqZ85Decode(text);
  if (bytes === null) throw new RangeError(`Invalid Z85 text '${text}'`);
  return bytes;
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
  const { version, path, has } = zmqBuild(["ipc", "pgm", "tipc", "norm", "curve", "gssapi", "draft"]);
  return { version, path, capabilities: has };
}
