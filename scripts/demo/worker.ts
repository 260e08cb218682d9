// A demo worker: once the manager is up it pings it 100 times a second, and logs every round trip
// (ping → manager → pong) to pings.log on the logger.
import { defineStream, runNode } from "../../mod.ts";

const PINGS = defineStream({
  id: "Demo::PINGS",
  path: "pings",
  fields: { ts: "time", worker: "string", seq: "count", rtt: "interval" },
});

let seq = 0;
let timer: Timer | undefined;
let done = false;
const node = await runNode((node) => {
  node.on("Cluster::node_up", (name: string) => {
    if (name !== "manager" || timer) return;
    timer = setInterval(() => node.publish("zeek.cluster.manager", "ping", [node.name, seq++, performance.now()]), 10);
  });
  node.on("Cluster::node_down", (name: string) => {
    if (name === "manager") timer = void clearInterval(timer);
  });
  node.on("zeek_done", () => {
    timer = void clearInterval(timer);
    done = true; // pongs still on their way are not logged: the log writer closes next
  });
  node.on("pong", (n: number, sentAt: number) => {
    if (!done)
      node.log(PINGS, { ts: Date.now() / 1000, worker: node.name, seq: n, rtt: (performance.now() - sentAt) / 1000 });
  });
});
console.log(`${node.name} up: pinging the manager once it is up`);
