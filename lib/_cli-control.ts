/**
 * @module `cluster status`, `cluster stop`, `cluster restart <node>` and `cluster top`: the commands
 * that look at and steer a running cluster through its launcher's control socket (`_control.ts`), and
 * what `cluster up` gets for them: a run directory with that socket, `--run-dir`, and `--detach`.
 * Which cluster: `--run-dir DIR`, or the cluster file (its default run directory), or, when neither
 * is given, the only cluster running.
 */

import { mkdirSync, readFileSync } from "node:fs";
import { Option } from "commander";
import { type Cli, exits, positive } from "./_cli-program.ts";
import { top } from "./_cli-top.ts";
import { type ClusterStatus, type Control, NoLauncherError, openControl, request } from "./_control.ts";
import { COMPILED } from "./_node-command.ts";
import {
  clusterFileOf,
  defaultRunDir,
  isAlive,
  launcherPid,
  liveRunDirs,
  type RunDir,
  runDir,
  runDirBase,
} from "./_run-dir.ts";
import { formatStatus } from "./_status-view.ts";

/** What `cluster up` takes for control. */
export interface ControlOptions {
  detach?: boolean;
  runDir?: string;
  host?: string;
}

/** How long `cluster up --detach` waits for ready: the launcher gives up after its own 30 s and stops. */
const DETACH_WAIT_MS = 90_000;

/** The options `cluster up` (and `demo`) get for control. */
export function controlOptions(): Option[] {
  return [
    new Option(
      "--detach",
      "run in the background: return once the cluster is ready (or failed, saying why), printing its run directory",
    ),
    new Option(
      "--run-dir <dir>",
      `where the launcher keeps its pid, control socket and log (default: ${runDirBase()}/<file name>-<hash of its path>)`,
    ),
  ];
}

/**
 * The control socket of a launcher in the foreground. Without `--run-dir`, a run directory that another
 * launcher holds costs this one only its control socket (it says so); with `--run-dir`, it is an error.
 */
export function claimControl(file: string, o: ControlOptions): Control | undefined {
  try {
    return openControl(runDir(o.runDir ?? defaultRunDir(file)), file);
  } catch (err: unknown) {
    if (o.runDir !== undefined) throw err;
    console.log(`cluster: no control socket for this launcher: ${(err as Error).message}`);
    return undefined;
  }
}

/** The run directory a control command means: `--run-dir`, else the cluster file's, else the only one live. */
function target(file: string | undefined, o: { runDir?: string }): RunDir {
  if (o.runDir !== undefined) return runDir(o.runDir);
  if (file !== undefined) return runDir(defaultRunDir(file));
  const live = liveRunDirs();
  if (live.length === 1) return live[0]!;
  if (live.length === 0)
    throw new NoLauncherError(
      `no cluster runs (no launcher in ${runDirBase()}); start one with \`cluster up FILE --detach\`, or name its --run-dir`,
    );
  const list = live.map((d) => `  ${d.dir} (${clusterFileOf(d) ?? "unknown file"})`).join("\n");
  throw new Error(`${live.length} clusters run; name one with its cluster file or --run-dir:\n${list}`);
}

/** How the command line is run again, in the background: this script (or the compiled executable) with `args`. */
function self(args: string[]): string[] {
  return COMPILED
    ? [process.execPath, ...args]
    : [process.execPath, new URL("./cli.ts", import.meta.url).pathname, ...args];
}

function tail(path: string, lines = 15): string {
  try {
    const all = readFileSync(path, "utf8").trimEnd().split("\n");
    return all
      .slice(-lines)
      .map((l) => `  ${l}`)
      .join("\n");
  } catch {
    return "  (no log)";
  }
}

/**
 * `cluster up FILE --detach`: starts the same command without `--detach` as a launcher in the
 * background (its own session, output to the run directory's log), and returns once the cluster is
 * ready (0), or the launcher ended or was not ready in time (1), saying why.
 */
export async function detach(file: string, o: ControlOptions, argv: string[]): Promise<number> {
  const dir = runDir(o.runDir ?? defaultRunDir(file));
  const other = launcherPid(dir);
  if (other !== undefined)
    throw new Error(
      `a launcher (pid ${other}) already runs from ${dir.dir}; stop it with \`cluster stop --run-dir ${dir.dir}\`, or give this one another --run-dir`,
    );
  mkdirSync(dir.dir, { recursive: true, mode: 0o700 });
  const args = argv.filter((a) => a !== "--detach");
  if (o.runDir === undefined) args.push("--run-dir", dir.dir);
  // Through a shell that starts the launcher in the background and ends: the launcher is then no
  // child of this process, so nothing that ends with this process takes it along (\`bun --no-orphans\`
  // kills every descendant on exit, and its flag in the environment would make the launcher exit with
  // its parent). detached: a session of its own, out of reach of the terminal's Ctrl-C and hang-up.
  const { BUN_FEATURE_FLAG_NO_ORPHANS: _, ...env } = process.env;
  const script = 'log=$1; shift; "$@" </dev/null >"$log" 2>&1 & echo $!';
  const sh = Bun.spawn(["/bin/sh", "-c", script, "sh", dir.log, ...self(args)], {
    stdout: "pipe",
    detached: true,
    env,
  });
  const pid = Number((await new Response(sh.stdout).text()).trim());
  await sh.exited;
  const how = o.runDir === undefined ? file : `--run-dir ${dir.dir}`;
  const deadline = performance.now() + DETACH_WAIT_MS;
  let status: ClusterStatus | undefined;
  while (performance.now() < deadline) {
    if (!isAlive(pid)) {
      console.error(`cluster: the cluster did not start (the launcher, pid ${pid}, ended); the end of ${dir.log}:`);
      console.error(tail(dir.log));
      return 1;
    }
    status = await request<ClusterStatus>(dir, "GET", "/status", 2000).catch(() => undefined);
    // With --host, the other hosts may come much later: running here is what this command can wait for.
    if (status?.ready || (status && o.host !== undefined)) break;
    await Bun.sleep(100);
  }
  if (!status?.ready && !(status && o.host !== undefined)) {
    console.error(
      `cluster: not ready after ${DETACH_WAIT_MS / 1000} s; the launcher (pid ${pid}) still runs: \`cluster status ${how}\` shows what is missing, ${dir.log} the output`,
    );
    return 1;
  }
  const ready = status.ready ? `ready in ${status.readyMs} ms` : "started; waiting for the other hosts";
  console.log(`cluster: ${ready}, running in the background (launcher pid ${status.pid})`);
  console.log(`cluster: run dir ${dir.dir} (output in ${dir.log})`);
  console.log(`cluster: \`cluster status ${how}\` shows it, \`cluster stop ${how}\` stops it`);
  return 0;
}

async function stop(file: string | undefined, o: { runDir?: string; timeout: number }): Promise<number> {
  const dir = target(file, o);
  const { pid } = await request<ClusterStatus>(dir, "GET", "/status");
  await request(dir, "POST", "/stop");
  console.log(`cluster: stopping (launcher pid ${pid}): workers first, then the manager, then the loggers`);
  const deadline = performance.now() + o.timeout * 1000;
  while (isAlive(pid)) {
    if (performance.now() > deadline) {
      console.error(`cluster: the launcher (pid ${pid}) is still stopping after ${o.timeout} s; see ${dir.log}`);
      return 1;
    }
    await Bun.sleep(50);
  }
  console.log("cluster: stopped");
  return 0;
}

async function restart(node: string, file: string | undefined, o: { runDir?: string }): Promise<number> {
  const dir = target(file, o);
  // The node gets its grace period to stop, then as long as a start may take.
  const r = await request<{ name: string; pid: number; restarts: number }>(
    dir,
    "POST",
    `/nodes/${encodeURIComponent(node)}/restart`,
    120_000,
  );
  console.log(`cluster: ${r.name} restarted (pid ${r.pid}, restart ${r.restarts})`);
  return 0;
}

const fileArgument = ["[cluster-file]", "the cluster's file (default: the only cluster running)"] as const;
const runDirOption = () => new Option("--run-dir <dir>", "the launcher's run directory (instead of the cluster file)");

/** Adds `cluster status`, `stop`, `restart` and `top`. */
export function register({ cluster }: Cli): void {
  cluster
    .command("status")
    .description("show each node of a running cluster: pid, state, up since, restarts, events/s, drops, RSS")
    .argument(...fileArgument)
    .addOption(runDirOption())
    .option("--json", "print the status as JSON")
    .action(
      exits("cluster", async (file: string | undefined, o: { runDir?: string; json?: boolean }) => {
        const s = await request<ClusterStatus>(target(file, o), "GET", "/status");
        console.log(o.json ? JSON.stringify(s, null, 2) : formatStatus(s));
        return 0;
      }),
    );
  cluster
    .command("stop")
    .description("stop a running cluster in order and wait until its launcher has exited")
    .argument(...fileArgument)
    .addOption(runDirOption())
    .addOption(new Option("--timeout <s>", "how long to wait").argParser(positive("seconds")).default(120))
    .action(exits("cluster", stop));
  cluster
    .command("restart")
    .description("restart one node of a running cluster (the others see node_down, then node_up)")
    .argument("<node>", "the node's name")
    .argument(...fileArgument)
    .addOption(runDirOption())
    .action(exits("cluster", restart));
  cluster
    .command("top")
    .description("a live view of a running cluster, redrawn every second; q or Ctrl-C quits")
    .argument(...fileArgument)
    .addOption(runDirOption())
    .option("--once", "print one view and exit")
    .addOption(new Option("--duration <s>", "quit after this many seconds").argParser(positive("seconds")))
    .addOption(new Option("--interval <ms>", "time between views").argParser(positive("ms")).default(1000))
    .action(
      exits(
        "cluster",
        (file: string | undefined, o: { runDir?: string; once?: boolean; duration?: number; interval: number }) =>
          top(target(file, o), o),
      ),
    );
}
