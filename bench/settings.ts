/**
 * @module The settings the bench runs beside Zeek's defaults: the bounded-queue setting for BLOCK at
 * saturation (issue 13: p99 latency ≤ 100 ms with a documented setting). docs/performance.md explains
 * the choice; change both together.
 */

import type { ZeroMQOptions } from "../lib/config.ts";

/** Options for publisher and subscriber (and the broker) in the "bounded queues" rows. */
export const BOUNDED_QUEUES: { label: string; node: Partial<ZeroMQOptions>; broker: Partial<ZeroMQOptions> } = {
  label: "HWM 300 and 128 KiB socket buffers on nodes and broker",
  // Fewer messages may wait in each queue (libzmq's pipes and the kernel's socket buffers), so an event
  // waits behind fewer others at saturation. Buffers below about twice loopback's 64 KiB segment make
  // TCP wait for window probes: 64 KiB gave p99 ≈ 250 ms, 8 KiB stalls of seconds.
  node: { xpubSndhwm: 300, xsubRcvhwm: 300, xpubSndbuf: 131_072, xsubRcvbuf: 131_072 },
  broker: { listenXsubRcvhwm: 300, listenXpubSndhwm: 300, listenXsubRcvbuf: 131_072, listenXpubSndbuf: 131_072 },
};
