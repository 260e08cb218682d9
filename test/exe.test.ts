// The single executable (`bun run build:exe`), as an operator without Bun gets it: built once for
// this file, copied into an empty directory outside the repository (no node_modules, no package.json),
// and run from there with no ZMQ_LIBRARY, so libzmq can only come from inside the file.

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { copyFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Broker } from "../lib/proxy.ts";
import { ClusterNode } from "../lib/pubsub.ts";
import { ANY_PORT, childProcesses, isRunning, spawnChild, waitFor } from "./helpers.ts";

const ROOT = join(import.meta.dir, "..");
const HOST_DIR = mkdtempSync(join(tmpdir(), "zzc-exe-"));
const EXE = join(HOST_DIR, "zeek-zmq-cluster");
/** The environment of a host without Bun: no ZMQ_LIBRARY, no bun on PATH. */
const HOST_ENV = { ZMQ_LIBRARY: undefined, PATH: "/usr/bin:/bin", BUN_INSTALL: undefined };

const run = (args: string[]) => {
  const child = spawnChild([EXE, ...args], HOST_ENV);
  return child;
};

beforeAll(async () => {
  const build = join(mkdtempSync(join(tmpdir(), "zzc-build-")), "zeek-zmq-cluster");
  const proc = Bun.spawn([process.execPath, join(ROOT, "scripts", "build-exe.ts"), "--outfile", build], {
    cwd: ROOT,
    stdout: "pipe",
    stderr: "pipe",
  });
  const timer = setTimeout(() => proc.kill("SIGKILL"), 90_000);
  const output = (await new Response(proc.stdout).text()) + (await new Response(proc.stderr).text());
  clearTimeout(timer);
  if ((await proc.exited) !== 0) throw new Error(`build:exe failed:\n${output}`);
  copyFileSync(build, EXE);
  rmSync(join(build, ".."), { recursive: true, force: true });
}, 120_000);

afterAll(() => rmSync(HOST_DIR, { recursive: true, force: true }));

/**
 * A cluster file as an operator writes one, in a directory of its own outside the repository (no
 * node_modules up the tree): manager, logger, proxy and a worker, logs next to the file. The port is
 * the layout's; the tests run with --isolated, which puts every endpoint on private ipc paths.
 */
function clusterDir(files: Record<string, string> = {}, scripts?: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), "zzc-exe-cluster-"));
  const nodes = {
    manager: { type: "manager", ip: "127.0.0.1" },
    logger: { type: "logger", ip: "127.0.0.1", port: 27762 },
    proxy: { type: "proxy", ip: "127.0.0.1" },
    "worker-1": { type: "worker", ip: "127.0.0.1" },
  };
  writeFileSync(join(dir, "cluster.json"), JSON.stringify({ nodes, logging: { dir: "logs" }, scripts }));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return dir;
}

/** The node processes a launcher runs now (its children that have not exited), with their command lines. */
function nodesOf(launcher: number): { pid: number; cmd: string[] }[] {
  return childProcesses(launcher)
    .filter((c) => !c.zombie)
    .map(({ pid }) => ({ pid, cmd: readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").filter(Boolean) }));
}

/** Kills what a test left running, by pid: a node that outlived a failed assertion. */
function killAll(pids: number[]): void {
  for (const pid of pids.filter(isRunning)) process.kill(pid, "SIGKILL");
}

describe("the single executable", () => {
  test("is one file in a directory of its own, and knows its version", async () => {
    expect(readdirSync(HOST_DIR)).toEqual(["zeek-zmq-cluster"]);
    expect(existsSync(join(HOST_DIR, "node_modules"))).toBe(false);
    const version = run(["--version"]);
    expect(await version.exited()).toBe(0);
    expect(version.lines[0]).toBe((await Bun.file(join(ROOT, "package.json")).json()).version);
  });

  test("sub and pub, with its embedded libzmq, against a broker and a node", async () => {
    const broker = new Broker({ listenXsubEndpoint: ANY_PORT, listenXpubEndpoint: ANY_PORT });
    const at = await broker.start();
    const node = new ClusterNode({
      name: "w",
      type: "worker",
      connectXpubEndpoint: at.xsub,
      connectXsubEndpoint: at.xpub,
    });
    try {
      const got = Promise.withResolvers<unknown[]>();
      node.on("hello", (...args: unknown[]) => got.resolve(args));
      node.subscribe("to.node.");
      await node.start();
      const timer = setInterval(() => node.publish("from.node", "tick", [1, "x"]), 50);
      const sub = run(["sub", "from.", "--connect", at.xpub, "--count", "2"]);
      const subCode = await sub.exited(15_000);
      clearInterval(timer);
      expect(subCode).toBe(0);
      expect(sub.lines.filter((l) => l === 'from.node tick [1,"x"]')).toHaveLength(2);

      const pub = run(["pub", "to.node.x", "hello", '[2, "y"]', "--connect", at.xsub]);
      expect(await pub.exited(15_000)).toBe(0);
      expect(await got.promise).toEqual([2, "y"]);
    } finally {
      await node.stop();
      await broker.stop();
    }
  });

  test("a broker of its own, then sub and pub through it: three copies of the one file", async () => {
    const broker = run(["broker", "--xsub", ANY_PORT, "--xpub", ANY_PORT]);
    const [, xsub] = await broker.waitForLine(/XSUB\D*(tcp:\/\/127\.0\.0\.1:\d+)/i, 15_000);
    const [, xpub] = await broker.waitForLine(/XPUB\D*(tcp:\/\/127\.0\.0\.1:\d+)/i);
    const sub = run(["sub", "demo.", "--json", "--connect", xpub!, "--count", "1"]);
    await sub.waitForLine(/^sub: subscribed/);
    const pub = run(["pub", "demo.x", "ping", '[42, "z"]', "--connect", xsub!, "--format", "msgpack-v1"]);
    expect(await pub.exited(15_000)).toBe(0);
    expect(await sub.exited(15_000)).toBe(0);
    const event = JSON.parse(sub.lines.find((l) => l.startsWith("{"))!);
    expect(event).toMatchObject({ topic: "demo.x", format: "msgpack-v1", event: "ping", args: [42, "z"] });
    broker.proc.kill("SIGTERM");
    expect(await broker.exited(10_000)).toBe(0);
  });

  test("cluster check FILE: the nodes and their endpoints, without starting anything", async () => {
    const dir = clusterDir();
    try {
      const check = run(["cluster", "check", join(dir, "cluster.json")]);
      expect(await check.exited(15_000)).toBe(0);
      expect(check.lines[0]).toBe(`${join(dir, "cluster.json")}: valid, 4 nodes; logs in ${join(dir, "logs")}`);
      expect(check.lines).toContain("            logs     receives on tcp://127.0.0.1:27762");
      expect(check.lines.filter((l) => /^\S/.test(l)).map((l) => l.split(/\s+/)[0])).toEqual([
        `${join(dir, "cluster.json")}:`,
        "manager",
        "logger",
        "proxy",
        "worker-1",
      ]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("cluster up runs a whole cluster of plain nodes: each the executable again, all gone at the end", async () => {
    const dir = clusterDir();
    const up = run(["cluster", "up", join(dir, "cluster.json"), "--isolated", "--duration", "3"]);
    let nodes: { pid: number; cmd: string[] }[] = [];
    try {
      await up.waitForLine(/^cluster ready in \d+ ms$/, 30_000);
      nodes = nodesOf(up.proc.pid);
      expect(nodes.map((n) => n.cmd)).toEqual(Array(4).fill([EXE, "__node"]));
      expect(await up.exited(30_000)).toBe(0);
      expect(up.lines).toContain("cluster: stopped");
      expect(nodes.filter((n) => isRunning(n.pid))).toEqual([]);
      // The plain nodes write Zeek's cluster.log through the logger, into the file's logging.dir.
      const logs = join(dir, "logs");
      const log = readdirSync(logs).find((f) => /^cluster\..*log$/.test(f));
      expect(log).toBeDefined();
      const records = readFileSync(join(logs, log!), "utf8")
        .trim()
        .split("\n")
        .map((l) => JSON.parse(l));
      expect(records).toContainEqual(
        expect.objectContaining({ node: "manager", message: expect.stringMatching(/^got hello from worker-1 \(/) }),
      );
      expect(new Set(records.map((r: { node: string }) => r.node))).toEqual(
        new Set(["manager", "logger", "proxy", "worker-1"]),
      );
    } finally {
      killAll([up.proc.pid, ...nodes.map((n) => n.pid)]);
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);

  test("the nodes end with the launcher even when it is killed (what bun --no-orphans does)", async () => {
    const dir = clusterDir();
    const up = run(["cluster", "up", join(dir, "cluster.json"), "--isolated"]);
    let nodes: { pid: number; cmd: string[] }[] = [];
    try {
      await up.waitForLine(/^cluster ready in \d+ ms$/, 30_000);
      nodes = nodesOf(up.proc.pid);
      expect(nodes).toHaveLength(4);
      up.proc.kill("SIGKILL");
      await up.exited(10_000);
      await waitFor(
        () => nodes.every((n) => !isRunning(n.pid)) || undefined,
        `the nodes ${nodes.map((n) => n.pid)} to exit after their launcher was killed`,
        10_000,
      );
    } finally {
      killAll([up.proc.pid, ...nodes.map((n) => n.pid)]);
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);

  test("a node script imports zeek-zmq-cluster from the executable; another package is a clear error", async () => {
    const worker = `import { defineStream, EVENTS, runNode } from "zeek-zmq-cluster";
import pkg from "zeek-zmq-cluster/package.json";
const SEEN = defineStream({ id: "Seen::LOG", path: "seen", fields: { node: "string", peer: "string", version: "string" } });
await runNode((node) => {
  node.on(EVENTS.nodeUp, (peer: string) => node.state === "running" && node.log(SEEN, { node: node.name, peer, version: pkg.version }));
});
`;
    const dir = clusterDir(
      { "worker.ts": worker, "padded.ts": 'import pad from "left-pad";\nconsole.log(pad("x", 3));\n' },
      {
        worker: "./worker.ts",
      },
    );
    try {
      const up = run(["cluster", "up", join(dir, "cluster.json"), "--isolated", "--duration", "2"]);
      expect(await up.exited(30_000)).toBe(0);
      const logs = join(dir, "logs");
      const seen = readdirSync(logs).find((f) => /^seen\..*log$/.test(f));
      expect(seen).toBeDefined();
      const version = (await Bun.file(join(ROOT, "package.json")).json()).version;
      expect(JSON.parse(readFileSync(join(logs, seen!), "utf8").split("\n")[0]!)).toMatchObject({
        node: "worker-1",
        version,
      });

      const file = JSON.parse(readFileSync(join(dir, "cluster.json"), "utf8"));
      writeFileSync(join(dir, "cluster.json"), JSON.stringify({ ...file, scripts: { worker: "./padded.ts" } }));
      const failed = run(["cluster", "up", join(dir, "cluster.json"), "--isolated", "--duration", "2"]);
      expect(await failed.exited(30_000)).toBe(1);
      expect(failed.lines).toContain(
        `worker-1 | node script ${join(dir, "padded.ts")}: Cannot find package 'left-pad' imported from ${join(dir, "padded.ts")}. The executable gives scripts zeek-zmq-cluster itself; install any other package a script imports in a node_modules next to it (bun add / npm install)`,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
