// /healthz and /readyz: the Hono app on its own, then a real node process whose broker (a process of
// its own) is not there yet, comes, goes away and comes back.
import { describe, expect, test } from "bun:test";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { metricsApp } from "../lib/metrics-server.ts";
import { spawnBun, waitFor } from "./helpers.ts";

const PUBSUB = new URL("../lib/pubsub.ts", import.meta.url).pathname;
const PROXY = new URL("../scripts/proxy.ts", import.meta.url).pathname;

describe("metricsApp health routes", () => {
  test("/healthz is 200 whatever the readiness; /readyz follows it, with the reason as JSON", async () => {
    let ready = false;
    const app = metricsApp({
      metrics: () => "",
      readiness: () =>
        ready ? { ready: true, state: "running" } : { ready: false, state: "starting", reason: "waiting for X" },
    });
    const health = await app.request("/healthz");
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ status: "alive" });
    expect(health.headers.get("cache-control")).toBe("no-store");
    const notReady = await app.request("/readyz");
    expect(notReady.status).toBe(503);
    expect(await notReady.json()).toEqual({ status: "not ready", state: "starting", reason: "waiting for X" });
    expect((await app.request("/readyz", { method: "HEAD" })).status).toBe(503); // load balancers probe with HEAD
    ready = true;
    const res = await app.request("/readyz");
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: "ready", state: "running" });
    expect((await app.request("/readyz", { method: "HEAD" })).status).toBe(200);
  });

  test("without a readiness source, /readyz is 200 whenever the server answers", async () => {
    const res = await metricsApp({ metrics: () => "" }).request("/readyz");
    expect(res.status).toBe(200);
  });
});

/** A worker of a two-node layout in its own process, printing its metrics URL before it starts. */
function workerScript(dir: string, xsub: string, xpub: string): string {
  const script = join(dir, "worker.ts");
  writeFileSync(
    script,
    `import { ClusterNode } from ${JSON.stringify(PUBSUB)};
const layout = { nodes: { manager: { type: "manager", ip: "127.0.0.1", port: 27762 }, "worker-1": { type: "worker", ip: "127.0.0.1" } } } as const;
const node = new ClusterNode({
  name: "worker-1", layout, connectXpubEndpoint: ${JSON.stringify(xsub)}, connectXsubEndpoint: ${JSON.stringify(xpub)},
  readyTimeout: 60_000, metrics: { port: 0 }, reporter: () => undefined,
});
const started = node.start();
const shown = setInterval(() => node.metrics.url && (console.log("metrics " + node.metrics.url), clearInterval(shown)), 5);
await started;
console.log("started");
process.once("SIGTERM", async () => { await node.stop(); process.exit(0); });
`,
  );
  return script;
}

describe("a node's /readyz as its broker comes and goes", () => {
  test("503 before the broker exists, 200 once it echoes, 503 when it is gone, 200 when it is back", async () => {
    const dir = mkdtempSync(join(tmpdir(), "health-"));
    const xsub = `ipc://${dir}/xsub`;
    const xpub = `ipc://${dir}/xpub`;
    const worker = spawnBun([workerScript(dir, xsub, xpub)]);
    const url = (await worker.waitForLine(/^metrics (\S+)$/, 15_000))[1]!;
    const probe = async (path: string) => {
      const res = await fetch(new URL(path, url), { signal: AbortSignal.timeout(2000) });
      return { status: res.status, body: (await res.json()) as { status: string; state: string; reason?: string } };
    };

    expect((await probe("/healthz")).status).toBe(200);
    const before = await probe("/readyz");
    expect(before.status).toBe(503);
    expect(before.body.state).toBe("starting");
    expect(before.body.reason).toContain(xsub); // it names where it waits

    const broker = spawnBun([PROXY, "--xsub", xsub, "--xpub", xpub]);
    await broker.waitForLine(/^broker: running/, 15_000);
    await waitFor(async () => (await probe("/readyz")).status === 200, "/readyz 200 with the broker up", 15_000);
    expect((await probe("/readyz")).body).toEqual({ status: "ready", state: "running" });
    await worker.waitForLine(/^started$/);

    broker.proc.kill("SIGKILL");
    const gone = await waitFor(
      async () => {
        const r = await probe("/readyz");
        return r.status === 503 ? r : undefined;
      },
      "/readyz 503 with the broker gone",
      15_000,
    );
    expect(gone.body.state).toBe("running");
    // It names the socket and where it connects (the first of the two to see the end, or both).
    expect(gone.body.reason).toMatch(/^no connection to the broker: X(PUB|SUB) to ipc:\S+ \(1 disconnects\)/);
    expect((await probe("/healthz")).status).toBe(200); // alive all along: restarting it would not help

    const again = spawnBun([PROXY, "--xsub", xsub, "--xpub", xpub]);
    await again.waitForLine(/^broker: running/, 15_000);
    await waitFor(async () => (await probe("/readyz")).status === 200, "/readyz 200 with the broker back", 15_000);

    worker.proc.kill("SIGTERM");
    expect(await worker.exited(15_000)).toBe(0);
  });
});
