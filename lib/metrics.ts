/**
 * @module A small metrics registry: counters, gauges and histograms with labels, rendered in the
 * Prometheus text exposition format 0.0.4. Values can be kept here or read at scrape time.
 */

export type { MetricsServerOptions, MetricsSource, Readiness, ServiceGroup } from "./metrics-server.ts";
// zeek-zmq-cluster/metrics: the registry and text format, the Hono app, and a node's metrics.
export { MetricsServer, metricsApp } from "./metrics-server.ts";
export type { CoreMetricsLevel, MetricsOptions, NodeMetrics, TelemetryOptions } from "./telemetry.ts";
export { DEFAULT_TOPIC_NORMALIZATIONS } from "./telemetry.ts";

/** Label names and values of one series. */
export type Labels = Readonly<Record<string, string>>;

/**
 * The Content-Type of the text exposition format.
 *
 * @example Answering a scrape without the Hono app
 * ```ts
 * import { CONTENT_TYPE, Registry } from "./metrics.ts";
 *
 * const registry = new Registry();
 * const response = new Response(registry.render(), { headers: { "Content-Type": CONTENT_TYPE } });
 * console.log(response.headers.get("content-type")); // "text/plain; version=0.0.4; charset=utf-8"
 * ```
 */
export const CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

/**
 * Zeek's buckets for event sizes (`Cluster::Telemetry::message_size_bounds`), in bytes.
 *
 * @example Payload sizes bucketed as Zeek does, for comparable dashboards
 * ```ts
 * import { MESSAGE_SIZE_BOUNDS, Registry } from "./metrics.ts";
 *
 * const registry = new Registry();
 * const sizes = registry.histogram("app_payload_bytes", "Payload sizes in bytes", MESSAGE_SIZE_BOUNDS);
 * sizes.observe({}, 420);
 * console.log(registry.render().includes('app_payload_bytes_bucket{le="500"} 1')); // true
 * ```
 */
export const MESSAGE_SIZE_BOUNDS: readonly number[] = Object.freeze([10, 50, 100, 500, 1000, 5000, 10000, 50000]);

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

const escapeHelp = (s: string) => s.replace(/\\/g, "\\\\").replace(/\n/g, "\\n");
const escapeLabel = (s: string) => s.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");

/**
 * A sample value as Prometheus writes it (`NaN`, `+Inf`, `-Inf`).
 *
 * @example Values JavaScript would print differently
 * ```ts
 * import { formatValue } from "./metrics.ts";
 *
 * console.log([Infinity, -Infinity, NaN, 0.5].map(formatValue)); // ["+Inf", "-Inf", "NaN", "0.5"]
 * ```
 */
export function formatValue(v: number): string {
  if (Number.isNaN(v)) return "NaN";
  if (!Number.isFinite(v)) return v > 0 ? "+Inf" : "-Inf";
  return String(v);
}

function labelText(labels: Labels): string {
  const parts = Object.entries(labels).map(([k, v]) => `${k}="${escapeLabel(v)}"`);
  return parts.length ? `{${parts.join(",")}}` : "";
}

const keyOf = (labels: Labels) => JSON.stringify(Object.entries(labels).sort(([a], [b]) => (a < b ? -1 : 1)));

function checkLabels(name: string, labels: Labels): void {
  for (const key of Object.keys(labels)) {
    if (!LABEL.test(key) || key.startsWith("__"))
      throw new RangeError(`Invalid label name '${key}' on metric '${name}'`);
  }
}

abstract class Family<V> {
  readonly series: Map<string, { labels: Labels; value: V }> = new Map();
  constructor(
    readonly name: string,
    readonly help: string,
    readonly type: "counter" | "gauge" | "histogram",
  ) {
    if (!NAME.test(name)) throw new RangeError(`Invalid metric name '${name}'`);
  }
  protected entry(labels: Labels, init: () => V): { labels: Labels; value: V } {
    const key = keyOf(labels);
    let e = this.series.get(key);
    if (!e) {
      checkLabels(this.name, labels);
      this.series.set(key, (e = { labels: { ...labels }, value: init() }));
    }
    return e;
  }
  abstract lines(constLabels: Labels): string[];
}

/**
 * A monotonically increasing count. Get one from {@linkcode Registry.counter} so that it is rendered.
 *
 * @example Counting by label
 * ```ts
 * import { Registry } from "./metrics.ts";
 *
 * const registry = new Registry();
 * const pings = registry.counter("app_pings_total", "Pings sent");
 * pings.inc({ peer: "worker-1" });
 * pings.inc({ peer: "worker-1" }, 2);
 * console.log(pings.get({ peer: "worker-1" })); // 3
 * ```
 */
export class Counter extends Family<number> {
  constructor(name: string, help: string) {
    super(name, help, "counter");
    if (!name.endsWith("_total")) throw new RangeError(`Invalid counter name '${name}': counters end in _total`);
  }
  /** Adds `by` (default 1, never negative) to the series with `labels`. */
  inc(labels: Labels = {}, by = 1): void {
    if (!(by >= 0)) throw new RangeError(`Cannot decrease counter '${this.name}' by ${by}`);
    this.entry(labels, () => 0).value += by;
  }
  /** The current value of a series. */
  get(labels: Labels = {}): number {
    return this.series.get(keyOf(labels))?.value ?? 0;
  }
  lines(c: Labels): string[] {
    return [...this.series.values()].map(
      (e) => `${this.name}${labelText({ ...c, ...e.labels })} ${formatValue(e.value)}`,
    );
  }
}

/**
 * A value that goes up and down. Get one from {@linkcode Registry.gauge} so that it is rendered.
 *
 * @example A queue length, set whenever it changes
 * ```ts
 * import { Registry } from "./metrics.ts";
 *
 * const registry = new Registry();
 * const depth = registry.gauge("app_queue_depth", "Items waiting");
 * depth.set({ queue: "in" }, 12);
 * console.log(registry.render({ node: "worker-1" }).split("\n")[2]); // 'app_queue_depth{node="worker-1",queue="in"} 12'
 * ```
 */
export class Gauge extends Family<number> {
  constructor(name: string, help: string) {
    super(name, help, "gauge");
  }
  /** Sets the series with `labels`. */
  set(labels: Labels, value: number): void {
    this.entry(labels, () => 0).value = value;
  }
  lines(c: Labels): string[] {
    return [...this.series.values()].map(
      (e) => `${this.name}${labelText({ ...c, ...e.labels })} ${formatValue(e.value)}`,
    );
  }
}

/**
 * Observations counted into cumulative buckets, with their sum and count. Get one from
 * {@linkcode Registry.histogram} so that it is rendered.
 *
 * @example Round-trip times in seconds
 * ```ts
 * import { Registry } from "./metrics.ts";
 *
 * const registry = new Registry();
 * const rtt = registry.histogram("app_rtt_seconds", "Round-trip times", [0.001, 0.01, 0.1]);
 * rtt.observe({}, 0.004);
 * rtt.observe({}, 0.2);
 * console.log(registry.render().includes('app_rtt_seconds_bucket{le="0.01"} 1')); // true: 0.2 is only in +Inf
 * ```
 */
export class Histogram extends Family<{ counts: number[]; sum: number; count: number }> {
  readonly buckets: readonly number[];
  constructor(name: string, help: string, buckets: readonly number[]) {
    super(name, help, "histogram");
    if (buckets.some((b, i) => i > 0 && b <= buckets[i - 1]!))
      throw new RangeError(`Invalid buckets of '${name}': they must increase`);
    this.buckets = [...buckets];
  }
  /** Records one observation in the series with `labels`. */
  observe(labels: Labels, value: number): void {
    const e = this.entry(labels, () => ({ counts: this.buckets.map(() => 0), sum: 0, count: 0 })).value;
    for (let i = 0; i < this.buckets.length; i++) if (value <= this.buckets[i]!) e.counts[i]!++;
    e.sum += value;
    e.count++;
  }
  lines(c: Labels): string[] {
    return [...this.series.values()].flatMap(({ labels, value }) => {
      const l = { ...c, ...labels };
      return [
        ...this.buckets.map(
          (b, i) => `${this.name}_bucket${labelText({ ...l, le: formatValue(b) })} ${value.counts[i]}`,
        ),
        `${this.name}_bucket${labelText({ ...l, le: "+Inf" })} ${value.count}`,
        `${this.name}_sum${labelText(l)} ${formatValue(value.sum)}`,
        `${this.name}_count${labelText(l)} ${value.count}`,
      ];
    });
  }
}

/** A family whose samples are read when the registry is rendered. */
class Collected extends Family<never> {
  constructor(
    name: string,
    help: string,
    type: "counter" | "gauge",
    readonly read: () => number | [Labels, number][],
  ) {
    super(name, help, type);
    if (type === "counter" && !name.endsWith("_total"))
      throw new RangeError(`Invalid counter name '${name}': counters end in _total`);
  }
  lines(c: Labels): string[] {
    const v = this.read();
    const samples: [Labels, number][] = typeof v === "number" ? [[{}, v]] : v;
    return samples.map(([labels, value]) => `${this.name}${labelText({ ...c, ...labels })} ${formatValue(value)}`);
  }
}

/**
 * A set of metric families, rendered in registration order.
 *
 * @example A counter and a gauge read at scrape time
 * ```ts
 * import { Registry } from "./metrics.ts";
 *
 * const registry = new Registry();
 * const events = registry.counter("zeek_cluster_core_outgoing_events_total", "Events published");
 * events.inc();
 * registry.collect("zeek_cluster_zeromq_onloop_queue_depth", "gauge", "Events waiting", () => 0);
 * console.log(registry.render({ node: "worker-1" }));
 * ```
 */
export class Registry {
  readonly #families = new Map<string, Family<unknown>>();

  #add<F extends Family<unknown>>(family: F): F {
    if (this.#families.has(family.name)) throw new RangeError(`Metric '${family.name}' is already registered`);
    this.#families.set(family.name, family);
    return family;
  }

  /** Registers a counter (its name ends in `_total`). */
  counter(name: string, help: string): Counter {
    return this.#add(new Counter(name, help));
  }

  /** Registers a gauge. */
  gauge(name: string, help: string): Gauge {
    return this.#add(new Gauge(name, help));
  }

  /** Registers a histogram with the given upper bounds (`+Inf` is added). */
  histogram(name: string, help: string, buckets: readonly number[]): Histogram {
    return this.#add(new Histogram(name, help, buckets));
  }

  /** Registers a counter or gauge whose value(s) `read` returns at each render. */
  collect(name: string, type: "counter" | "gauge", help: string, read: () => number | [Labels, number][]): void {
    this.#add(new Collected(name, help, type, read));
  }

  /** The exposition text; `constLabels` (e.g. `{ node: "manager" }`) go first on every sample. */
  render(constLabels: Labels = {}): string {
    checkLabels("(constant labels)", constLabels);
    let out = "";
    for (const f of this.#families.values()) {
      const lines = f.lines(constLabels);
      if (lines.length === 0) continue;
      out += `# HELP ${f.name} ${escapeHelp(f.help)}\n# TYPE ${f.name} ${f.type}\n${lines.join("\n")}\n`;
    }
    return out;
  }
}
