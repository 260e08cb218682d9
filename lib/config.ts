/**
 * @module The options of Zeek's ZeroMQ cluster backend (`Cluster::Backend::ZeroMQ` in `main.zeek`),
 * with Zeek's defaults, validation, and environment overrides. Names are Zeek's in camelCase; the
 * cluster layout and what Zeek derives from it live in `layout.ts`.
 */

import { check, checkEngines, isEndpoint, type Key, parseEnv, RULES } from "./_config-rules.ts";
import { invalid } from "./_invalid.ts";
import { closest } from "./_suggest.ts";

export { isEndpoint };

/** What a node does when its XPUB queue to the broker is full (Zeek's `OverflowPolicy`). */
export type OverflowPolicy = "BLOCK" | "DROP";
/**
 * Who speaks for one of a node's connections: libzmq's socket in the I/O Worker, or the main thread
 * itself on Bun's socket (`xsubEngine`, `xpubEngine`, `pushEngine`, `pullEngine`).
 */
export type SocketEngine = "libzmq" | "bun";

/** Options of a node and of the broker it may run. Every field is optional; see {@linkcode DEFAULT_CONFIG}. */
export interface ZeroMQOptions {
  /** At `xpubSndhwm`, wait for room (`BLOCK`, counted in `xpub_blocks`) or drop the event (`DROP`, counted in `xpub_drops`). Waiting never freezes the event loop. @default {"BLOCK"} */
  overflowPolicy?: OverflowPolicy;
  /**
   * Where this node's **XPUB** socket connects: the broker's XSUB listen endpoint. Zeek's doc comment
   * describes this option the other way round; its code, tests and zeekctl use this mapping, and so do we.
   * @default {"tcp://127.0.0.1:5556"}
   */
  connectXpubEndpoint?: string;
  /**
   * Where this node's **XSUB** socket connects: the broker's XPUB listen endpoint (Zeek's doc comment
   * says the opposite; see `connectXpubEndpoint`).
   * @default {"tcp://127.0.0.1:5555"}
   */
  connectXsubEndpoint?: string;
  /** Logger PULL endpoints this node's PUSH socket connects to. @default {[]} */
  connectLogEndpoints?: readonly string[];
  /** Run the central XPUB/XSUB broker in this process (the manager does in a layout). @default {false} */
  runProxyThread?: boolean;
  /** libzmq I/O threads of the broker's context. @default {2} */
  proxyIoThreads?: number;
  /** The broker's XSUB bind endpoint (nodes' XPUBs connect here). @default {"tcp://127.0.0.1:5556"} */
  listenXsubEndpoint?: string;
  /** The broker's XPUB bind endpoint (nodes' XSUBs connect here). @default {"tcp://127.0.0.1:5555"} */
  listenXpubEndpoint?: string;
  /** PULL bind endpoint for log writes; empty: this node receives no logs. @default {""} */
  listenLogEndpoint?: string;
  /** `ZMQ_LINGER` of the XPUB and PUSH sockets in ms; -1 waits forever, 0 discards. @default {500} */
  lingerMs?: number;
  /** `ZMQ_SNDHWM` of the node's XPUB (messages); 0 means unlimited. @default {1000} */
  xpubSndhwm?: number;
  /** `ZMQ_SNDBUF` of the node's XPUB in bytes; -1 is the OS default. @default {-1} */
  xpubSndbuf?: number;
  /** `ZMQ_RCVHWM` of the node's XSUB (messages). @default {1000} */
  xsubRcvhwm?: number;
  /** `ZMQ_RCVBUF` of the node's XSUB in bytes; -1 is the OS default. @default {-1} */
  xsubRcvbuf?: number;
  /**
   * `ZMQ_RCVHWM` of the broker's XSUB (messages), where the nodes' events arrive; not Zeek's (its broker
   * keeps libzmq's 1000). See docs/performance.md, "Queueing and drops". @default {1000}
   */
  listenXsubRcvhwm?: number;
  /**
   * `ZMQ_RCVBUF` of the broker's XSUB in bytes; -1 is the OS default, which on Linux grows to megabytes
   * per connection: at saturation events then wait there for a second. Not Zeek's. @default {-1}
   */
  listenXsubRcvbuf?: number;
  /** `ZMQ_SNDHWM` of the broker's XPUB (messages, per subscriber); not Zeek's. @default {1000} */
  listenXpubSndhwm?: number;
  /** `ZMQ_SNDBUF` of the broker's XPUB in bytes; -1 is the OS default. Not Zeek's. @default {-1} */
  listenXpubSndbuf?: number;
  /** `ZMQ_IMMEDIATE` on the log PUSH socket: queue only to completed connections. @default {false} */
  logImmediate?: boolean;
  /** `ZMQ_SNDHWM` of the log PUSH socket (batches). @default {1000} */
  logSndhwm?: number;
  /** `ZMQ_RCVHWM` of the log PULL socket (batches). @default {1000} */
  logRcvhwm?: number;
  /** `ZMQ_SNDBUF` of the log PUSH socket; -1 is the OS default. @default {-1} */
  logSndbuf?: number;
  /** `ZMQ_RCVBUF` of the log PULL socket; -1 is the OS default. @default {-1} */
  logRcvbuf?: number;
  /**
   * `ZMQ_MAXMSGSIZE` in bytes on every socket that receives from the network (the broker's XSUB, the
   * node's XPUB and XSUB, the log PULL): a peer that sends a larger frame is disconnected (counted in
   * `zeek_cluster_zeromq_disconnects_total`) before anything is allocated for it. -1: no limit.
   * With the HWMs it bounds what a socket may buffer: `rcvhwm × maxMessageSize`.
   * @default {16777216}
   */
  maxMessageSize?: number;
  /**
   * The longest topic, in bytes, that a node accepts on an event or a subscription, and the largest
   * subscription the broker's XPUB accepts from a peer (libzmq keeps one trie node per byte of a
   * subscription, so a 4 MB subscription costs hundreds of MB). Longer ones are counted as malformed.
   * @default {1024}
   */
  maxTopicLength?: number;
  /**
   * ZMTP heartbeats, in ms: the side of each connection that receives the bulk (a node's XSUB, the
   * broker's XSUB, a logger's PULL) sends a PING this often, carrying `heartbeatTtl`; the other side
   * drops the connection when nothing follows a PING for that long. So the broker drops a hung or
   * vanished node (SIGSTOP, a host without power, a pulled cable) within `heartbeatTtl`, the others see
   * `node_down` and the broker's traffic resumes. 0 turns heartbeats off (Zeek's behaviour). See
   * docs/config.md, "Limits and liveness".
   * @default {1000}
   */
  heartbeatIvl?: number;
  /**
   * Accepted and checked, but applied to no socket: a socket's own heartbeat timeout would cut off a
   * live peer while it pushes back, and the sockets that could use one send no PINGs (docs/config.md).
   * @default {3000}
   */
  heartbeatTimeout?: number;
  /** `ZMQ_HEARTBEAT_TTL` in ms (whole tenths of a second, at most 6553500) carried in the PINGs: the peer drops the connection when it hears nothing for this long after one. @default {3000} */
  heartbeatTtl?: number;
  /** `ZMQ_IPV6` on the node's and the broker's context, so bracketed IPv6 endpoints work. @default {true} */
  ipv6?: boolean;
  /** `ZMQ_XPUB_NODROP` on the node's XPUB: a full queue is reported (and counted) instead of silently dropping. @default {true} */
  connectXpubNodrop?: boolean;
  /** `ZMQ_XPUB_NODROP` on the broker's XPUB: lossless, but one slow subscriber stalls the broker. @default {true} */
  listenXpubNodrop?: boolean;
  /** Messages one socket may deliver per I/O loop turn; 0: no limit. @default {100} */
  pollMaxMessages?: number;
  /** Debug output on stderr: 1 = poll, 2 = thread. @default {0} */
  debugFlags?: number;
  /** Prefix of `nodeTopic(name)`. @default {"zeek.cluster.node"} */
  nodeTopicPrefix?: string;
  /** Prefix of `nodeidTopic(id)`. @default {"zeek.cluster.nodeid"} */
  nodeidTopicPrefix?: string;
  /** How long half-finished hello handshakes are kept, in ms (Zeek: `10sec`). @default {10000} */
  helloExpiration?: number;
  /** Prefix of the short-lived "ready to publish" topics. @default {"zeek.zeromq.internal."} */
  internalTopicPrefix?: string;
  /** Incoming events waiting for the main thread beyond which events are dropped (`onloop_drops`); 0: unlimited. @default {10000} */
  onloopQueueHwm?: number;
  /**
   * Who speaks for the node's subscriber connection to the broker (not Zeek's): `"libzmq"`, an XSUB
   * socket read by the node's I/O Worker; or `"bun"`, ZMTP 3.0 spoken by the main thread itself on
   * Bun's own socket, so the kernel wakes main when events arrive (lower latency: no libzmq thread,
   * no Worker on the way). `"bun"` connects to `tcp://host:port` or `ipc://path`, without CURVE and
   * with the kernel's receive buffer (`xsubRcvbuf` -1); it keeps `xsubRcvhwm`'s role as the bound of
   * what waits for main with `onloopQueueHwm` 0. See docs/performance.md. @default {"libzmq"}
   */
  xsubEngine?: SocketEngine;
  /**
   * The same for the node's publisher connection to the broker's XSUB (not Zeek's): `"bun"` frames
   * events straight into Bun's socket from `publish()`, one write per turn of the event loop, with no
   * inproc PAIR, I/O Worker or libzmq thread on the way. It keeps `xpubSndhwm` (BLOCK waits, DROP drops
   * and counts), the subscriptions the broker forwards (every one passed up, as `XPUB_VERBOSE`) and the
   * linger at stop; without CURVE and with the kernel's send buffer (`xpubSndbuf` -1). See
   * docs/config.md. @default {"libzmq"}
   */
  xpubEngine?: SocketEngine;
  /**
   * The same for the node's log connections to the loggers' PULL sockets (not Zeek's): `"bun"` writes
   * each log batch from main to the next logger whose socket has room, round robin as a PUSH does, with
   * no inproc PAIR, I/O Worker or libzmq copy; up to `logSndhwm` batches wait beyond (BLOCK: more, and
   * the writer waits; DROP: dropped and counted). Without CURVE and with the kernel's send buffer
   * (`logSndbuf` -1). @default {"libzmq"}
   */
  pushEngine?: SocketEngine;
  /**
   * The same for a logger's PULL socket (not Zeek's): `"bun"` has the logger's main thread listen on
   * `listenLogEndpoint` and read the writers' ZMTP itself, so log batches reach the log files with no
   * libzmq thread, I/O Worker or copy between threads. It keeps the PINGs carrying `heartbeatTtl`,
   * `maxMessageSize`, the checks of each message, and the backpressure (it stops reading while 100
   * batches wait on the sinks); without CURVE and with the kernel's receive buffer (`logRcvbuf` -1), on
   * `tcp://host:port` (host `*`, an IP address or localhost; port `*` for any) or `ipc://path`.
   * @default {"libzmq"}
   */
  pullEngine?: SocketEngine;
  /** The broker's CURVE public key (Z85, 40 characters); with the client keys it turns on encryption as a client. @default {""} */
  curveServerPublickey?: string;
  /** The broker's CURVE secret key; with `curveClientPublickey` it makes this process a CURVE server. @default {""} */
  curveServerSecretkey?: string;
  /** The nodes' CURVE public key, the only client key a CURVE server accepts. @default {""} */
  curveClientPublickey?: string;
  /** The nodes' CURVE secret key. @default {""} */
  curveClientSecretkey?: string;
}

/** A complete, validated configuration: every option present. */
export type ZeroMQConfig = { readonly [K in keyof ZeroMQOptions]-?: Exclude<ZeroMQOptions[K], undefined> };

/**
 * The defaults of Zeek's `main.zeek` (plus `onloop_queue_hwm`).
 *
 * @example Sizing a queue relative to Zeek's default
 * ```ts
 * import { DEFAULT_CONFIG, resolveConfig } from "./config.ts";
 *
 * const config = resolveConfig({ xpubSndhwm: DEFAULT_CONFIG.xpubSndhwm * 10 });
 * console.log(config.xpubSndhwm); // 10000
 * ```
 */
export const DEFAULT_CONFIG: ZeroMQConfig = Object.freeze({
  overflowPolicy: "BLOCK",
  connectXpubEndpoint: "tcp://127.0.0.1:5556",
  connectXsubEndpoint: "tcp://127.0.0.1:5555",
  connectLogEndpoints: Object.freeze([]),
  runProxyThread: false,
  proxyIoThreads: 2,
  listenXsubEndpoint: "tcp://127.0.0.1:5556",
  listenXpubEndpoint: "tcp://127.0.0.1:5555",
  listenLogEndpoint: "",
  lingerMs: 500,
  xpubSndhwm: 1000,
  xpubSndbuf: -1,
  xsubRcvhwm: 1000,
  xsubRcvbuf: -1,
  listenXsubRcvhwm: 1000,
  listenXsubRcvbuf: -1,
  listenXpubSndhwm: 1000,
  listenXpubSndbuf: -1,
  logImmediate: false,
  logSndhwm: 1000,
  logRcvhwm: 1000,
  logSndbuf: -1,
  logRcvbuf: -1,
  maxMessageSize: 16 * 1024 * 1024,
  maxTopicLength: 1024,
  heartbeatIvl: 1000,
  heartbeatTimeout: 3000,
  heartbeatTtl: 3000,
  ipv6: true,
  connectXpubNodrop: true,
  listenXpubNodrop: true,
  pollMaxMessages: 100,
  debugFlags: 0,
  nodeTopicPrefix: "zeek.cluster.node",
  nodeidTopicPrefix: "zeek.cluster.nodeid",
  helloExpiration: 10_000,
  internalTopicPrefix: "zeek.zeromq.internal.",
  onloopQueueHwm: 10_000,
  xsubEngine: "libzmq",
  xpubEngine: "libzmq",
  pushEngine: "libzmq",
  pullEngine: "libzmq",
  curveServerPublickey: "",
  curveServerSecretkey: "",
  curveClientPublickey: "",
  curveClientSecretkey: "",
});

/**
 * Zeek's name of every option: `xpubSndhwm` → `xpub_sndhwm`.
 *
 * @example Naming an option as Zeek's scripts do
 * ```ts
 * import { ZEEK_OPTION_NAMES } from "./config.ts";
 *
 * console.log(`Cluster::Backend::ZeroMQ::${ZEEK_OPTION_NAMES.xpubSndhwm}`); // "Cluster::Backend::ZeroMQ::xpub_sndhwm"
 * ```
 */
export const ZEEK_OPTION_NAMES: Readonly<Record<Key, string>> = Object.freeze(
  Object.fromEntries(
    Object.keys(RULES).map((key) => [key, key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)]),
  ) as Record<Key, string>,
);

/**
 * Prefix of the environment variables that override options, e.g. `ZEEK_CLUSTER_BACKEND_ZEROMQ_XPUB_SNDHWM`.
 *
 * @example Listing the overrides set in this process's environment
 * ```ts
 * import { ENV_PREFIX } from "./config.ts";
 *
 * const overrides = Object.keys(process.env).filter((name) => name.startsWith(ENV_PREFIX));
 * console.log(overrides); // e.g. ["ZEEK_CLUSTER_BACKEND_ZEROMQ_XPUB_SNDHWM"]
 * ```
 */
export const ENV_PREFIX = "ZEEK_CLUSTER_BACKEND_ZEROMQ_";

/**
 * The environment variable that overrides `option`.
 *
 * @example The variable that overrides the XPUB high-water mark
 * ```ts
 * import { envVarName } from "./config.ts";
 *
 * console.log(envVarName("xpubSndhwm")); // "ZEEK_CLUSTER_BACKEND_ZEROMQ_XPUB_SNDHWM"
 * ```
 */
export function envVarName(option: keyof ZeroMQOptions): string {
  return ENV_PREFIX + ZEEK_OPTION_NAMES[option].toUpperCase();
}

const CURVE_KEYS = [
  "curveServerPublickey",
  "curveServerSecretkey",
  "curveClientPublickey",
  "curveClientSecretkey",
] as const;

/**
 * Validates `options`, fills in Zeek's defaults and applies environment overrides: the one way a
 * configuration is made. Precedence, highest first: `options`, then environment variables
 * (`ZEEK_CLUSTER_BACKEND_ZEROMQ_<ZEEK_NAME>`, e.g. `..._CONNECT_XSUB_ENDPOINT` or Zeek's own
 * `..._CURVE_SERVER_SECRETKEY`), then `derived` (what `nodeConfig` computes from a layout), then the
 * defaults. As in Zeek, CURVE keys given both as options and in the environment are an error.
 *
 * @example A node with drop semantics and unlimited incoming queue
 * ```ts
 * import { resolveConfig } from "./config.ts";
 *
 * const config = resolveConfig({ overflowPolicy: "DROP", onloopQueueHwm: 0 });
 * console.log(config.xpubSndhwm); // 1000
 * ```
 *
 * @example Which layer wins
 * ```ts
 * import { resolveConfig } from "./config.ts";
 *
 * const env = { ZEEK_CLUSTER_BACKEND_ZEROMQ_LINGER_MS: "0", ZEEK_CLUSTER_BACKEND_ZEROMQ_XPUB_SNDHWM: "5000" };
 * const config = resolveConfig({ lingerMs: 100 }, env, { xpubSndhwm: 2000, runProxyThread: true });
 * console.log(config.lingerMs, config.xpubSndhwm, config.runProxyThread); // 100 5000 true
 * ```
 *
 * @param options The options to set.
 * @param env Where overrides are read from; `process.env` unless given.
 * @param derived Settings computed from a layout, below the environment.
 * @throws {TypeError} an option of the wrong type, or an unknown option name.
 * @throws {RangeError} a value out of range, naming the option (or variable) and the value.
 */
export function resolveConfig(
  options: ZeroMQOptions = {},
  env: Record<string, string | undefined> = process.env,
  derived: ZeroMQOptions = {},
): ZeroMQConfig {
  if (typeof options !== "object" || options === null || Array.isArray(options)) {
    throw invalid(TypeError, "options", "an object", options);
  }
  const out: Record<string, unknown> = { ...DEFAULT_CONFIG };
  const layers: [ZeroMQOptions, (k: Key) => string][] = [[derived, (k) => `derived setting '${k}'`]];
  const fromEnv: Record<string, unknown> = {};
  for (const key of Object.keys(RULES) as Key[]) {
    const raw = env[envVarName(key)];
    if (raw !== undefined) fromEnv[key] = parseEnv(key, raw, `environment variable ${envVarName(key)}`);
  }
  layers.push([fromEnv as ZeroMQOptions, (k) => `environment variable ${envVarName(k)}`]);
  layers.push([options, (k) => `option '${k}' (Zeek: ${ZEEK_OPTION_NAMES[k]})`]);
  for (const [layer, where] of layers) {
    for (const [key, value] of Object.entries(layer)) {
      if (!(key in RULES)) {
        // Zeek's spelling (overflow_policy) or a typo gets the one name meant; anything else the list.
        const meant = closest(key, Object.keys(RULES));
        throw new TypeError(
          meant === undefined
            ? `Unknown option '${key}': the options are ${Object.keys(RULES).join(", ")}`
            : `Unknown option '${key}': did you mean '${meant}'?`,
        );
      }
      if (value === undefined) continue;
      check(key as Key, value, where(key as Key));
      out[key] = key === "connectLogEndpoints" ? Object.freeze([...(value as string[])]) : value;
    }
  }
  const curveOption = CURVE_KEYS.find((k) => (options[k] ?? "") !== "");
  const curveEnv = CURVE_KEYS.find((k) => fromEnv[k] !== undefined);
  if (curveOption && curveEnv) {
    throw new RangeError(
      `Invalid option '${curveOption}': CURVE is configured via options and environment variables (${envVarName(curveEnv)}) at the same time`,
    );
  }
  checkEngines(out as ZeroMQConfig);
  return Object.freeze(out) as ZeroMQConfig;
}
