// A control for the publisher's event-loop lag: a process that does no messaging, just keeps its main
// thread busy in the same rhythm as the benchmark's publisher (short bursts of work, then
// setImmediate), measuring lag with the same 5 ms probe. Run next to a saturated chain, it shows how
// much lag the machine itself imposes on a busy thread. `stop` on stdin ends it.
import { lagProbe } from "../proc.ts";

const lag = lagProbe();
let stop = false;
(async () => {
  for await (const _ of Bun.stdin.stream()) stop = true;
  stop = true;
})();
console.log(JSON.stringify({ type: "ready" }));
let spin = 0;
while (!stop) {
  const until = performance.now() + 0.2; // about what 1000 publishes take
  while (performance.now() < until) spin++;
  await new Promise((resolve) => setImmediate(resolve));
}
console.log(JSON.stringify({ type: "result", ...lag.stop(), spin }));
