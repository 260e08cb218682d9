/**
 * @module Private: the control socket of a running launcher. HTTP over a Unix socket in the run
 * directory (`_run-dir.ts`), served by a Hono app: `GET /status`, `POST /stop`,
 * `POST /nodes/<name>/restart`. Only the launcher's user can reach it (the run directory is 0700),
 * so it needs no authentication. `cluster status`, `stop`, `restart` and `top` are its clients.
 */

import { resolve } from "node:path";
import { Hono } from "hono";
import type { NodeStatus } from "./_node-status.ts";
import { claimRunDir, type RunDir } from "./_run-dir.ts";
import type { Cluster } from "./launcher.ts";

/** What `GET /status` answers (and `cluster status --json` prints). */
export interface ClusterStatus {
  /** The cluster file. */
  file: string;
  runDir: string;
  /** The launcher's pid. */
  pid: number;
  /** When the launcher started its nodes (ISO 8601). */
  startedAt: string;
  /** Whether every node started here is up (has seen node_up for every other node). */
  ready: boolean;
  /** The ms from launch until the cluster was first ready, or null. */
  readyMs: number | null;
  /** Whether the launcher is stopping the cluster. */
  stopping: boolean;
  nodes: NodeStatus[];
}

/** A launcher's control socket. */
export interface Control {
  readonly dir: RunDir;
  /** Starts answering for `cluster`; `stop(why)` begins the launcher's ordered stop. */
  serve(cluster: Cluster, stop: (why: string) => void): void;
  /** Stops answering and gives the run directory up. */
  close(): Promise<void>;
}

/**
 * The control app of `cluster`. `stop(why)` begins the launcher's ordered stop (the launcher exits
 * once it is done); `info` says what the status shows beyond the cluster's own.
 */
export function controlApp(
  cluster: Cluster,
  info: { file: string; runDir: string; startedAt: string; readyMs: () => number | null; stopping: () => boolean },
  stop: (why: string) => void,
): Hono {
  const app = new Hono();
  app.get("/status", (c) => {
    const nodes = cluster.status();
    const status: ClusterStatus = {
      file: info.file,
      runDir: info.runDir,
      pid: process.pid,
      startedAt: info.startedAt,
      ready: nodes.length > 0 && nodes.every((n) => n.state === "up"),
      readyMs: info.readyMs(),
      stopping: info.stopping(),
      nodes,
    };
    return c.json(status);
  });
  app.post("/stop", (c) => {
    stop("stop requested (cluster stop)");
    return c.json({ stopping: true }, 202);
  });
  app.post("/nodes/:name/restart", async (c) => {
    const name = c.req.param("name");
    if (!cluster.nodes.has(name))
      return c.json({ error: `Unknown node '${name}': the cluster has ${[...cluster.nodes.keys()].join(", ")}` }, 404);
    try {
      const node = await cluster.restart(name);
      return c.json({ name, pid: node.proc.pid, restarts: node.restarts });
    } catch (err: unknown) {
      return c.json({ error: err instanceof Error ? err.message : String(err) }, 409);
    }
  });
  app.notFound((c) => c.json({ error: `No such control request: ${c.req.method} ${c.req.path}` }, 404));
  return app;
}

/**
 * Takes run directory `dir` for the launcher of `file` (its pid, the file's path) and returns its
 * control socket, which answers once `serve()` is called.
 *
 * @throws {Error} another launcher runs from `dir`.
 */
export function openControl(dir: RunDir, file: string): Control {
  const release = claimRunDir(dir, file);
  const startedAt = new Date().toISOString();
  let server: ReturnType<typeof Bun.serve> | undefined;
  return {
    dir,
    serve(cluster, stop) {
      let readyMs: number | null = null;
      cluster.ready().then(
        (ms) => void (readyMs = ms),
        () => undefined,
      );
      // Whoever stops the cluster (this socket, a signal, --duration, a node that died), status says so.
      const info = {
        file: resolve(file),
        runDir: dir.dir,
        startedAt,
        readyMs: () => readyMs,
        stopping: () => cluster.stopping,
      };
      const app = controlApp(cluster, info, stop);
      server = Bun.serve({ unix: dir.socket, fetch: app.fetch, development: false });
    },
    async close() {
      await server?.stop(true);
      release();
    },
  };
}

/** Thrown by {@linkcode request} when no launcher answers at the run directory. */
export class NoLauncherError extends Error {}

/**
 * Sends a control request to the launcher of `dir` and returns its JSON answer.
 *
 * @throws {NoLauncherError} nothing listens on the control socket.
 * @throws {Error} the launcher answered with an error (its message), or did not answer within `timeoutMs`.
 */
export async function request<T>(dir: RunDir, method: "GET" | "POST", path: string, timeoutMs = 5000): Promise<T> {
  let res: Response;
  try {
    res = await fetch(`http://launcher${path}`, { method, unix: dir.socket, signal: AbortSignal.timeout(timeoutMs) });
  } catch (err: unknown) {
    const e = err as NodeJS.ErrnoException;
    if (e.name === "TimeoutError")
      throw new Error(`the launcher at ${dir.socket} did not answer within ${timeoutMs} ms`);
    throw new NoLauncherError(
      `no cluster runs from ${dir.dir} (nothing answers on ${dir.socket}); start one with \`cluster up FILE --detach\``,
    );
  }
  const body = (await res.json()) as T & { error?: string };
  if (!res.ok) throw new Error(body.error ?? `the launcher answered ${res.status}`);
  return body;
}
