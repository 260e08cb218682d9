/**
 * @module The broker's metrics, on the node that runs it: the 8 `STATISTICS` counters of the proxy (read
 * by `telemetry.ts` at scrape time), the disconnects of its sockets, and its overflows without NODROP.
 * Not part of the public API.
 */

import type { Labels, Registry } from "./metrics.ts";
import type { BrokerCounters, ProxyStatistics } from "./proxy.ts";

const PROXY_SIDES = ["frontend", "backend"] as const;
const PROXY_FIELDS = [
  ["messagesReceived", "messages_received"],
  ["bytesReceived", "bytes_received"],
  ["messagesSent", "messages_sent"],
  ["bytesSent", "bytes_sent"],
] as const;

/**
 * Registers the broker's families in `r`. `statistics()` gives the last `STATISTICS` reply read, and
 * `counters()` the broker's own counters; either is undefined while the node runs no broker, and the
 * families then have no samples.
 */
export function brokerMetrics(
  r: Registry,
  statistics: () => ProxyStatistics | undefined,
  counters: () => BrokerCounters | undefined,
): void {
  for (const side of PROXY_SIDES) {
    for (const [field, suffix] of PROXY_FIELDS) {
      r.collect(
        `zeek_cluster_zeromq_proxy_${side}_${suffix}_total`,
        "counter",
        `Proxy ${side} ${suffix.replace("_", " ")} (per frame)`,
        () => {
          const s = statistics();
          return s ? [[{}, s[side][field]]] : [];
        },
      );
    }
  }
  const read = (f: (c: BrokerCounters) => [Labels, number][]) => () => {
    const c = counters();
    return c ? f(c) : [];
  };
  r.collect(
    "zeek_cluster_zeromq_proxy_xpub_overflows_total",
    "counter",
    "Times a message found a subscriber's queue full at the broker without NODROP and went to the others only; a lower bound of the messages dropped",
    read((c) => [[{}, c.xpubOverflows]]),
  );
  r.collect(
    "zeek_cluster_zeromq_proxy_disconnects_total",
    "counter",
    "Connections to the broker's XSUB (publishers) and XPUB (subscribers) that ended: peers gone, silent beyond the heartbeat bound, or beyond maxMessageSize / maxTopicLength",
    read((c) => [
      [{ socket: "xsub" }, c.xsubDisconnects],
      [{ socket: "xpub" }, c.xpubDisconnects],
    ]),
  );
}
