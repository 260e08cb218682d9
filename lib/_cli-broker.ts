/**
 * @module `broker`: Zeek's central XPUB/XSUB broker on its own, for any ZeroMQ peer (Zeek nodes, this
 * library, pyzmq): an XSUB socket publishers connect to and an XPUB socket subscribers connect to.
 * `scripts/proxy.ts` (`npm run proxy`) runs this command.
 */

import { Option } from "commander";
import { type Cli, exits, positive } from "./_cli-program.ts";
import { stopSignals } from "./_cli-signals.ts";
import type { ZeroMQOptions } from "./config.ts";
import { Broker } from "./proxy.ts";

interface BrokerOptions {
  xsub?: string;
  xpub?: string;
  ioThreads?: number;
  drop?: boolean;
  ipv6: boolean;
  stats?: number;
  debug?: boolean;
}

function printStats(broker: Broker): Promise<void> {
  return broker.statistics().then(
    (s) =>
      console.log(
        `broker: in ${s.frontend.messagesReceived} frames/${s.frontend.bytesReceived} B from publishers, ` +
          `out ${s.backend.messagesSent} frames/${s.backend.bytesSent} B to subscribers`,
      ),
    (err: Error) => console.error(`broker: ${err.message}`),
  );
}

async function run(o: BrokerOptions): Promise<number> {
  const options: ZeroMQOptions = {};
  if (o.xsub !== undefined) options.listenXsubEndpoint = o.xsub;
  if (o.xpub !== undefined) options.listenXpubEndpoint = o.xpub;
  if (o.ioThreads !== undefined) options.proxyIoThreads = o.ioThreads;
  if (o.drop) options.listenXpubNodrop = false;
  if (!o.ipv6) options.ipv6 = false;
  if (o.debug) options.debugFlags = 2;
  let broker: Broker;
  try {
    broker = new Broker(options);
  } catch (err: unknown) {
    // A malformed endpoint is a usage error: the message names the option and Zeek's name for it.
    console.error(`broker: ${(err as Error).message}`);
    return 2;
  }
  // Listening before the bind: a Ctrl-C during start-up still stops the broker cleanly.
  const signals = stopSignals("broker");
  try {
    let endpoints: { xsub: string; xpub: string };
    try {
      endpoints = await broker.start();
    } catch (err: unknown) {
      const message = (err as Error).message;
      const hint = /EADDRINUSE/.test(message)
        ? "; another broker may run there: stop it, or pick other --xsub/--xpub"
        : "";
      console.error(`broker: ${message}${hint}`);
      return 1;
    }
    console.log(`broker: XSUB ${endpoints.xsub} (publishers connect here)`);
    console.log(`broker: XPUB ${endpoints.xpub} (subscribers connect here)`);
    console.log("broker: running; Ctrl-C stops it");
    const timer = o.stats ? setInterval(() => printStats(broker), o.stats * 1000) : undefined;
    const why = await signals.stop.promise;
    clearInterval(timer);
    console.log(`broker: ${why}, stopping`);
    await broker.stop();
    console.log("broker: stopped");
    return 0;
  } finally {
    signals.dispose();
  }
}

/** Adds `broker`. */
export function register({ program }: Cli): void {
  program
    .command("broker")
    .description("run Zeek's central XPUB/XSUB broker on its own, until Ctrl-C")
    .addOption(
      new Option(
        "--xsub <endpoint>",
        "XSUB bind endpoint, publishers connect here (Zeek's listen_xsub_endpoint)",
      ).default(undefined, "tcp://127.0.0.1:5556"),
    )
    .addOption(
      new Option(
        "--xpub <endpoint>",
        "XPUB bind endpoint, subscribers connect here (Zeek's listen_xpub_endpoint)",
      ).default(undefined, "tcp://127.0.0.1:5555"),
    )
    .addOption(
      new Option("--io-threads <n>", "libzmq I/O threads (default: 2, Zeek's proxy_io_threads)").argParser(
        positive("threads"),
      ),
    )
    .option("--drop", "let the XPUB drop for slow subscribers instead of stalling (listen_xpub_nodrop=F)")
    .option("--no-ipv6", "do not enable ZMQ_IPV6")
    .addOption(
      new Option("--stats <seconds>", "print the broker's traffic counters at this interval").argParser(
        positive("seconds"),
      ),
    )
    .option("--debug", "print thread events to stderr")
    .addHelpText(
      "after",
      "\nEnvironment overrides such as ZEEK_CLUSTER_BACKEND_ZEROMQ_LISTEN_XSUB_ENDPOINT apply when an option is not given.",
    )
    .action(exits("broker", run));
}
