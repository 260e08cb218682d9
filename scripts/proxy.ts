#!/usr/bin/env bun
/**
 * Runs the central XPUB/XSUB broker on its own, for any ZeroMQ peer (Zeek nodes, this library, pyzmq).
 *
 *   bun scripts/proxy.ts [--xsub tcp://127.0.0.1:5556] [--xpub tcp://127.0.0.1:5555] [options]
 *
 * Ctrl-C (SIGINT) or SIGTERM stops it cleanly.
 */

import { parseArgs } from "node:util";
import type { ZeroMQOptions } from "../lib/config.ts";
import { Broker } from "../lib/proxy.ts";

const USAGE = `Usage: bun scripts/proxy.ts [options]

Runs Zeek's central ZeroMQ broker: an XSUB socket publishers connect to and an XPUB socket
subscribers connect to, joined by zmq_proxy_steerable.

Options:
  --xsub <endpoint>     XSUB bind endpoint (default tcp://127.0.0.1:5556, Zeek's listen_xsub_endpoint)
  --xpub <endpoint>     XPUB bind endpoint (default tcp://127.0.0.1:5555, Zeek's listen_xpub_endpoint)
  --io-threads <n>      libzmq I/O threads (default 2, Zeek's proxy_io_threads)
  --drop                let the XPUB drop for slow subscribers instead of stalling (listen_xpub_nodrop=F)
  --no-ipv6             do not enable ZMQ_IPV6
  --stats <seconds>     print the proxy's traffic counters at this interval
  --debug               print thread events to stderr
  -h, --help            show this help

Environment overrides such as ZEEK_CLUSTER_BACKEND_ZEROMQ_LISTEN_XSUB_ENDPOINT apply when an option
is not given.`;

function main(): Promise<number> | number {
  let args;
  try {
    args = parseArgs({
      options: {
        xsub: { type: "string" },
        xpub: { type: "string" },
        "io-threads": { type: "string" },
        drop: { type: "boolean" },
        "no-ipv6": { type: "boolean" },
        stats: { type: "string" },
        debug: { type: "boolean" },
        help: { type: "boolean", short: "h" },
      },
      strict: true,
    }).values;
  } catch (err: unknown) {
    console.error(`${(err as Error).message}\n\n${USAGE}`);
    return 2;
  }
  if (args.help) {
    console.log(USAGE);
    return 0;
  }
  const options: ZeroMQOptions = {};
  if (args.xsub !== undefined) options.listenXsubEndpoint = args.xsub;
  if (args.xpub !== undefined) options.listenXpubEndpoint = args.xpub;
  if (args["io-threads"] !== undefined) options.proxyIoThreads = Number(args["io-threads"]);
  if (args.drop) options.listenXpubNodrop = false;
  if (args["no-ipv6"]) options.ipv6 = false;
  if (args.debug) options.debugFlags = 2;
  const statsSeconds = args.stats === undefined ? 0 : Number(args.stats);
  if (!(statsSeconds >= 0)) {
    console.error(`Invalid --stats: expected a number of seconds, got '${args.stats}'`);
    return 2;
  }
  let broker: Broker;
  try {
    broker = new Broker(options);
  } catch (err: unknown) {
    console.error((err as Error).message);
    return 2;
  }
  return run(broker, statsSeconds);
}

async function run(broker: Broker, statsSeconds: number): Promise<number> {
  let endpoints;
  try {
    endpoints = await broker.start();
  } catch (err: unknown) {
    console.error(`broker: ${(err as Error).message}`);
    return 1;
  }
  console.log(`broker: XSUB ${endpoints.xsub} (publishers connect here)`);
  console.log(`broker: XPUB ${endpoints.xpub} (subscribers connect here)`);
  console.log("broker: running; Ctrl-C stops it");
  const timer =
    statsSeconds > 0
      ? setInterval(async () => {
          const s = await broker.statistics().catch((err: Error) => err);
          if (s instanceof Error) return console.error(`broker: ${s.message}`);
          console.log(
            `broker: in ${s.frontend.messagesReceived} frames/${s.frontend.bytesReceived} B from publishers, ` +
              `out ${s.backend.messagesSent} frames/${s.backend.bytesSent} B to subscribers`,
          );
        }, statsSeconds * 1000)
      : undefined;
  const signal = await new Promise<string>((resolve) => {
    process.once("SIGINT", () => resolve("SIGINT"));
    process.once("SIGTERM", () => resolve("SIGTERM"));
  });
  clearInterval(timer);
  console.log(`broker: ${signal}, stopping`);
  await broker.stop();
  console.log("broker: stopped");
  return 0;
}

process.exitCode = await main();
