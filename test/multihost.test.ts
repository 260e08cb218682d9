// A cluster over three "hosts": network namespaces this test creates, joined by a bridge in a fourth
// one. Host A runs the manager (the broker), host B the logger and worker-1, host C worker-2; each
// host runs its part with `cluster up FILE --host …` (a real launcher and real node processes).
// worker-1 sends numbered rounds of events that the manager and worker-2 count exactly. Then C's link
// goes down (node_down within the heartbeat bound, the rest keeps working) and up again (node_up),
// B's link loses packets (nftables) and C's link is slow (tc tbf): under BLOCK no event is lost.
// Only addresses inside the test's own namespaces are used; everything is removed in afterAll.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Subprocess } from "bun";
import type { ClusterFile } from "../lib/cluster-file.ts";

const CLI = new URL("../lib/cli.ts", import.meta.url).pathname;
const NODE = new URL("./fixtures/multihost-node.ts", import.meta.url).pathname;
const EVENTS = 2000; // per round: more than xpubSndhwm (1000), so BLOCK has to wait
const PAD = 256; // bytes per event: a round is some 600 kB, hundreds of TCP segments to lose or slow down
const DOWN_BOUND_MS = 6000; // the documented 5 s of the default heartbeats, plus the output's way here
const UP_BOUND_MS = 10_000;

const run = (cmd: string[]) => {
  const r = Bun.spawnSync(cmd, { stdout: "pipe", stderr: "pipe", timeout: 10_000 });
  if (r.exitCode !== 0) throw new Error(`${cmd.join(" ")} failed (${r.exitCode}): ${r.stderr.toString().trim()}`);
  return r.stdout.toString();
};
const tryRun = (cmd: string[]) => {
  try {
    run(cmd);
  } catch {}
};

const ID = `zmh${process.pid}`;
const NS = { bridge: `${ID}br`, a: `${ID}a`, b: `${ID}b`, c: `${ID}c` };
const NET = `10.213.${(process.pid % 250) + 1}`;
const IP = { a: `${NET}.1`, b: `${NET}.2`, c: `${NET}.3` };

/** Why this machine cannot run the test, or undefined: it needs root, `ip` and network namespaces. */
const cannot = ((): string | undefined => {
  if (process.getuid?.() !== 0) return "not root";
  if (!Bun.which("ip")) return "no `ip` (iproute2)";
  try {
    run(["ip", "netns", "add", `${ID}probe`]);
    run(["ip", "netns", "del", `${ID}probe`]);
  } catch (err) {
    return `cannot create network namespaces: ${(err as Error).message}`;
  }
})();
if (cannot) console.error(`multihost.test.ts: skipped: ${cannot}`);
const noNft = Bun.which("nft") ? undefined : "no `nft` (nftables; scripts/install-peers.sh test installs it)";
const noTc = Bun.which("tc") ? undefined : "no `tc` (iproute2)";
for (const why of [noNft, noTc]) if (!cannot && why) console.error(`multihost.test.ts: a test is skipped: ${why}`);

interface Line {
  at: number;
  host: string;
  node: string; // "" for the launcher's own lines
  text: string;
}
const lines: Line[] = [];
const clis = new Map<string, Subprocess>();
let dir = "";

function launch(host: keyof typeof IP, hostArg: string): void {
  const proc = Bun.spawn(
    [
      "ip",
      "netns",
      "exec",
      NS[host],
      process.execPath,
      "--no-orphans",
      CLI,
      "cluster",
      "up",
      join(dir, "cluster.json"),
    ].concat(["--host", hostArg, "--grace", "3000"]),
    { stdin: "ignore", stdout: "pipe", stderr: "pipe" },
  );
  clis.set(host, proc); // `ip netns exec` execs the command: this pid is the launcher's
  for (const stream of [proc.stdout, proc.stderr])
    (async () => {
      let rest = "";
      for await (const chunk of stream) {
        const parts = (rest + new TextDecoder().decode(chunk)).split("\n");
        rest = parts.pop() ?? "";
        for (const text of parts) {
          const m = /^(\S+)\s+\| (.*)$/.exec(text);
          lines.push({ at: performance.now(), host, node: m ? m[1]! : "", text: m ? m[2]! : text });
        }
      }
    })();
}

/** The first line after `after` (ms) of `node` ("" for a launcher) on `host` that matches. */
async function line(host: string, node: string, re: RegExp, after: number, timeoutMs: number): Promise<Line> {
  const end = performance.now() + timeoutMs;
  for (;;) {
    const hit = lines.find((l) => l.at >= after && l.host === host && l.node === node && re.test(l.text));
    if (hit) return hit;
    if (performance.now() > end) {
      const out = lines.map((l) => `${l.host}: ${l.node ? `${l.node} | ` : ""}${l.text}`).join("\n");
      throw new Error(`No line ${re} of ${node || "the launcher"} on host ${host} within ${timeoutMs} ms:\n${out}`);
    }
    await Bun.sleep(20);
  }
}

/** Kills (by pid) whatever still runs in the namespaces, removes them with their links, and the files. */
function removeAll(): void {
  for (const cli of clis.values()) if (cli.exitCode === null && cli.signalCode === null) cli.kill("SIGKILL");
  for (const ns of Object.values(NS)) {
    let pids: string[] = [];
    try {
      pids = run(["ip", "netns", "pids", ns]).split(/\s+/).filter(Boolean);
    } catch {}
    for (const pid of pids)
      try {
        process.kill(Number(pid), "SIGKILL");
      } catch {}
    tryRun(["ip", "netns", "del", ns]);
  }
  if (dir) rmSync(dir, { recursive: true, force: true });
}
if (!cannot) process.on("exit", removeAll); // should afterAll never run

let senderPid = 0;
/** Has worker-1 send a round and returns what the manager and worker-2 counted; the round's number is the sender's. */
async function round(timeoutMs = 15_000): Promise<{ n: number; got: string[] }> {
  const start = performance.now();
  process.kill(senderPid, "SIGUSR1");
  const sent = (await line("b", "worker-1", /^SENT \d+ /, start, timeoutMs)).text;
  const n = Number(sent.split(" ")[1]);
  const re = new RegExp(`^ROUND ${n} `);
  const left = timeoutMs - (performance.now() - start);
  const got = await Promise.all([line("a", "manager", re, 0, left), line("c", "worker-2", re, 0, left)]);
  const ms = Math.round(performance.now() - start);
  console.error(
    `multihost: round ${n} in ${ms} ms: worker-1 ${sent}; manager ${got[0]!.text}; worker-2 ${got[1]!.text}`,
  );
  return { n, got: got.map((l) => l.text) };
}
/** What a receiver prints for round `n` when it got every event once. */
const full = (n: number) => `ROUND ${n} got ${EVENTS} dup 0 of ${EVENTS}`;
const complete = ({ n, got }: { n: number; got: string[] }) => expect(got).toEqual([full(n), full(n)]);

describe.skipIf(cannot !== undefined)("a cluster over three hosts (network namespaces)", () => {
  beforeAll(async () => {
    for (const ns of Object.values(NS)) run(["ip", "netns", "add", ns]);
    run(["ip", "-n", NS.bridge, "link", "add", "br0", "type", "bridge"]);
    run(["ip", "-n", NS.bridge, "link", "set", "br0", "up"]);
    for (const h of ["a", "b", "c"] as const) {
      // The host's eth0 is one end of a veth pair, the bridge's port p<host> the other: a cable.
      run(["ip", "-n", NS.bridge, "link", "add", `p${h}`, "type", "veth", "peer", "name", "eth0", "netns", NS[h]]);
      run(["ip", "-n", NS.bridge, "link", "set", `p${h}`, "master", "br0", "up"]);
      run(["ip", "-n", NS[h], "addr", "add", `${IP[h]}/24`, "dev", "eth0"]);
      // One TCP segment per packet, as on a wire, rather than 64 kB that the kernel cuts up later (so
      // that the loss below drops segments); TCP connections take this when they are made.
      run(["ip", "-n", NS[h], "link", "set", "eth0", "gso_max_segs", "1", "up"]);
      run(["ip", "-n", NS[h], "link", "set", "lo", "up"]);
    }
    dir = mkdtempSync(join(tmpdir(), "multihost-"));
    const file: ClusterFile = {
      nodes: {
        manager: { type: "manager", ip: IP.a, env: { MH_RECEIVE: "1" } },
        logger: { type: "logger", ip: IP.b, port: 27762, host: "host-b" },
        "worker-1": { type: "worker", ip: IP.b, host: "host-b" },
        "worker-2": { type: "worker", ip: IP.c, env: { MH_RECEIVE: "1" } },
      },
      scripts: { manager: NODE, logger: NODE, worker: NODE },
      env: { MH_EVENTS: String(EVENTS), MH_PAD: String(PAD) },
      options: { overflowPolicy: "BLOCK" },
      logging: { dir: "logs", format: "json" },
    };
    writeFileSync(join(dir, "cluster.json"), JSON.stringify(file));
    launch("a", IP.a);
    launch("b", "HOST-B"); // the file's host name, case-insensitively
    launch("c", IP.c);
  }, 20_000);

  afterAll(async () => {
    const left = [...clis.values()].filter((c) => c.exitCode === null && c.signalCode === null);
    for (const cli of left) cli.kill("SIGTERM");
    await Promise.race([Promise.all(left.map((c) => c.exited)), Bun.sleep(10_000)]);
    removeAll();
  }, 20_000);

  test("each host starts only its nodes, and every host reports the whole cluster ready", async () => {
    const ready = await Promise.all(["a", "b", "c"].map((h) => line(h, "", /^cluster ready in \d+ ms/, 0, 25_000)));
    console.error(`multihost: ready on every host: ${ready.map((l) => l.text).join("; ")}`);
    expect(
      lines.filter((l) => l.node === "" && /^cluster: running/.test(l.text)).map((l) => `${l.host} ${l.text}`),
    ).toEqual(
      expect.arrayContaining([
        "a cluster: running 1 of 4 nodes here: manager",
        "b cluster: running 2 of 4 nodes here: logger, worker-1",
        "c cluster: running 1 of 4 nodes here: worker-2",
      ]),
    );
    for (const [host, node] of [
      ["a", "manager"],
      ["b", "logger"],
      ["b", "worker-1"],
      ["c", "worker-2"],
    ] as const)
      for (const other of ["manager", "logger", "worker-1", "worker-2"].filter((o) => o !== node))
        await line(host, node, new RegExp(`^UP ${other}$`), 0, 1000);
    senderPid = Number((await line("b", "worker-1", /^PID \d+$/, 0, 1000)).text.slice(4));
    complete(await round());
    // The receivers' log writes cross hosts too: A and C to the logger on B.
    const logged = async () => {
      const end = performance.now() + 10_000;
      for (;;) {
        try {
          const text = readFileSync(join(dir, "logs", "rounds.log"), "utf8");
          if (text.includes('"node":"manager"') && text.includes('"node":"worker-2"')) return text;
        } catch {}
        if (performance.now() > end) throw new Error("rounds.log on the logger has no record of manager and worker-2");
        await Bun.sleep(100);
      }
    };
    expect(await logged()).toContain(`"round":1,"got":${EVENTS},"dup":0,"sent":${EVENTS}`);
  }, 45_000);

  test("host C's link cut: node_down within the heartbeat bound, and the rest keeps working", async () => {
    run(["ip", "-n", NS.c, "link", "set", "eth0", "down"]);
    const cut = performance.now();
    const downs = await Promise.all([
      line("a", "manager", /^DOWN worker-2$/, cut, DOWN_BOUND_MS + 2000),
      line("b", "worker-1", /^DOWN worker-2$/, cut, DOWN_BOUND_MS + 2000),
      line("b", "logger", /^DOWN worker-2$/, cut, DOWN_BOUND_MS + 2000),
    ]);
    const ms = downs.map((l) => Math.round(l.at - cut));
    console.error(
      `multihost: node_down(worker-2) after the link cut in ${ms.join(", ")} ms (manager, worker-1, logger)`,
    );
    for (const t of ms) expect(t).toBeLessThanOrEqual(DOWN_BOUND_MS);
    // A round while host C is away: the manager gets all of it.
    const start = performance.now();
    process.kill(senderPid, "SIGUSR1");
    const n = Number((await line("b", "worker-1", /^SENT \d+ /, start, 15_000)).text.split(" ")[1]);
    expect((await line("a", "manager", new RegExp(`^ROUND ${n} `), start, 15_000)).text).toBe(full(n));
  }, 30_000);

  test("the link restored: node_up again, and events reach host C again", async () => {
    run(["ip", "-n", NS.c, "link", "set", "eth0", "up"]);
    const restored = performance.now();
    const ups = await Promise.all([
      line("a", "manager", /^UP worker-2$/, restored, UP_BOUND_MS),
      line("b", "worker-1", /^UP worker-2$/, restored, UP_BOUND_MS),
    ]);
    console.error(
      `multihost: node_up(worker-2) after the link came back in ${ups.map((l) => Math.round(l.at - restored)).join(", ")} ms (manager, worker-1)`,
    );
    complete(await round());
  }, 30_000);

  test.skipIf(noNft !== undefined)(
    "10% random packet loss on host B's link loses no event under BLOCK",
    async () => {
      const rules = `table inet ${ID} {
      chain loss_in { type filter hook input priority 0; iifname eth0 numgen random mod 100 < 10 counter drop; }
      chain loss_out { type filter hook output priority 0; oifname eth0 numgen random mod 100 < 10 counter drop; }
    }`;
      writeFileSync(join(dir, "loss.nft"), rules);
      run(["ip", "netns", "exec", NS.b, "nft", "-f", join(dir, "loss.nft")]);
      try {
        complete(await round(30_000));
        const dropped = [
          ...run(["ip", "netns", "exec", NS.b, "nft", "list", "table", "inet", ID]).matchAll(/packets (\d+)/g),
        ].reduce((sum, m) => sum + Number(m[1]), 0);
        console.error(`multihost: ${dropped} packets dropped on host B's link during the round`);
        expect(dropped).toBeGreaterThan(0); // the loss was real
      } finally {
        tryRun(["ip", "netns", "exec", NS.b, "nft", "delete", "table", "inet", ID]);
      }
      // No node was lost to the loss either.
      expect(lines.filter((l) => /^DOWN /.test(l.text) && !/worker-2$/.test(l.text))).toEqual([]);
    },
    40_000,
  );

  test.skipIf(noTc !== undefined)(
    "a slow link to host C (2 mbit/s) loses no event under BLOCK",
    async () => {
      const shape = (ns: string, dev: string) =>
        run([
          "ip",
          "netns",
          "exec",
          ns,
          "tc",
          "qdisc",
          "add",
          "dev",
          dev,
          "root",
          "tbf",
          "rate",
          "2mbit",
          "burst",
          "32kbit",
          "latency",
          "400ms",
        ]);
      shape(NS.c, "eth0");
      shape(NS.bridge, "pc");
      try {
        complete(await round(30_000));
        const stats = run(["ip", "netns", "exec", NS.bridge, "tc", "-s", "qdisc", "show", "dev", "pc"]);
        const overlimits = Number(/overlimits (\d+)/.exec(stats)?.[1] ?? 0);
        console.error(`multihost: the tbf towards host C was over its rate ${overlimits} times during the round`);
        expect(overlimits).toBeGreaterThan(0); // the link was really slow
      } finally {
        tryRun(["ip", "netns", "exec", NS.c, "tc", "qdisc", "del", "dev", "eth0", "root"]);
        tryRun(["ip", "netns", "exec", NS.bridge, "tc", "qdisc", "del", "dev", "pc", "root"]);
      }
    },
    40_000,
  );

  test("each host stops its own nodes, writers before their logger", async () => {
    const nodePids = lines.filter((l) => /^PID \d+$/.test(l.text)).map((l) => Number(l.text.slice(4)));
    expect(nodePids).toHaveLength(4);
    const stopAt = performance.now();
    clis.get("b")!.kill("SIGTERM");
    expect(await Promise.race([clis.get("b")!.exited, Bun.sleep(15_000).then(() => "still running")])).toBe(0);
    // The logger was still there to see worker-1 go; the manager on host A saw both go.
    await line("b", "logger", /^DOWN worker-1$/, stopAt, 1000);
    await line("a", "manager", /^DOWN worker-1$/, stopAt, 5000);
    await line("a", "manager", /^DOWN logger$/, stopAt, 5000);
    for (const host of ["c", "a"]) {
      clis.get(host)!.kill("SIGTERM");
      expect(await Promise.race([clis.get(host)!.exited, Bun.sleep(15_000).then(() => "still running")])).toBe(0);
    }
    for (const host of ["a", "b", "c"]) await line(host, "", /^cluster: stopped$/, stopAt, 1000);
    const alive = nodePids.filter((pid) => {
      try {
        return process.kill(pid, 0);
      } catch {
        return false;
      }
    });
    expect(alive).toEqual([]);
  }, 50_000);
});
