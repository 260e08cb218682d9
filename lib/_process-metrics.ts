/**
 * @module The process metrics every node serves beside Zeek's (Prometheus' `process_*` names): memory,
 * CPU, open files, start time, and the event loop's lag. Not part of the public API.
 */

import { readdirSync, readFileSync } from "node:fs";
import type { Registry } from "./metrics.ts";

// One event-loop lag probe per process: the delay of a 100 ms timer beyond its schedule.
const lag = { last: 0, max: 0, recent: 0 };
let probe: Timer | undefined;
function lagProbe(): typeof lag {
  if (!probe) {
    let expected = performance.now() + 100;
    probe = setInterval(() => {
      const now = performance.now();
      lag.last = Math.max(0, now - expected) / 1000;
      lag.max = Math.max(lag.max, lag.last);
      lag.recent = Math.max(lag.recent, lag.last);
      expected = now + 100;
    }, 100).unref();
  }
  return lag;
}

/**
 * The largest event-loop lag, in seconds, since the last call: what a node announces to the dashboard
 * each second, kept apart from the max that a scrape resets.
 *
 * @example Nothing has lagged yet
 * ```ts
 * import { takeLag } from "./_process-metrics.ts";
 *
 * console.log(takeLag() >= 0); // true
 * ```
 */
export function takeLag(): number {
  const probe = lagProbe();
  const recent = Math.max(probe.recent, probe.last);
  probe.recent = 0;
  return recent;
}

/**
 * Adds the process metrics to `r`.
 *
 * @example The resident memory is one of them
 * ```ts
 * import { processMetrics } from "./_process-metrics.ts";
 * import { Registry } from "./metrics.ts";
 *
 * const r = new Registry();
 * processMetrics(r);
 * console.log(r.render().includes("process_resident_memory_bytes")); // true
 * ```
 */
export function processMetrics(r: Registry): void {
  const probe = lagProbe();
  const linux = process.platform === "linux";
  r.collect("process_resident_memory_bytes", "gauge", "Resident memory size", () => process.memoryUsage().rss);
  if (linux) {
    r.collect(
      "process_virtual_memory_bytes",
      "gauge",
      "Virtual memory size",
      () => Number(readFileSync("/proc/self/statm", "utf8").split(" ")[0]) * 4096,
    );
    r.collect(
      "process_open_fds",
      "gauge",
      "Number of open file descriptors",
      () => readdirSync("/proc/self/fd").length,
    );
  }
  r.collect(
    "process_cpu_user_seconds_total",
    "counter",
    "Total user CPU time spent",
    () => process.cpuUsage().user / 1e6,
  );
  r.collect(
    "process_cpu_system_seconds_total",
    "counter",
    "Total system CPU time spent",
    () => process.cpuUsage().system / 1e6,
  );
  r.collect("process_cpu_seconds_total", "counter", "Total user and system CPU time spent", () => {
    const cpu = process.cpuUsage();
    return (cpu.user + cpu.system) / 1e6;
  });
  r.collect("process_start_time_seconds", "gauge", "Start time of the process since the Unix epoch", () =>
    Math.floor((Date.now() - performance.now()) / 1000),
  );
  r.collect("process_event_loop_lag_seconds", "gauge", "Event-loop lag at the last 100 ms probe", () => probe.last);
  r.collect("process_event_loop_lag_max_seconds", "gauge", "Largest event-loop lag seen since the last scrape", () => {
    const max = probe.max;
    probe.max = probe.last;
    return max;
  });
}
