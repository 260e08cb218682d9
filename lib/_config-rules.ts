/**
 * @module Private: how each option of `config.ts` is checked: its kind and range, endpoint syntax,
 * and how an environment variable's text becomes a value.
 */

import { type InvalidOptions, invalid } from "./_invalid.ts";
import type { LoggingOptions } from "./_node-logging.ts";
import { didYouMean } from "./_suggest.ts";
import { zmtpAddress, zmtpListenAddress } from "./_zmtp.ts";
import type { ZeroMQConfig } from "./config.ts";
import type { MetricsOptions } from "./telemetry.ts";

type Kind = "policy" | "engine" | "endpoint" | "endpoint?" | "endpoints" | "bool" | "int" | "prefix" | "curve";
export type Key = keyof ZeroMQConfig;
const INT_MAX = 2 ** 31 - 1;

// The validation rule of every option: its kind and, for integers, the smallest and largest allowed values.
export const RULES: Record<Key, [Kind, number?, number?]> = {
  overflowPolicy: ["policy"],
  xsubEngine: ["engine"],
  xpubEngine: ["engine"],
  pushEngine: ["engine"],
  pullEngine: ["engine"],
  connectXpubEndpoint: ["endpoint"],
  connectXsubEndpoint: ["endpoint"],
  connectLogEndpoints: ["endpoints"],
  runProxyThread: ["bool"],
  proxyIoThreads: ["int", 1],
  listenXsubEndpoint: ["endpoint"],
  listenXpubEndpoint: ["endpoint"],
  listenLogEndpoint: ["endpoint?"],
  lingerMs: ["int", -1],
  xpubSndhwm: ["int", 0],
  xpubSndbuf: ["int", -1],
  xsubRcvhwm: ["int", 0],
  xsubRcvbuf: ["int", -1],
  listenXsubRcvhwm: ["int", 0],
  listenXsubRcvbuf: ["int", -1],
  listenXpubSndhwm: ["int", 0],
  listenXpubSndbuf: ["int", -1],
  logImmediate: ["bool"],
  logSndhwm: ["int", 0],
  logRcvhwm: ["int", 0],
  logSndbuf: ["int", -1],
  logRcvbuf: ["int", -1],
  maxMessageSize: ["int", -1],
  maxTopicLength: ["int", 1],
  heartbeatIvl: ["int", 0],
  heartbeatTimeout: ["int", 0],
  heartbeatTtl: ["int", 0, 6_553_599], // libzmq keeps it in tenths of a second in 16 bits
  ipv6: ["bool"],
  connectXpubNodrop: ["bool"],
  listenXpubNodrop: ["bool"],
  pollMaxMessages: ["int", 0],
  debugFlags: ["int", 0],
  nodeTopicPrefix: ["prefix"],
  nodeidTopicPrefix: ["prefix"],
  helloExpiration: ["int", 1],
  internalTopicPrefix: ["prefix"],
  onloopQueueHwm: ["int", 0],
  curveServerPublickey: ["curve"],
  curveServerSecretkey: ["curve"],
  curveClientPublickey: ["curve"],
  curveClientSecretkey: ["curve"],
};

const HOST = String.raw`(?:\*|\[[0-9A-Fa-f:.]+(?:%[\w.-]+)?\]|[\w.-]+)`;
const ENDPOINT = new RegExp(String.raw`^(?:tcp://(?:${HOST};)?${HOST}:(?:\*|!|\d{1,5})|ipc://.+|inproc://.+)$`);
const Z85 = /^[0-9a-zA-Z.\-:+=^!/*?&<>()[\]{}@%$#]{40}$/;

/**
 * Checks an endpoint string: `tcp://host:port` (IPv6 in brackets, `*` for a wildcard), `ipc://path` or `inproc://name`.
 *
 * @example IPv6 addresses need brackets
 * ```ts
 * import { isEndpoint } from "./config.ts";
 *
 * console.log(isEndpoint("tcp://[::1]:5556")); // true
 * console.log(isEndpoint("tcp://::1:5556")); // false
 * ```
 */
export function isEndpoint(value: string): boolean {
  if (!ENDPOINT.test(value)) return false;
  const port = /:(\d+)$/.exec(value)?.[1];
  return !value.startsWith("tcp://") || port === undefined || Number(port) <= 65535;
}

/** A bad value that looks like `tcp://::1:5556` gets a hint: libzmq wants IPv6 hosts in brackets. */
function hintFor(value: unknown): InvalidOptions {
  const unbracketed = typeof value === "string" && /^tcp:\/\/[0-9a-f]*:[0-9a-f:]*:\d+$/i.test(value);
  return { hint: unbracketed ? "IPv6 addresses go in brackets" : "" };
}

/** Validates one option value; `where` names it in the error, e.g. `option 'xpubSndhwm' (Zeek: xpub_sndhwm)`. */
export function check(key: Key, value: unknown, where: string): void {
  const [kind, min = 0, max = INT_MAX] = RULES[key];
  const hint = hintFor(value);
  switch (kind) {
    case "policy":
      if (typeof value !== "string") throw invalid(TypeError, where, `"BLOCK" or "DROP"`, value, hint);
      if (value !== "BLOCK" && value !== "DROP") throw invalid(RangeError, where, `"BLOCK" or "DROP"`, value, hint);
      return;
    case "engine":
      if (typeof value !== "string") throw invalid(TypeError, where, `"libzmq" or "bun"`, value, hint);
      if (value !== "libzmq" && value !== "bun") throw invalid(RangeError, where, `"libzmq" or "bun"`, value, hint);
      return;
    case "bool":
      if (typeof value !== "boolean") throw invalid(TypeError, where, "a boolean", value, hint);
      return;
    case "int":
      if (typeof value !== "number") throw invalid(TypeError, where, "an integer", value, hint);
      if (!Number.isInteger(value) || value < min || value > max) {
        throw invalid(RangeError, where, `an integer from ${min} to ${max}`, value, hint);
      }
      return;
    case "prefix":
      if (typeof value !== "string") throw invalid(TypeError, where, "a string", value, hint);
      if (value === "" || /\s/.test(value)) {
        throw invalid(RangeError, where, "a non-empty topic prefix without spaces", value, hint);
      }
      return;
    case "curve":
      if (typeof value !== "string") throw invalid(TypeError, where, "a string", value, hint);
      if (value !== "" && !Z85.test(value)) {
        throw invalid(RangeError, where, "a 40-character Z85 key or an empty string", value, hint);
      }
      return;
    case "endpoints":
      if (!Array.isArray(value)) throw invalid(TypeError, where, "an array of endpoints", value, hint);
      for (const [i, ep] of value.entries()) check("connectXpubEndpoint", ep, `${where}[${i}]`);
      return;
    case "endpoint?":
    case "endpoint":
      if (typeof value !== "string") throw invalid(TypeError, where, "an endpoint string", value, hint);
      if (kind === "endpoint?" && value === "") return;
      if (!isEndpoint(value)) {
        throw invalid(
          RangeError,
          where,
          "an endpoint like tcp://127.0.0.1:5555, ipc://path or inproc://name",
          value,
          hint,
        );
      }
  }
}

/**
 * An engine "bun" speaks plain ZMTP on a `tcp://host:port` or `ipc://path` itself: CURVE, other
 * endpoints and a socket buffer size stay libzmq's, and asking for them together is a RangeError.
 */
export function checkEngines(c: ZeroMQConfig): void {
  // A connecting side is a CURVE client when the three client keys are set; the listening PULL a server.
  const client = !!(c.curveServerPublickey && c.curveClientPublickey && c.curveClientSecretkey);
  const server = !!(c.curveServerSecretkey && c.curveClientPublickey);
  const side = (
    option: "xsubEngine" | "xpubEngine" | "pushEngine" | "pullEngine",
    socket: string,
    [buffer, size]: [string, number],
    [endpointOption, endpoint]: [string, string],
    listens = false,
  ) => {
    if (c[option] !== "bun") return;
    const clash = (what: string) =>
      new RangeError(`Invalid option '${option}' (value: "bun"): ${what}; use ${option} "libzmq" for it`);
    if (listens ? server : client)
      throw clash(`CURVE (the ${listens ? "server" : "client"} keys are set) needs libzmq's ${socket}`);
    if (size !== -1) throw clash(`${buffer} (${size}) sets libzmq's socket buffer`);
    if (!(listens ? zmtpListenAddress(endpoint, c.ipv6) : zmtpAddress(endpoint))) {
      const shape = listens ? "tcp://host:port (host *, an IP address or localhost)" : "tcp://host:port";
      throw clash(`${endpointOption} ${JSON.stringify(endpoint)} is not ${shape} or ipc://path`);
    }
  };
  side("xsubEngine", "XSUB", ["xsubRcvbuf", c.xsubRcvbuf], ["connectXsubEndpoint", c.connectXsubEndpoint]);
  side("xpubEngine", "XPUB", ["xpubSndbuf", c.xpubSndbuf], ["connectXpubEndpoint", c.connectXpubEndpoint]);
  for (const [i, ep] of c.connectLogEndpoints.entries())
    side("pushEngine", "PUSH", ["logSndbuf", c.logSndbuf], [`connectLogEndpoints[${i}]`, ep]);
  if (c.listenLogEndpoint !== "")
    side("pullEngine", "PULL", ["logRcvbuf", c.logRcvbuf], ["listenLogEndpoint", c.listenLogEndpoint], true);
}

export function parseEnv(key: Key, raw: string, where: string): unknown {
  const [kind] = RULES[key];
  const text = raw.trim();
  const hint = hintFor(raw);
  switch (kind) {
    case "bool":
      if (/^(t|true|1|yes)$/i.test(text)) return true;
      if (/^(f|false|0|no)$/i.test(text)) return false;
      throw invalid(RangeError, where, "T or F", raw, hint);
    case "int":
      if (/^-?\d+$/.test(text)) return Number(text);
      throw invalid(RangeError, where, "an integer", raw, hint);
    case "policy":
      return text.toUpperCase();
    case "endpoints":
      return text === "" ? [] : text.split(/[\s,]+/).filter(Boolean);
    default:
      return text;
  }
}

// The keys of the nested option objects. `satisfies` makes a key added to the types fail the type
// check until it is listed here, so a new option is never refused as a typo.
const LOGGING_KEYS = {
  writeBufferSize: 1,
  flushInterval: 1,
  overflowPolicy: 1,
  acknowledge: 1,
  maxInFlight: 1,
  resendAfter: 1,
  dir: 1,
  format: 1,
  rotateInterval: 1,
  rotateSize: 1,
  maxOpenFiles: 1,
  files: 1,
  sink: 1,
} as const satisfies Record<keyof LoggingOptions, 1>;
const METRICS_KEYS = {
  coreMetrics: 1,
  topicNormalizations: 1,
  port: 1,
  hostname: 1,
} as const satisfies Record<keyof MetricsOptions, 1>;

/** Refuses a key that is not an option of the group, with the option it most likely means. */
function knownKeys(group: string, value: unknown, keys: Readonly<Record<string, 1>>): void {
  if (value === undefined) return;
  if (typeof value !== "object" || value === null || Array.isArray(value))
    throw invalid(TypeError, `option '${group}'`, "an object", value);
  const names = Object.keys(keys);
  for (const key of Object.keys(value))
    if (!Object.hasOwn(keys, key)) throw new TypeError(`Unknown option '${group}.${key}'${didYouMean(key, names)}`);
}

/**
 * Checks a node's `logging` and `metrics` objects: an unknown key (a typo such as `flushIntervall`)
 * is a TypeError naming it and the option it most likely means, and `metrics.port` must be a number
 * (a port from a string, as environment variables give them, is the caller's conversion to make).
 */
export function checkOptionGroups(logging: unknown, metrics: unknown): void {
  knownKeys("logging", logging, LOGGING_KEYS);
  knownKeys("metrics", metrics, METRICS_KEYS);
  const port = (metrics as MetricsOptions | undefined)?.port;
  if (port !== undefined && typeof port !== "number")
    throw invalid(TypeError, "option 'metrics.port'", "a port number from 0 to 65535 (0: a free one)", port);
  if (port !== undefined && !(Number.isInteger(port) && port >= 0 && port <= 65535))
    throw invalid(RangeError, "option 'metrics.port'", "a port number from 0 to 65535 (0: a free one)", port);
}
