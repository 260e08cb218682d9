import { describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { addonCandidates } from "../lib/_libzmq.ts";
import { Context, DONTWAIT, Message, NativeBuffer, POLLIN, Poller, SocketOption, ZmqError } from "../lib/_zmq.ts";
import { curveKeypair, curvePublicKey, libzmqInfo, z85Decode, z85Encode } from "../lib/curve.ts";
import { ClusterError } from "../lib/errors.ts";
import { ANY_PORT, bytes, recvWithin, spawnBun, text, waitFor } from "./helpers.ts";

const FIXTURES = join(import.meta.dir, "fixtures");

describe("loading libzmq", () => {
  test("the zeromq addon is chosen like cmake-ts does: this platform, highest ABI first", () => {
    const candidates = addonCandidates();
    const buildDir = join(dirname(createRequire(import.meta.url).resolve("zeromq/package.json")), "build");
    const manifest = JSON.parse(readFileSync(join(buildDir, "manifest.json"), "utf8")) as Record<string, string>;
    const libc = process.platform === "linux" ? (existsSync("/etc/alpine-release") ? "musl" : "glibc") : "libc";
    const expected = Object.entries(manifest)
      .map(([key, file]) => ({ ...JSON.parse(key), file: join(buildDir, file) }))
      .filter((e) => e.os === process.platform && e.arch === process.arch && e.libc === libc)
      .sort((a, b) => b.abi - a.abi)
      .map((e) => e.file);
    expect(expected.length).toBeGreaterThan(0);
    expect(candidates.slice(0, expected.length)).toEqual(expected);
    for (const c of candidates) expect(c).toContain(`${process.platform}/${process.arch}/node/`);
    for (const c of candidates) expect(c).not.toMatch(libc === "glibc" ? /musl-/ : /glibc-/);
    const info = libzmqInfo();
    expect(candidates).toContain(info.path);
    expect(info.version).toMatch(/^4\.\d+\.\d+$/);
    expect(info.capabilities.curve).toBe(true);
  });

  test("ZMQ_LIBRARY that cannot be loaded gives one clear error naming what was tried", async () => {
    const child = spawnBun([join(FIXTURES, "libzmq-info.ts")], { ZMQ_LIBRARY: "/nonexistent/libzmq.so.5" });
    expect(await child.exited()).toBe(0);
    const out = JSON.parse(child.lines[0] ?? "{}");
    expect(out.code).toBe("LIBZMQ_NOT_FOUND");
    expect(out.message).toContain("ZMQ_LIBRARY");
    expect(out.message).toContain("/nonexistent/libzmq.so.5");
  });

  const systemLib = [
    "/usr/lib/x86_64-linux-gnu/libzmq.so.5",
    "/usr/lib/aarch64-linux-gnu/libzmq.so.5",
    "/usr/lib/libzmq.so.5",
  ].find((p) => existsSync(p));
  test.skipIf(!systemLib)("ZMQ_LIBRARY selects another libzmq, such as Debian's libzmq5", async () => {
    const child = spawnBun([join(FIXTURES, "libzmq-info.ts")], { ZMQ_LIBRARY: systemLib });
    expect(await child.exited()).toBe(0);
    const out = JSON.parse(child.lines[0] ?? "{}");
    expect(out.path).toBe(systemLib);
    expect(out.version).toMatch(/^4\./);
  });
});

describe("sockets", () => {
  test("multipart messages survive tcp and ipc intact, from empty frames to 1 MiB", async () => {
    const dir = mkdtempSync(join(tmpdir(), "zmq-test-"));
    const ctx = new Context();
    try {
      for (const endpoint of [ANY_PORT, `ipc://${join(dir, "sock")}`]) {
        const pull = ctx.socket("PULL");
        pull.bind(endpoint);
        const push = ctx.socket("PUSH");
        push.connect(pull.lastEndpoint);
        const big = new Uint8Array(1 << 20).map((_, i) => i * 31);
        const frames = [new Uint8Array(0), bytes("x"), new Uint8Array(255).fill(7), new Uint8Array(256).fill(0), big];
        expect(push.send(frames)).toBe(true);
        const got = await recvWithin(pull, `a message over ${endpoint}`);
        expect(got.map((f) => f.length)).toEqual(frames.map((f) => f.length));
        for (const [i, f] of got.entries()) expect(Buffer.compare(f, frames[i]!)).toBe(0);
        push.close();
        pull.close();
      }
    } finally {
      ctx.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("a failed bind is a ZmqError with errno, name and libzmq's text", () => {
    const ctx = new Context();
    const a = ctx.socket("PULL");
    a.bind(ANY_PORT);
    const b = ctx.socket("PULL");
    let caught: unknown;
    try {
      b.bind(a.lastEndpoint);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(ZmqError);
    expect(caught).toBeInstanceOf(ClusterError);
    const err = caught as ZmqError;
    expect(err.code).toBe("EADDRINUSE");
    expect(err.errno).toBeGreaterThan(0);
    expect(err.detail).toBe("Address already in use");
    expect(err.message).toBe(`Cannot bind PULL socket to '${a.lastEndpoint}': Address already in use (EADDRINUSE)`);
    expect(() => b.connect("bogus://x")).toThrow(/Cannot connect PULL socket to 'bogus:\/\/x'.*EPROTONOSUPPORT/);
    ctx.close();
  });

  test("unbind and disconnect stop traffic; IPv6 endpoints need an ipv6 context", async () => {
    const ctx = new Context();
    const pull = ctx.socket("PULL");
    pull.bind(ANY_PORT);
    const endpoint = pull.lastEndpoint;
    const push = ctx.socket("PUSH");
    push.connect(endpoint);
    push.send(["before"]);
    expect(text((await recvWithin(pull, "message before unbind"))[0])).toBe("before");
    push.disconnect(endpoint);
    pull.unbind(endpoint);
    expect(() => pull.unbind(endpoint)).toThrow(/Cannot unbind PULL socket/);
    const again = ctx.socket("PULL");
    // libzmq closes the listener in its I/O thread, so the port is free again shortly after unbind().
    await waitFor(() => {
      try {
        again.bind(endpoint);
        return true;
      } catch {
        return false;
      }
    }, "the port to be free after unbind");
    expect(() => ctx.socket("PULL").bind("tcp://[::1]:*")).toThrow(ZmqError);
    ctx.close();

    const v6 = new Context({ ipv6: true });
    const v6pull = v6.socket("PULL");
    v6pull.bind("tcp://[::1]:*");
    expect(v6pull.lastEndpoint).toMatch(/^tcp:\/\/\[::1\]:\d+$/);
    const v6push = v6.socket("PUSH");
    v6push.connect(v6pull.lastEndpoint);
    v6push.send(["over ::1"]);
    expect(text((await recvWithin(v6pull, "message over IPv6"))[0])).toBe("over ::1");
    v6.close();
  });

  test("options round-trip, 32- and 64-bit", () => {
    const ctx = new Context();
    const s = ctx.socket("XPUB");
    s.setOption(SocketOption.SNDHWM, 17);
    s.setOption(SocketOption.MAXMSGSIZE, 2 ** 40);
    s.setOption(SocketOption.LINGER, -1);
    expect([s.getInt(SocketOption.SNDHWM), s.getInt(SocketOption.MAXMSGSIZE), s.getInt(SocketOption.LINGER)]).toEqual([
      17,
      2 ** 40,
      -1,
    ]);
    expect(s.getInt(SocketOption.TYPE)).toBe(9);
    ctx.close();
  });

  test("recv with DONTWAIT returns null when nothing waits; a poller times out, then sees input", async () => {
    const ctx = new Context();
    const pull = ctx.socket("PULL");
    pull.bind(ANY_PORT);
    expect(pull.recv(DONTWAIT)).toBeNull();
    const poller = new Poller([{ socket: pull, events: POLLIN }]);
    expect(poller.wait(5)).toBe(0);
    const push = ctx.socket("PUSH");
    push.connect(pull.lastEndpoint);
    push.send(["wake"]);
    expect(poller.wait(5000)).toBe(1);
    expect(poller.revents(0) & POLLIN).toBe(POLLIN);
    expect(text(pull.recv(DONTWAIT)?.[0])).toBe("wake");
    poller.close();
    ctx.close();
  });

  test("a Message moves frames between sockets and keeps them on EAGAIN", async () => {
    const ctx = new Context();
    const [a, b, c, d] = [ctx.socket("PAIR"), ctx.socket("PAIR"), ctx.socket("PAIR"), ctx.socket("PAIR")];
    a.bind("inproc://m-in");
    b.connect("inproc://m-in");
    c.bind("inproc://m-out");
    d.connect("inproc://m-out");
    a.send(["abc", "defgh"]);
    const msg = new Message();
    expect(msg.receive(b)).toBe(true);
    expect([msg.size, msg.more, msg.equals(bytes("abc")), msg.byteAt(2)]).toEqual([3, true, true, 99]);
    const target = new Uint8Array(6);
    msg.copyTo(target, 3);
    expect(text(target.subarray(3))).toBe("abc");
    expect(() => msg.copyTo(target, 4)).toThrow(RangeError);
    expect(msg.sendTo(c, 2)).toBe(true);
    expect(msg.receive(b)).toBe(true);
    expect(msg.sendTo(c)).toBe(true);
    expect((await recvWithin(d, "forwarded frames")).map(text)).toEqual(["abc", "defgh"]);
    const full = ctx.socket("PAIR");
    full.setOption(SocketOption.SNDHWM, 1);
    full.bind("inproc://m-full");
    ctx.socket("PAIR").connect("inproc://m-full");
    msg.set("one");
    expect(msg.sendTo(full, DONTWAIT)).toBe(true);
    let kept = true;
    for (let i = 0; i < 10_000 && kept; i++) {
      msg.set(`frame ${i}`);
      kept = msg.sendTo(full, DONTWAIT);
    }
    expect(kept).toBe(false);
    expect(text(msg.bytes())).toMatch(/^frame \d+$/);
    msg.close();
    ctx.close();
  });

  test("a NativeBuffer takes frames straight from a Message and keeps them when it grows", () => {
    const ctx = new Context();
    const [a, b] = [ctx.socket("PAIR"), ctx.socket("PAIR")];
    a.bind("inproc://native-buffer-test");
    b.connect("inproc://native-buffer-test");
    const msg = new Message();
    const buf = new NativeBuffer(8);
    a.send(["abc"]);
    buf.copyFrom(msg, 0, msg.receiveSize(b));
    buf.ensure(100_000, 3);
    a.send([new Uint8Array(70_000).fill(7)]);
    buf.copyFrom(msg, 3, msg.receiveSize(b));
    expect(new TextDecoder().decode(buf.slice(0, 3))).toBe("abc");
    expect(buf.slice(3, 70_003).every((x) => x === 7)).toBe(true);
    expect(() => buf.copyFrom(msg, buf.length - 10, 70_000)).toThrow(RangeError);
    expect(() => buf.copyFrom(msg, 0, 70_001)).toThrow(RangeError); // more than the message holds
    expect(() => msg.sendRange(a, 69_990, 11)).toThrow(RangeError);
    expect(msg.sendRange(a, 69_990, 10)).toBe(true);
    expect(b.recv()).toEqual([new Uint8Array(10).fill(7)]);
    buf.close();
    expect(() => buf.copyFrom(msg, 0, 1)).toThrow(/closed/);
    msg.close();
    ctx.close();
  });

  test("a Message is read by copying, within its content; closed objects refuse use", () => {
    const ctx = new Context();
    const [a, b] = [ctx.socket("PAIR"), ctx.socket("PAIR")];
    a.bind("inproc://message-read");
    b.connect("inproc://message-read");
    const header = new Uint8Array(8);
    new DataView(header.buffer).setUint32(0, 50, true);
    new DataView(header.buffer).setUint32(4, 0xfffffffe, true);
    a.send([header]);
    const msg = new Message();
    expect(msg.receive(b)).toBe(true);
    expect([msg.readUint32(0), msg.readUint32(4), msg.byteAt(0)]).toEqual([50, 0xfffffffe, 50]);
    expect(() => msg.readUint32(5)).toThrow(RangeError);
    expect(() => msg.byteAt(8)).toThrow(RangeError);
    const copy = msg.bytes();
    msg.set("changed");
    expect(copy).toEqual(header); // a copy, not a view of the content that was replaced
    expect([msg.equals(bytes("changed")), msg.byteAt(0)]).toEqual([true, "c".charCodeAt(0)]);
    msg.close();
    expect(msg.closed).toBe(true);
    expect(() => msg.size).toThrow(/message is closed/);
    const poller = new Poller([{ socket: b, events: POLLIN }]);
    poller.close();
    expect(() => poller.wait(0)).toThrow(/poller is closed/);
    expect(() => poller.revents(0)).toThrow(RangeError); // not a read of freed memory
    ctx.close();
  });

  test("Context.close() closes every tracked socket; closed sockets refuse use", () => {
    const ctx = new Context();
    const s = ctx.socket("SUB");
    ctx.socket("PUB");
    expect(ctx.socketCount).toBe(2);
    ctx.close();
    expect(ctx.socketCount).toBe(0);
    expect(s.closed).toBe(true);
    expect(() => s.bind(ANY_PORT)).toThrow(/socket is closed/);
    expect(() => ctx.socket("PUB")).toThrow(/context is closed/);
  });

  test("forgotten sockets with undeliverable messages do not hang the exit", async () => {
    const child = spawnBun([join(FIXTURES, "forgotten-sockets.ts")]);
    expect(await child.exited(5000)).toBe(0);
    expect(child.lines).toContain("open sockets: 2");
    expect(child.lines).toContain("context closed");
  });
});

describe("CURVE and Z85", () => {
  test("key pairs are distinct, 40 characters, and the public key derives from the secret", () => {
    const a = curveKeypair();
    const b = curveKeypair();
    expect(a.publicKey).toHaveLength(40);
    expect(a.secretKey).toHaveLength(40);
    expect(a.publicKey).not.toBe(b.publicKey);
    expect(curvePublicKey(a.secretKey)).toBe(a.publicKey);
    expect(z85Decode(a.publicKey)).toHaveLength(32);
  });

  test("Z85 round-trips and matches the spec's test vector", () => {
    const vector = new Uint8Array([0x86, 0x4f, 0xd2, 0x6f, 0xb5, 0x59, 0xf7, 0x5b]);
    expect(z85Encode(vector)).toBe("HelloWorld");
    expect(z85Decode("HelloWorld")).toEqual(vector);
    expect(() => z85Encode(new Uint8Array(3))).toThrow(RangeError);
    expect(() => z85Decode("abcd")).toThrow(RangeError);
    expect(() => curvePublicKey("short")).toThrow(RangeError);
  });
});
