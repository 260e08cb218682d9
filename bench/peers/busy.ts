// A control for the publisher's event-loop lag: a process that does no messaging, just keeps its main
// thread busy in the same rhythm as the benchmark's publisher (short bursts of work, then
// setImmediate), measuring lag with the same 5 ms probe. Run next to a saturated chain, it shows how
// much lag the machine itself imposes on a busy thread. `stop` on stdin ends it.
const lags: number[] = [];
let expected = performance.now() + 5;
const probe = setInterval(() => {
  const now = performance.now();
  lags.push(Math.max(0, now - expected));
  expected = now + 5;
}, 5);
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
clearInterval(probe);
lags.sort((a, b) => a - b);
console.log(JSON.stringify({ type: "result", maxLagMs: lags.at(-1) ?? 0, lagP99Ms: lags[Math.floor(lags.length * 0.99)] ?? 0, spin }));
