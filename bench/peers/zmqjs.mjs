// Baseline peer for `bun run bench`: the same pub → broker → sub chain written the way a zeromq.js user
// would write it, run under Node (zeromq.js's own runtime; it aborts under Bun).
//
//   node bench/peers/zmqjs.mjs '{"role":"broker"}'
//   node bench/peers/zmqjs.mjs '{"role":"pub","xsub":"tcp://…","count":100000,"topic":"bench.ping"}'
//   node bench/peers/zmqjs.mjs '{"role":"sub","xpub":"tcp://…","count":100000,"topic":"bench."}'
//
// Talks JSON lines on stdout (see bench/proc.ts): {"type":"ready",…} once set up, {"type":"result",…} at the end.
// The publisher says {"type":"armed"} after its warm-up and starts on `go` on stdin; publisher and
// subscriber exit on `stop` (or stdin's end), so the caller can read their CPU time around the run.

import { hostname } from "node:os";
import { Packr, Unpackr } from "msgpackr";
import { XPublisher, XSubscriber, Proxy as ZmqProxy } from "zeromq";

const spec = JSON.parse(process.argv[2] ?? "{}");
const say = (obj) => process.stdout.write(`${JSON.stringify(obj)}\n`);
// CLOCK_MONOTONIC in µs: the same clock the Bun and C peers read, so latencies compare across processes.
const nowUs = () => Number(process.hrtime.bigint() / 1000n);
const peakRssBytes = () => process.resourceUsage().maxRSS * 1024;

// Commands on stdin, read only by the roles that wait for one (a listener keeps Node running).
let stdinText = "";
let stdinWaiters;
function command(word) {
  if (!stdinWaiters) {
    stdinWaiters = [];
    process.stdin.setEncoding("utf8");
    const wake = () => {
      for (const w of stdinWaiters.splice(0)) w();
    };
    process.stdin.on("data", (chunk) => ((stdinText += chunk), wake()));
    process.stdin.on("end", () => ((stdinText += "\ngo\nstop\n"), wake()));
  }
  return new Promise((resolve) => {
    const check = () => (stdinText.includes(word) ? resolve() : stdinWaiters.push(check));
    check();
  });
}

async function broker() {
  const xsub = new XSubscriber({ linger: 0 });
  // Zeek's listen_xpub_nodrop defaults to true: block the proxy rather than drop on a slow subscriber.
  const xpub = new XPublisher({ noDrop: true, linger: 0 });
  await xsub.bind("tcp://127.0.0.1:*");
  await xpub.bind("tcp://127.0.0.1:*");
  const endpoints = { xsub: xsub.lastEndpoint, xpub: xpub.lastEndpoint };
  // zeromq.js's Proxy runs zmq_proxy_steerable on a libuv worker thread: the fastest broker it offers.
  const proxy = new ZmqProxy(xsub, xpub);
  const running = proxy.run();
  process.once("SIGTERM", () => proxy.terminate());
  say({ type: "ready", ...endpoints });
  await running;
  process.exit(0);
}

async function pub() {
  const { xsub, count, topic = "bench.ping" } = spec;
  // noDrop + HWM 1000: send() waits instead of dropping, like our BLOCK overflow policy, so the run is lossless.
  // linger -1 so close() still delivers everything queued before the process exits.
  const sock = new XPublisher({ sendHighWaterMark: 1000, noDrop: true, linger: -1 });
  sock.connect(xsub);
  say({ type: "ready" });

  // Wait for the subscription to travel sub → broker → us, or the first messages would go nowhere.
  for (;;) {
    const [frame] = await sock.receive();
    if (frame && frame[0] === 1 && topic.startsWith(frame.subarray(1).toString())) break;
  }

  const alnum = "abcdefghijklmnopqrstuvwxyz0123456789";
  const suffix = Array.from({ length: 10 }, () => alnum[Math.floor(Math.random() * alnum.length)]).join("");
  const sender = `zeromq_bench-pub_${hostname()}_${process.pid}_${suffix}`;
  const packr = new Packr({ useRecords: false, moreTypes: false });
  // Warm-up (not counted by the subscriber): V8 compiles the hot paths before the measured run.
  for (let seq = 0; seq < (spec.warmup ?? 0); seq++) {
    await sendLossless(sock, ["bench.warm", sender, "msgpack-v1", packr.pack(["warm", [seq, "bench", nowUs()]])]);
  }
  if (spec.warmup) await new Promise((resolve) => setTimeout(resolve, spec.settleMs ?? 1000));
  say({ type: "armed" });
  await command("go");
  const startUs = nowUs();
  for (let seq = 0; seq < count; seq++) {
    // Zeek's wire layout: topic, sender, format, payload; the payload encoded per event like a real publisher.
    const frames = [topic, sender, "msgpack-v1", packr.pack(["ping", [seq, "bench", nowUs()]])];
    await sendLossless(sock, frames);
  }
  const endUs = nowUs();
  say({ type: "result", sent: count, startUs, endUs, eagainRetries, peakRssBytes: peakRssBytes() });
  sock.close(); // the context's termination at exit waits for the queue to drain (linger -1)
  await command("stop"); // the subscriber has everything by now
  process.exit(0);
}

// With ZMQ_XPUB_NODROP a full queue makes zmq_send fail with EAGAIN instead of blocking, and zeromq.js
// passes that on (XPUB always polls writable, so send() does not wait): retrying is the user's job.
let eagainRetries = 0;
async function sendLossless(sock, frames) {
  for (; ; eagainRetries++) {
    try {
      return await sock.send(frames);
    } catch (err) {
      if (err?.code !== "EAGAIN") throw err;
      await new Promise((resolve) => setImmediate(resolve)); // let libuv run, then try again
    }
  }
}

async function sub() {
  const { xpub, count, topic = "bench." } = spec;
  const sock = new XSubscriber();
  sock.connect(xpub);
  // XSUB keeps its subscriptions and replays them on (re)connect, so sending before the handshake is fine.
  await sock.send(Buffer.concat([Buffer.from([1]), Buffer.from(topic)]));
  say({ type: "ready" });

  const unpackr = new Unpackr({ useRecords: false, moreTypes: false });
  const latencies = new Float64Array(count);
  let received = 0;
  let badFraming = 0;
  let firstUs = 0;
  let lastUs = 0;
  let finished = false;
  const finish = async (signalled) => {
    if (finished) return;
    finished = true;
    const sorted = latencies.subarray(0, received).sort();
    const pct = (p) => (received ? sorted[Math.min(received - 1, Math.floor(received * p))] : undefined);
    say({
      type: "result",
      received,
      firstUs,
      lastUs,
      badFraming,
      p50Us: pct(0.5),
      p99Us: pct(0.99),
      peakRssBytes: peakRssBytes(),
    });
    if (!signalled) await command("stop");
    process.exit(0);
  };
  process.once("SIGTERM", () => finish(true));

  try {
    while (received < count) {
      const frames = await sock.receive();
      const now = nowUs();
      if (frames.length !== 4) {
        badFraming++;
        continue;
      }
      const [name, [, , tUs]] = unpackr.unpack(frames[3]);
      if (name === "warm") continue;
      if (received === 0) {
        firstUs = now;
        // Only now arm the idle timeout: before the first message the publisher may still be starting.
        sock.receiveTimeout = 10_000;
      }
      lastUs = now;
      latencies[received++] = now - tUs;
    }
  } catch (err) {
    if (err?.code !== "EAGAIN") throw err; // EAGAIN: 10 s without a message, report what arrived
  }
  await finish(false);
}

const roles = { broker, pub, sub };
if (!roles[spec.role]) {
  console.error(`zmqjs: unknown role ${JSON.stringify(spec.role)} (broker, pub or sub)`);
  process.exit(2);
}
roles[spec.role]().catch((err) => {
  console.error(err);
  process.exit(1);
});
