// Errors that say what to do: each names the problem and the fix, without a stack trace.
import { describe, expect, test } from "bun:test";
import { mkdtempSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { resolveConfig, type ZeroMQOptions } from "../lib/config.ts";
import type { ClusterError } from "../lib/errors.ts";
import { makeNode } from "./cluster-helpers.ts";
import { spawnBun } from "./helpers.ts";

const CLI = new URL("../lib/cli.ts", import.meta.url).pathname;
const MANAGER = { type: "manager", ip: "127.0.0.1", port: 27762 };

/** Writes `text` as a cluster file in a fresh directory. */
function clusterFile(text: string, name = "cluster.json"): string {
  const path = join(mkdtempSync(join(tmpdir(), "cli-errors-")), name);
  writeFileSync(path, text);
  return path;
}

/** A line of a stack trace or of the source excerpt Bun prints above an uncaught error. */
const TRACE = /^\s*(at |\d+ \| )|\^$/;

/** A TCP listener on a free port that never speaks ZMTP; closed after the test. */
async function listener(): Promise<{ server: Server; port: number }> {
  const server = createServer((socket) => socket.on("error", () => undefined));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { server, port: (server.address() as { port: number }).port };
}

describe("cluster file", () => {
  test("a JSON syntax error names file:line:column, what was expected, and the usual cause", async () => {
    const file = clusterFile(`{\n  "nodes": {\n    "manager": { "type": "manager", "ip": "127.0.0.1" },\n  }\n}\n`);
    for (const command of ["up", "check"]) {
      const cli = spawnBun([CLI, "cluster", command, file]);
      expect(await cli.exited()).toBe(1);
      expect(cli.lines.filter(Boolean)).toEqual([
        ...(command === "up" ? [`cluster: starting ${file}`] : []),
        `cluster: Invalid cluster file: ${file}:4:3: not valid JSON: expected a property name in double quotes, got '}' (a trailing comma: JSON allows none after the last item)`,
      ]);
    }
  });

  test("Zeek's spelling of an option is answered with the option it means", async () => {
    const file = clusterFile(JSON.stringify({ nodes: { manager: MANAGER }, options: { overflow_policy: "DROP" } }));
    const cli = spawnBun([CLI, "cluster", "check", file]);
    expect(await cli.exited()).toBe(1);
    expect(cli.lines.join("\n")).toContain("Unknown option 'overflow_policy': did you mean 'overflowPolicy'?");
  });

  test("a misspelt field is answered with the field it means", async () => {
    const file = clusterFile(JSON.stringify({ nodes: { manager: { ...MANAGER, metrics_port: 9991 } }, loging: {} }));
    const cli = spawnBun([CLI, "cluster", "check", file]);
    expect(await cli.exited()).toBe(1);
    expect(cli.lines.join("\n")).toContain("unknown field 'loging'; did you mean 'logging'?");
    writeFileSync(file, JSON.stringify({ nodes: { manager: { ...MANAGER, metrics_port: 9991 } } }));
    const again = spawnBun([CLI, "cluster", "check", file]);
    expect(await again.exited()).toBe(1);
    expect(again.lines.join("\n")).toContain(
      `nodes["manager"] has unknown field 'metrics_port'; did you mean 'metricsPort'?`,
    );
  });
});

describe("options in code", () => {
  test("Zeek's names, with or without Zeek's module prefix, and typos get the option meant", () => {
    const refusal = (options: Record<string, unknown>) => {
      try {
        resolveConfig(options as ZeroMQOptions, {});
      } catch (err: unknown) {
        expect(err).toBeInstanceOf(TypeError);
        return (err as Error).message;
      }
      throw new Error("accepted");
    };
    expect(refusal({ overflow_policy: "DROP" })).toBe(
      "Unknown option 'overflow_policy': did you mean 'overflowPolicy'?",
    );
    expect(refusal({ "Cluster::Backend::ZeroMQ::xpub_sndhwm": 1 })).toContain("did you mean 'xpubSndhwm'?");
    expect(refusal({ lingerMS: 1 })).toContain("did you mean 'lingerMs'?");
    // Nothing close: the list of options instead of a guess.
    expect(refusal({ hwm: 1 })).toMatch(/^Unknown option 'hwm': the options are overflowPolicy, /);
  });
});

describe("command line", () => {
  test("an unknown option or command is answered with the one meant, and exit code 2", async () => {
    for (const [args, meant] of [
      [["cluster", "up", "x.json", "--isolate"], "(Did you mean --isolated?)"],
      [["clustr", "up", "x.json"], "(Did you mean cluster?)"],
      [["cluster", "chek", "x.json"], "(Did you mean check?)"],
      [["demo", "--durration", "5"], "(Did you mean --duration?)"],
    ] as const) {
      const cli = spawnBun([CLI, ...args]);
      expect(await cli.exited()).toBe(2);
      expect(cli.lines).toContain(meant);
      expect(cli.lines.some((l) => l.startsWith("Usage: zeek-zmq-cluster "))).toBe(true);
    }
  });

  test("--version prints the package's version", async () => {
    const cli = spawnBun([CLI, "--version"]);
    expect(await cli.exited()).toBe(0);
    expect(cli.lines.filter(Boolean)).toEqual([(await import("../package.json")).version]);
  });
});

describe("starting a cluster", () => {
  test("a port in use is one line naming the endpoint and suggesting --isolated, with no stack trace", async () => {
    const { server, port } = await listener();
    try {
      const dir = mkdtempSync(join(tmpdir(), "cli-inuse-"));
      // The broker on private ipc paths, so that only the logger's port (held above) is in the way.
      const ipc = (name: string) => `ipc://${join(dir, name)}`;
      const file = clusterFile(
        JSON.stringify({
          nodes: { manager: { type: "manager", ip: "127.0.0.1" }, logger: { type: "logger", ip: "127.0.0.1", port } },
          options: {
            listenXsubEndpoint: ipc("xsub"),
            listenXpubEndpoint: ipc("xpub"),
            connectXpubEndpoint: ipc("xsub"),
            connectXsubEndpoint: ipc("xpub"),
          },
        }),
      );
      const cli = spawnBun([CLI, "cluster", "up", file, "--log-dir", join(dir, "logs")]);
      expect(await cli.exited(20_000)).toBe(1);
      const errors = cli.lines.filter((l) => l.startsWith("cluster: ") && !l.startsWith("cluster: starting"));
      expect(errors).toEqual([
        `cluster: Node 'logger' could not start: Cannot bind PULL socket to 'tcp://127.0.0.1:${port}': Address already in use (EADDRINUSE); another cluster or program holds it: stop that, or run with --isolated (private ipc endpoints and free metrics ports)`,
      ]);
      expect(cli.lines.filter((l) => TRACE.test(l))).toEqual([]);
    } finally {
      server.close();
    }
  });
});

describe("a node with no broker", () => {
  test("NODE_NOT_READY names the endpoint it waited on and that nothing listens there", async () => {
    const { server, port } = await listener();
    await new Promise((resolve) => server.close(resolve)); // a port that was free a moment ago
    const endpoint = `tcp://127.0.0.1:${port}`;
    const node = makeNode({
      name: "worker-1",
      readyTimeout: 300,
      connectXpubEndpoint: endpoint,
      connectXsubEndpoint: endpoint,
    });
    const err = (await node.start().catch((e: unknown) => e)) as ClusterError;
    expect(err.code).toBe("NODE_NOT_READY");
    expect(err.message).toBe(
      `Node 'worker-1' is not ready after 300 ms: no broker echoed its subscription (${endpoint}: nothing listens there (connection refused)). Start the node that runs the broker (the manager) first, or point connectXpubEndpoint / connectXsubEndpoint at its listen endpoints.`,
    );
  });

  test("…and when something else listens there, says so and what it may be", async () => {
    const { server, port } = await listener();
    try {
      const endpoint = `tcp://127.0.0.1:${port}`;
      const node = makeNode({
        name: "worker-1",
        readyTimeout: 300,
        connectXpubEndpoint: endpoint,
        connectXsubEndpoint: endpoint,
      });
      const err = (await node.start().catch((e: unknown) => e)) as ClusterError;
      expect(err.code).toBe("NODE_NOT_READY");
      expect(err.message).toContain(`(${endpoint}: something listens there)`);
      expect(err.message).toContain("another program on that port, or CURVE keys that do not match");
    } finally {
      server.close();
    }
  });
});
