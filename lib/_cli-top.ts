/**
 * @module `cluster top`: a live view of a running cluster from its launcher's control socket. On a
 * terminal it takes the alternate screen, hides the cursor and redraws in place about once a second;
 * q, Ctrl-C (or SIGINT/SIGTERM) or `--duration` end it and the terminal is restored as it was. Where
 * stdout is no terminal, it prints one view after another (`--once`: one).
 */

import { type ClusterStatus, NoLauncherError, request } from "./_control.ts";
import type { RunDir } from "./_run-dir.ts";
import { clock, clusterLine, nodeTable, totalsLine } from "./_status-view.ts";

/** Options of `cluster top`. */
export interface TopOptions {
  once?: boolean;
  duration?: number;
  interval: number;
}

const ALT_SCREEN = "\x1b[?1049h\x1b[?25l"; // the alternate screen, cursor hidden
const RESTORE = "\x1b[?25h\x1b[?1049l"; // cursor shown, the screen as it was
const QUIT_KEYS = new Set(["q", "Q", "\x03", "\x04"]); // q, Ctrl-C and Ctrl-D in raw mode

function view(s: ClusterStatus, o: TopOptions, keys: boolean): string[] {
  const now = new Date();
  const every = o.interval >= 1000 ? `${o.interval / 1000} s` : `${o.interval} ms`;
  return [
    `zeek-zmq-cluster top · ${clock(now.toISOString(), now)} · every ${every}${keys ? " · q quits" : ""}`,
    clusterLine(s, now),
    totalsLine(s),
    "",
    ...nodeTable(s.nodes, now).split("\n"),
  ];
}

/** Runs `cluster top` against the launcher of `dir`; resolves with the exit code. */
export async function top(dir: RunDir, o: TopOptions): Promise<number> {
  const out = process.stdout;
  const first = await request<ClusterStatus>(dir, "GET", "/status", 2000); // no launcher: an error, exit 1
  if (o.once) {
    out.write(`${view(first, o, false).join("\n")}\n`);
    return 0;
  }
  const tty = out.isTTY === true;
  const raw = tty && process.stdin.isTTY === true;
  const quit = Promise.withResolvers<string>();
  const onKey = (data: Buffer) => QUIT_KEYS.has(data.toString("utf8").slice(0, 1)) && quit.resolve("key");
  const onSignal = () => quit.resolve("signal");
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  const timer = o.duration === undefined ? undefined : setTimeout(() => quit.resolve("duration"), o.duration * 1000);
  if (raw) {
    process.stdin.setRawMode(true);
    process.stdin.on("data", onKey);
    process.stdin.resume();
  }
  if (tty) out.write(ALT_SCREEN);
  let status: ClusterStatus | undefined = first;
  let gone = false;
  try {
    while (status) {
      const lines = view(status, o, raw);
      if (tty) {
        // Home, each line over the old one (erasing its rest), then everything below: no flicker.
        const width = out.columns || 200;
        out.write(`\x1b[H${lines.map((l) => `${l.slice(0, width)}\x1b[K`).join("\n")}\x1b[J`);
      } else out.write(`${lines.join("\n")}\n\n`);
      const next = await Promise.race([Bun.sleep(o.interval).then(() => "tick"), quit.promise]);
      if (next !== "tick") break;
      status = await request<ClusterStatus>(dir, "GET", "/status", 2000).catch((err: unknown) => {
        if (!(err instanceof NoLauncherError)) throw err;
        gone = true;
        return undefined;
      });
    }
  } finally {
    clearTimeout(timer);
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
    if (tty) out.write(RESTORE);
    if (raw) {
      process.stdin.off("data", onKey);
      process.stdin.setRawMode(false);
      process.stdin.pause();
    }
  }
  if (gone) console.log(`cluster: the launcher is gone (${dir.dir}): the cluster stopped`);
  return 0;
}
