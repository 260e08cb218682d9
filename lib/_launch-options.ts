/**
 * @module Private: the launcher's options (public through `launcher.ts`), with their defaults filled
 * in and checked, so that a wrong policy or a contradiction is refused before anything starts.
 */

import type { NodeOutput } from "./_node-output.ts";

/** When to start a node again after its process ended by itself. */
export type RestartPolicy = "no" | "on-failure" | "always";

/** Options of {@linkcode Cluster.launch}. */
export interface LaunchOptions {
  /**
   * Start only the nodes of this host: an ip of the layout, a node's `host` name, or a name that
   * resolves to an ip of the layout. One cluster file then drives every machine, one launcher on
   * each; `ready()` waits until the nodes started here have seen every node of the cluster. Not
   * with `isolated`. @default {every node}
   */
  host?: string;
  /** Restart nodes that end: never, after a failure (non-zero exit or a signal), or always. @default {"no"} */
  restart?: RestartPolicy;
  /** How long a node gets between SIGTERM and SIGKILL, in ms. @default {5000} */
  graceMs?: number;
  /**
   * Run on endpoints of its own instead of the file's ports, so the cluster never collides with
   * another: the broker and loggers on ipc:// paths in a fresh temporary directory (removed on stop),
   * metrics on free ports. @default {false}
   */
  isolated?: boolean;
  /** Where node output goes: each line prefixed by the node's name on stdout, nowhere, or to a function. @default {"prefixed"} */
  output?: NodeOutput;
  /** Colour the prefixes. @default {stdout is a terminal and NO_COLOR is unset} */
  color?: boolean;
  /** How long start-up and `ready()` may take, in ms. @default {30000} */
  readyTimeout?: number;
  /** Extra environment for every node. @default {{}} */
  env?: Record<string, string>;
  /** Called when a node process ends while the cluster runs. @default {a message on stderr} */
  onDeath?: (death: NodeDeath) => void;
  /** Called when a restarted node has started again. @default {a message on stderr} */
  onRestarted?: (name: string, restarts: number) => void;
}

/** A node process that ended on its own. */
export interface NodeDeath {
  name: string;
  code: number | null;
  signal: string | null;
  /** Whether the launcher starts it again. */
  restarting: boolean;
}

/** The options a launcher runs with: every default filled in (`host` is the launcher's own). */
export type ResolvedLaunchOptions = Required<Omit<LaunchOptions, "host">>;

/**
 * Fills in the defaults of `options`.
 *
 * @throws {RangeError} an unknown `restart` policy, or `isolated` with `host`.
 */
export function resolveLaunchOptions(options: LaunchOptions): ResolvedLaunchOptions {
  const o: ResolvedLaunchOptions = {
    restart: options.restart ?? "no",
    graceMs: options.graceMs ?? 5000,
    isolated: options.isolated ?? false,
    output: options.output ?? "prefixed",
    readyTimeout: options.readyTimeout ?? 30_000,
    env: options.env ?? {},
    color: options.color ?? (process.stdout.isTTY === true && !process.env.NO_COLOR),
    onRestarted:
      options.onRestarted ?? ((name, n) => console.error(`cluster: node ${name} started again (restart ${n})`)),
    onDeath:
      options.onDeath ??
      ((d) =>
        console.error(
          `cluster: node ${d.name} ${d.code === 0 ? "exited" : "died"} (${d.signal ? `signal ${d.signal}` : `exit code ${d.code}`})${d.restarting ? ", restarting it" : ""}`,
        )),
  };
  if (!["no", "on-failure", "always"].includes(o.restart))
    throw new RangeError(
      `Invalid launch option 'restart': expected "no", "on-failure" or "always", got '${o.restart}'`,
    );
  if (options.host !== undefined && o.isolated)
    throw new RangeError(
      "Invalid launch options: 'isolated' runs a cluster on ipc:// endpoints of one machine, 'host' one host's part of it",
    );
  return o;
}
