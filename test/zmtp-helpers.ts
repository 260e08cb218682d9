// Raw ZMTP peers for the "bun" engines' tests: TCP servers on loopback that send what a test gives them
// (libzmq never would), and the frames to build it from.

import { bytes } from "./helpers.ts";

/** A TCP server that answers each connection with `reply`, keeps what it receives, and can stop reading. */
export function rawPeer(
  cleanups: (() => unknown)[],
  reply: Uint8Array[],
): { endpoint: string; connections: () => number; received: () => Uint8Array; pause(): void; resume(): void } {
  let connections = 0;
  const chunks: Uint8Array[] = [];
  const sockets: { pause(): void; resume(): void }[] = [];
  const server = Bun.listen({
    hostname: "127.0.0.1",
    port: 0,
    socket: {
      open(s) {
        connections++;
        sockets.push(s);
        for (const r of reply) s.write(r);
      },
      data(_s, chunk) {
        chunks.push(new Uint8Array(chunk));
      },
    },
  });
  cleanups.push(() => server.stop(true));
  return {
    endpoint: `tcp://127.0.0.1:${server.port}`,
    connections: () => connections,
    received: () => Buffer.concat(chunks),
    pause() {
      for (const s of sockets) s.pause();
    },
    resume() {
      for (const s of sockets) s.resume();
    },
  };
}

/** A ZMTP 3.0 greeting with `mechanism`. */
export function greeting(mechanism = "NULL"): Uint8Array {
  const g = new Uint8Array(64);
  g[0] = 0xff;
  g[9] = 0x7f;
  g[10] = 3;
  g.set(bytes(mechanism), 12);
  return g;
}

/** One frame: `flags` (1 more, 4 command), a long size when the body needs it. */
export function frame(flags: number, body: Uint8Array): Uint8Array {
  if (body.length > 255) {
    const out = new Uint8Array(9 + body.length);
    out[0] = flags | 2;
    new DataView(out.buffer).setBigUint64(1, BigInt(body.length));
    out.set(body, 9);
    return out;
  }
  return new Uint8Array([flags, body.length, ...body]);
}

/** `READY` of a socket of `type`. */
export function readyOf(type: string): Uint8Array {
  const name = bytes("Socket-Type");
  const body = new Uint8Array([5, ...bytes("READY"), name.length, ...name, 0, 0, 0, type.length, ...bytes(type)]);
  return frame(4, body);
}

/** The frames of one message of `parts`. */
export const message = (...parts: string[]): Uint8Array[] =>
  parts.map((p, i) => frame(i < parts.length - 1 ? 1 : 0, bytes(p)));
