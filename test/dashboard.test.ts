// The live dashboard in a real headless Chromium (Debian's, installed by scripts/install-peers.sh test),
// driven by playwright-core over the DevTools protocol, against a real cluster of node processes.
// DASHBOARD_SCREENSHOT=docs/dashboard.png writes the screenshot the README shows.
import { describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Browser, chromium, type Page } from "playwright-core";
import { ClusterView } from "../lib/_cluster-view.ts";
import { MAX_CLIENTS } from "../lib/_dashboard.ts";
import { EVENTS } from "../lib/topics.ts";
import { launchCluster, layoutOf, makeNode, startManager, via } from "./cluster-helpers.ts";
import { type Child, spawnChild, waitFor } from "./helpers.ts";

// What the functions run in the page use of it (the repository's tsconfig has no DOM types).
interface Elem {
  textContent: string | null;
  className: string;
  dataset: Record<string, string | undefined>;
  querySelectorAll(selector: string): Iterable<Elem>;
}
declare const document: {
  querySelector(selector: string): Elem | null;
  getElementById(id: string): Elem | null;
  documentElement: { scrollWidth: number };
};
declare const window: { downAt?: number };
declare class MutationObserver {
  constructor(callback: () => void);
  observe(target: Elem, options: { childList: boolean; subtree: boolean }): void;
}

const CHROMIUM = Bun.which("chromium") ?? Bun.which("chromium-browser");
if (!CHROMIUM) console.warn("dashboard tests skipped: no chromium (scripts/install-peers.sh test installs it as root)");

const NODE = new URL("./fixtures/dashboard-node.ts", import.meta.url).pathname;
const NAMES = ["manager", "logger", "proxy", "worker-1", "worker-2", "dropper"];

/** Starts Chromium on a free DevTools port; the test's afterEach kills it by its pid. */
async function browser(): Promise<{ browser: Browser; child: Child; dir: string }> {
  const dir = mkdtempSync(join(tmpdir(), "dashboard-chromium-"));
  const child = spawnChild([
    CHROMIUM!,
    "--headless",
    "--no-sandbox", // as root, Chromium refuses to start with its sandbox
    "--disable-gpu",
    "--hide-scrollbars",
    "--no-first-run",
    "--remote-debugging-port=0",
    `--user-data-dir=${dir}`,
    "about:blank",
  ]);
  const [, ws] = await child.waitForLine(/DevTools listening on (ws:\S+)/, 20_000);
  return { browser: await chromium.connectOverCDP(ws!), child, dir };
}

/** The text of each cell of a node's row, by column key. */
function row(page: Page, name: string): Promise<Record<string, string> | null> {
  return page.evaluate((n) => {
    const tr = document.querySelector(`tr[data-node="${n}"]`);
    if (!tr) return null;
    const cells: Record<string, string> = { class: tr.className };
    for (const td of tr.querySelectorAll("td")) cells[td.dataset.k!] = td.textContent ?? "";
    return cells;
  }, name);
}

const allUp = (page: Page) =>
  page.waitForFunction(
    (names) =>
      names.every((n) => document.querySelector(`tr[data-node="${n}"] td[data-k=state]`)?.textContent === "up"),
    NAMES,
    { timeout: 20_000 },
  );

/** A counter of a node's /metrics. */
async function metric(url: string, name: string): Promise<number> {
  const text = await (await fetch(new URL("/metrics", url))).text();
  return Number(new RegExp(`^${name}\\{[^}]*\\} (\\S+)$`, "m").exec(text)?.[1]);
}

describe.skipIf(!CHROMIUM)("the dashboard in Chromium", () => {
  test("shows every node up with its rates, a killed worker down within 2 s, and drops as /metrics counts them", async () => {
    const dir = mkdtempSync(join(tmpdir(), "dashboard-cluster-"));
    const node = (type: string, env: Record<string, string> = {}) => ({ type, ip: "127.0.0.1", script: NODE, env });
    const file = join(dir, "cluster.json");
    writeFileSync(
      file,
      JSON.stringify({
        nodes: {
          manager: node("manager"),
          logger: { ...node("logger"), port: 1 },
          proxy: node("proxy"),
          "worker-1": node("worker"),
          "worker-2": node("worker"),
          dropper: node("worker", { DROPPER: "1" }),
        },
        logging: { dir: join(dir, "logs") },
      }),
    );
    const cluster = await launchCluster(file, {
      restart: "on-failure",
      onDeath: () => undefined,
      onRestarted: () => undefined,
    });
    await cluster.ready();
    const { browser: b, child, dir: profile } = await browser();
    const newPage = async (width: number, height: number) => {
      const page = await b.contexts()[0]!.newPage();
      await page.setViewportSize({ width, height });
      return page;
    };
    try {
      const managerUrl = cluster.nodes.get("manager")!.metricsUrl!;
      const page = await newPage(1400, 640);
      await page.goto(managerUrl);
      await allUp(page);
      // Rates need two announcements; every node sends and receives something.
      // A node's rates show once the manager has two of its announcements (a dash before that).
      await page.waitForFunction(
        (names) => {
          const value = (n: string, k: string) =>
            Number(document.querySelector(`tr[data-node="${n}"] td[data-k=${k}]`)?.textContent);
          return (
            value("logger", "logReceived") > 0 && names.every((n) => value(n, "eventsOut") + value(n, "eventsIn") > 0)
          );
        },
        NAMES,
        { timeout: 10_000 },
      );
      const rows = Object.fromEntries(await Promise.all(NAMES.map(async (n) => [n, (await row(page, n))!])));
      for (const name of NAMES) {
        expect(rows[name].state).toBe("up");
        expect(Number(rows[name].eventsOut) + Number(rows[name].eventsIn)).toBeGreaterThan(0);
      }
      expect(Number(rows["worker-1"].eventsOut)).toBeGreaterThan(50); // 150 events/s
      expect(Number(rows.manager.eventsIn)).toBeGreaterThan(100); // 2 × 100 pings/s
      expect(Number(rows.proxy.eventsIn)).toBeGreaterThan(25); // 2 × 50 counts/s
      expect(rows.manager.name).toBe("manager (broker)");
      expect(await page.textContent("#broker")).toMatch(/^broker on manager: [1-9]\d* frames\/s in/);

      // Any node serves the page, reading the manager's stream.
      const other = await newPage(1000, 600);
      await other.goto(cluster.nodes.get("worker-1")!.metricsUrl!);
      await allUp(other);
      expect(await other.textContent("#conn")).toBe(`live · from http://${new URL(managerUrl).host}/`);

      // On a phone the table becomes one card per node, nothing wider than the screen.
      const phone = await newPage(390, 844);
      await phone.goto(managerUrl);
      await allUp(phone);
      expect(await phone.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);

      // Drops on purpose: the page shows what /metrics counts, highlighted.
      const dropperUrl = cluster.nodes.get("dropper")!.metricsUrl!;
      process.kill(cluster.nodes.get("dropper")!.proc.pid, "SIGUSR2");
      const drops = await waitFor(async () => {
        const before = await metric(dropperUrl, "zeek_cluster_zeromq_xpub_drops_total");
        await Bun.sleep(300);
        const after = await metric(dropperUrl, "zeek_cluster_zeromq_xpub_drops_total");
        return after > 0 && after === before ? after : undefined; // the flood is over
      }, "the dropper's drops to settle");
      await page.waitForFunction(
        (n) => document.querySelector('tr[data-node="dropper"] td[data-k=xpubDrops]')?.textContent === String(n),
        drops,
        { timeout: 5000 },
      );
      const dropper = (await row(page, "dropper"))!;
      expect(dropper.xpubDrops).toBe(String(await metric(dropperUrl, "zeek_cluster_zeromq_xpub_drops_total")));
      expect(await page.getAttribute('tr[data-node="dropper"] td[data-k=xpubDrops]', "class")).toBe("loss");
      expect(dropper.class).toContain("lossy");
      expect(await page.getAttribute("#summary span", "class")).toBe("loss");

      // A worker killed by its pid is shown down within 2 s, then up again with one restart.
      await page.evaluate(() => {
        new MutationObserver(() => {
          const state = document.querySelector('tr[data-node="worker-2"] td[data-k=state]')?.textContent;
          if (state === "down" && window.downAt === undefined) window.downAt = Date.now();
        }).observe(document.getElementById("nodes")!, { childList: true, subtree: true });
      });
      const killedAt = Date.now();
      process.kill(cluster.nodes.get("worker-2")!.proc.pid, "SIGKILL");
      const downAt = await page.waitForFunction(() => window.downAt, undefined, {
        timeout: 5000,
      });
      const ms = ((await downAt.jsonValue()) as number) - killedAt;
      console.log(`dashboard: worker-2 shown down ${ms} ms after SIGKILL`);
      expect(ms).toBeLessThanOrEqual(2000);
      await page.waitForFunction(
        () => document.querySelector('tr[data-node="worker-2"] td[data-k=restarts]')?.textContent === "1",
        undefined,
        { timeout: 20_000 },
      );
      await allUp(page);

      const shot = process.env.DASHBOARD_SCREENSHOT;
      if (shot) {
        await Bun.sleep(3000); // a few more points on the chart, rates of the restarted worker
        await page.screenshot({ path: shot, fullPage: true });
        console.log(`dashboard: screenshot written to ${shot}`);
      }
    } finally {
      await b.close(); // disconnects; the browser itself ends by its pid
      child.proc.kill("SIGKILL");
      await child.proc.exited;
      await cluster.stop();
      rmSync(dir, { recursive: true, force: true });
      rmSync(profile, { recursive: true, force: true });
    }
  }, 90_000);
});

describe("the dashboard's data", () => {
  test("rates come from two announcements; a new node id is a restart; node_down keeps the counters, not the rates", () => {
    const view = new ClusterView("manager", { manager: "manager", "worker-1": "worker" });
    expect(view.snapshot().nodes.map((n) => n.state)).toEqual(["never", "never"]);
    view.nodeUp("worker-1", "id-1");
    expect(view.accept("worker-1", { at: 10_000, started: 1, eventsOut: 100, xpubDrops: 0 })).toBe(true);
    expect(view.snapshot().nodes[1]!.rates).toBeNull();
    view.accept("worker-1", { at: 12_000, started: 1, eventsOut: 600, xpubDrops: 10 });
    expect(view.snapshot().nodes[1]!.rates?.eventsOut).toBe(250);
    expect(view.tick()[2]).toBe(5); // drops/s cluster-wide
    view.nodeDown("worker-1");
    const down = view.snapshot().nodes[1]!;
    expect([down.state, down.rates, down.totals?.xpubDrops, down.restarts]).toEqual(["down", null, 10, 0]);
    view.nodeUp("worker-1", "id-2");
    view.accept("worker-1", { at: 13_000, started: 2, eventsOut: 5 }); // counters from zero again
    const back = view.snapshot().nodes[1]!;
    expect([back.state, back.restarts, back.rates]).toEqual(["up", 1, null]);
    expect(view.snapshot().summary).toMatchObject({ up: 1, nodes: 2 });
  });

  test("announcements from unknown names, with bad values or out of order are ignored and counted", () => {
    const view = new ClusterView("manager", { manager: "manager", "worker-1": "worker" });
    const bad: [unknown, unknown][] = [
      ["nobody", { at: 1, started: 1 }],
      [42, { at: 1, started: 1 }],
      ["worker-1", { at: 1 }],
      ["worker-1", { at: 1, started: 1, eventsOut: -1 }],
      ["worker-1", { at: 1, started: 1, eventsOut: Number.NaN }],
      ["worker-1", { at: 1, started: 1, eventsOut: "5" }],
      ["worker-1", null],
      ["worker-1", "stats"],
    ];
    for (const [name, stats] of bad) expect(view.accept(name, stats)).toBe(false);
    expect(
      view.accept(
        "worker-1",
        new Map([
          ["at", 5],
          ["started", 1],
          ["__proto__", 1],
        ]),
      ),
    ).toBe(true);
    expect(view.accept("worker-1", { at: 4, started: 1 })).toBe(false); // older than the last one
    expect(view.snapshot().ignored).toBe(bad.length + 1);
  });

  test.each(["broker-bin-v1", "broker-json-v1", "msgpack-v1"])(
    "the manager gathers every node's announcements in %s; a worker's page points at the manager",
    async (eventSerializer) => {
      const layout = layoutOf({ "worker-1": "worker", "worker-2": "worker" });
      const manager = await startManager(layout, { metrics: { port: 0 }, eventSerializer });
      const workers = ["worker-1", "worker-2"].map((name) =>
        makeNode({
          name,
          layout,
          eventSerializer,
          ...via(manager),
          ...(name === "worker-1" ? { metrics: { port: 0 } } : {}),
        }),
      );
      await Promise.all(workers.map((w) => w.start()));
      const pinger = setInterval(() => workers[0]!.publish("zeek.cluster.manager", "ping", [1]), 5);
      try {
        const json = async () =>
          (await (await fetch(new URL("/dashboard.json", manager.metrics.url))).json()) as {
            snapshot: { nodes: { name: string; state: string; rates: { eventsOut: number } | null }[] };
          };
        // worker-2 serves no metrics of its own, and still announces.
        const nodes = await waitFor(async () => {
          const { snapshot } = await json();
          return snapshot.nodes.every((n) => n.state === "up" && n.rates) ? snapshot.nodes : undefined;
        }, "every node up with rates");
        expect(nodes.map((n) => n.name)).toEqual(["manager", "worker-1", "worker-2"]);
        expect(nodes[1]!.rates!.eventsOut).toBeGreaterThan(50);
        expect([manager.stats().msgErrors, (await json()).snapshot]).toMatchObject([0, { ignored: 0 }]);
        const source = `data-source="http://${manager.metrics.target}/"`;
        await waitFor(async () => (await (await fetch(workers[0]!.metrics.url!)).text()).includes(source), source);
        const cors = await fetch(new URL("/dashboard.json", manager.metrics.url));
        expect(cors.headers.get("access-control-allow-origin")).toBe("*");
        expect((await fetch(new URL("/dashboard.json", workers[0]!.metrics.url))).status).toBe(404);
      } finally {
        clearInterval(pinger);
      }
    },
  );

  test("streams: node_down is pushed to them, at most MAX_CLIENTS at a time, and all end when the node stops", async () => {
    const layout = layoutOf({ "worker-1": "worker" });
    const manager = await startManager(layout, { metrics: { port: 0 } });
    const worker = makeNode({ name: "worker-1", layout, ...via(manager) });
    await worker.start();
    await waitFor(() => manager.discovery?.up.has("worker-1"), "worker-1 up");
    const url = new URL("/dashboard/events", manager.metrics.url);
    const streams = await Promise.all(Array.from({ length: MAX_CLIENTS }, () => fetch(url)));
    expect(streams.map((r) => r.status)).toEqual(Array(MAX_CLIENTS).fill(200));
    expect(streams[0]!.headers.get("content-type")).toBe("text/event-stream");
    const refused = await fetch(url);
    expect(refused.status).toBe(503);
    await refused.text();
    const reader = streams[0]!.body!.pipeThrough(new TextDecoderStream()).getReader();
    let text = "";
    const down = new Promise<void>((resolve) => manager.on(EVENTS.nodeDown, () => resolve()));
    await worker.stop();
    await down;
    while (!/"name":"worker-1","type":"worker","state":"down"/.test(text)) text += (await reader.read()).value ?? "";
    const json = (await (await fetch(new URL("/dashboard.json", manager.metrics.url))).json()) as {
      clients: { connected: number; refused: number };
    };
    expect(json.clients).toEqual({ connected: MAX_CLIENTS, refused: 1 });
    await manager.stop(); // would wait for the streams if they did not end
    for (;;) if ((await reader.read()).done) break;
    for (const r of streams.slice(1)) await r.text();
  });
});
