/**
 * @module The HTTP side of metrics: a small Hono app serving `/metrics` (and, on the manager,
 * `/services.json` in Prometheus' HTTP service-discovery format), the health checks `/healthz` and
 * `/readyz` (for systemd, Kubernetes and load balancers), and a server for it on 127.0.0.1.
 */

import { Hono } from "hono";
import { ClusterError } from "./errors.ts";
import { CONTENT_TYPE } from "./metrics.ts";

/** One group of Prometheus HTTP service discovery: scrape targets (`host:port`) and their labels. */
export interface ServiceGroup {
  /** `host:port` of each metrics endpoint. */
  targets: string[];
  /** Labels Prometheus attaches to them. */
  labels: Record<string, string>;
}

/** What `/readyz` answers: whether the node can publish now and, when not, why. */
export interface Readiness {
  /** Connected and ready to publish: `/readyz` answers 200, else 503. */
  ready: boolean;
  /** Where the node is in its life: `starting`, `running`, `stopping` … */
  state: string;
  /** Why it is not ready, in words for an operator (what it waits for, where). */
  reason?: string;
}

/** What the app serves. */
export interface MetricsSource {
  /** The exposition text. */
  metrics(): Promise<string> | string;
  /** The service-discovery groups; leave out where `/services.json` should not exist. */
  services?: () => ServiceGroup[];
  /** More routes, mounted at `/`: a node's dashboard (`/`, and on the manager its stream). */
  dashboard?: Hono;
  /** Whether the node is ready, for `/readyz`; leave out for a server that is ready whenever it answers. */
  readiness?: () => Readiness;
}

/**
 * The Hono app: `GET /metrics`; when `source.services` exists, `GET /services.json`; `GET /healthz`
 * (200 while the process answers: a liveness probe) and `GET /readyz` (200 when `source.readiness`
 * says ready, else 503 with the reason as JSON: a readiness probe); `source.dashboard`'s routes; HEAD
 * works for each; 404 for anything else. Test it without a socket through `app.request("/metrics")`.
 *
 * @example Requesting /metrics without a socket
 * ```ts
 * import { metricsApp } from "./metrics-server.ts";
 *
 * const app = metricsApp({ metrics: () => "# HELP up Up\n# TYPE up gauge\nup 1\n" });
 * const res = await app.request("/metrics");
 * console.log(res.headers.get("content-type")); // "text/plain; version=0.0.4; charset=utf-8"
 * ```
 *
 * @example A readiness probe that fails with its reason
 * ```ts
 * import { metricsApp } from "./metrics-server.ts";
 *
 * const app = metricsApp({
 *   metrics: () => "",
 *   readiness: () => ({ ready: false, state: "starting", reason: "waiting for the broker" }),
 * });
 * const res = await app.request("/readyz");
 * console.log(res.status, await res.json()); // 503 { status: "not ready", state: "starting", reason: "waiting for the broker" }
 * ```
 */
export function metricsApp(source: MetricsSource): Hono {
  const app = new Hono();
  app.get("/metrics", async (c) => c.body(await source.metrics(), 200, { "Content-Type": CONTENT_TYPE }));
  // Probes must see the state of now, never a cached answer of a proxy in between.
  const noStore = { "Cache-Control": "no-store" };
  app.get("/healthz", (c) => c.json({ status: "alive" }, 200, noStore));
  app.get("/readyz", (c) => {
    const { ready, ...rest } = source.readiness?.() ?? { ready: true, state: "running" };
    return c.json({ status: ready ? "ready" : "not ready", ...rest }, ready ? 200 : 503, noStore);
  });
  if (source.dashboard) app.route("/", source.dashboard);
  if (source.services) {
    const services = source.services;
    app.get("/services.json", (c) => c.json(services()));
  }
  return app;
}

/** Options of {@linkcode MetricsServer}. */
export interface MetricsServerOptions {
  /** The TCP port; 0 picks a free one. @default {0} */
  port?: number;
  /** The address to bind. @default {"127.0.0.1"} */
  hostname?: string;
}

/**
 * An HTTP server for a metrics app.
 *
 * @example Serving on a free port
 * ```ts
 * import { MetricsServer, metricsApp } from "./metrics-server.ts";
 *
 * const server = MetricsServer.start(metricsApp({ metrics: () => "# HELP up Up\n# TYPE up gauge\nup 1\n" }));
 * console.log(server.url); // e.g. "http://127.0.0.1:39451/"
 * const res = await fetch(new URL("/metrics", server.url));
 * console.log(res.status, (await res.text()).endsWith("up 1\n")); // 200 true
 * await server.stop();
 * ```
 */
export class MetricsServer {
  readonly #server: ReturnType<typeof Bun.serve>;

  private constructor(server: ReturnType<typeof Bun.serve>) {
    this.#server = server;
  }

  /**
   * Starts serving `app`.
   *
   * @throws {RangeError} a port outside 0–65535.
   * @throws {ClusterError} `METRICS_BIND_FAILED` naming the address when it cannot be bound.
   */
  static start(app: Hono, options: MetricsServerOptions = {}): MetricsServer {
    const { port = 0, hostname = "127.0.0.1" } = options;
    if (!Number.isInteger(port) || port < 0 || port > 65535)
      throw new RangeError(`Invalid metrics option 'port': expected 0 to 65535, got ${port}`);
    try {
      // reusePort off: otherwise Bun (in production mode) lets a second process bind the same port and
      // the kernel splits the scrapes between the two.
      return new MetricsServer(Bun.serve({ fetch: app.fetch, hostname, port, development: false, reusePort: false }));
    } catch (err: unknown) {
      throw new ClusterError(
        "METRICS_BIND_FAILED",
        `Cannot serve metrics on ${hostname}:${port}: ${err instanceof Error ? err.message : String(err)}`,
      );
    }
  }

  /** The bound port. */
  get port(): number {
    return this.#server.port ?? 0;
  }

  /** The bound address. */
  get hostname(): string {
    return this.#server.hostname ?? "127.0.0.1";
  }

  /** The base URL, e.g. `http://127.0.0.1:39451/`. */
  get url(): string {
    return this.#server.url.href;
  }

  /** Stops accepting connections and lets requests in flight finish. */
  async stop(): Promise<void> {
    await this.#server.stop();
  }
}
