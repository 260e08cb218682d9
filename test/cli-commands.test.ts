// `cluster check` and `broker`, run as a user runs them.
import { describe, expect, test } from "bun:test";
import { ANY_PORT, spawnBun } from "./helpers.ts";

const CLI = new URL("../lib/cli.ts", import.meta.url).pathname;
const DEMO = new URL("../scripts/demo/cluster.json", import.meta.url).pathname;

describe("cluster check", () => {
  test("prints each node's type, host, endpoints and metrics, starts nothing, exits 0", async () => {
    const cli = spawnBun([CLI, "cluster", "check", DEMO]);
    expect(await cli.exited()).toBe(0);
    const out = cli.lines.join("\n");
    expect(cli.lines[0]).toMatch(/cluster\.json: valid, 5 nodes; logs in \/\S+\/logs$/);
    expect(out).toMatch(/^manager +manager on 127\.0\.0\.1$/m);
    expect(out).toMatch(
      /^ +broker +XSUB tcp:\/\/127\.0\.0\.1:5556 \(publishers connect\), XPUB tcp:\/\/127\.0\.0\.1:5555 \(subscribers\)$/m,
    );
    expect(out).toMatch(/^ +logs +receives on tcp:\/\/127\.0\.0\.1:27762$/m);
    expect(out).toMatch(/^ +metrics +http:\/\/127\.0\.0\.1:9995\/metrics$/m);
    expect(cli.lines.filter((l) => /^\S+ +\S+ on 127\.0\.0\.1$/.test(l))).toHaveLength(5);
  });

  test("--json gives the same as data", async () => {
    const cli = spawnBun([CLI, "cluster", "check", DEMO, "--json"]);
    expect(await cli.exited()).toBe(0);
    const { valid, nodes } = JSON.parse(cli.lines.join("\n")) as {
      valid: boolean;
      nodes: { name: string; type: string; publishesTo: string; logsTo: string[]; logsListen?: string }[];
    };
    expect(valid).toBe(true);
    expect(nodes.map((n) => n.name)).toEqual(["manager", "logger", "proxy", "worker-1", "worker-2"]);
    const worker = nodes.find((n) => n.name === "worker-1")!;
    expect(worker).toMatchObject({
      type: "worker",
      publishesTo: "tcp://127.0.0.1:5556",
      logsTo: ["tcp://127.0.0.1:27762"],
    });
    expect(nodes.find((n) => n.name === "logger")!.logsListen).toBe("tcp://127.0.0.1:27762");
  });
});

describe("broker", () => {
  test("prints its endpoints and stops cleanly on SIGTERM (scripts/proxy.ts runs it: proxy.test.ts forwards through it)", async () => {
    const cli = spawnBun([CLI, "broker", "--xsub", ANY_PORT, "--xpub", ANY_PORT]);
    const xsub = (await cli.waitForLine(/^broker: XSUB (tcp:\/\/127\.0\.0\.1:\d+) \(publishers connect here\)$/))[1]!;
    const xpub = (await cli.waitForLine(/^broker: XPUB (tcp:\/\/127\.0\.0\.1:\d+) \(subscribers connect here\)$/))[1]!;
    expect(xsub).not.toBe(xpub);
    await cli.waitForLine(/^broker: running; Ctrl-C stops it$/);
    cli.proc.kill("SIGTERM");
    expect(await cli.exited()).toBe(0);
    expect(cli.lines.slice(-2)).toEqual(["broker: SIGTERM, stopping", "broker: stopped"]);
  });

  test("an endpoint in use is one line saying what to do, exit 1", async () => {
    const first = spawnBun([CLI, "broker", "--xsub", ANY_PORT, "--xpub", ANY_PORT]);
    const xsub = (await first.waitForLine(/^broker: XSUB (\S+)/))[1]!;
    const second = spawnBun([CLI, "broker", "--xsub", xsub, "--xpub", ANY_PORT]);
    expect(await second.exited()).toBe(1);
    expect(second.lines.filter(Boolean)).toEqual([
      `broker: Cannot bind XSUB socket to '${xsub}': Address already in use (EADDRINUSE); another broker may run there: stop it, or pick other --xsub/--xpub`,
    ]);
    first.proc.kill("SIGINT");
    expect(await first.exited()).toBe(0);
  });
});
