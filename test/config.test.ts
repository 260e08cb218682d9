import { describe, expect, test } from "bun:test";
import {
  DEFAULT_CONFIG,
  envVarName,
  isEndpoint,
  resolveConfig,
  ZEEK_OPTION_NAMES,
  type ZeroMQOptions,
} from "../lib/config.ts";

// Transcribed from the seed's main.zeek (`const <name> = <default> &redef`), plus onloop_queue_hwm
// (10000) and the four CURVE keys ("") that the issue and Zeek's options.zeek add, and this library's
// limits and heartbeats (not Zeek's: marked below).
const SEED_DEFAULTS: Record<string, string | number | boolean | readonly string[]> = {
  overflow_policy: "BLOCK",
  connect_xpub_endpoint: "tcp://127.0.0.1:5556",
  connect_xsub_endpoint: "tcp://127.0.0.1:5555",
  connect_log_endpoints: [],
  run_proxy_thread: false,
  proxy_io_threads: 2,
  listen_xsub_endpoint: "tcp://127.0.0.1:5556",
  listen_xpub_endpoint: "tcp://127.0.0.1:5555",
  listen_log_endpoint: "",
  linger_ms: 500,
  xpub_sndhwm: 1000,
  xpub_sndbuf: -1,
  xsub_rcvhwm: 1000,
  xsub_rcvbuf: -1,
  listen_xsub_rcvhwm: 1000, // not Zeek's
  listen_xsub_rcvbuf: -1, // not Zeek's
  listen_xpub_sndhwm: 1000, // not Zeek's
  listen_xpub_sndbuf: -1, // not Zeek's
  log_immediate: false,
  log_sndhwm: 1000,
  log_rcvhwm: 1000,
  log_sndbuf: -1,
  log_rcvbuf: -1,
  max_message_size: 16 * 1024 * 1024, // not Zeek's
  max_topic_length: 1024, // not Zeek's
  heartbeat_ivl: 1000, // not Zeek's
  heartbeat_timeout: 3000, // not Zeek's
  heartbeat_ttl: 3000, // not Zeek's
  ipv6: true,
  connect_xpub_nodrop: true,
  listen_xpub_nodrop: true,
  poll_max_messages: 100,
  debug_flags: 0,
  node_topic_prefix: "zeek.cluster.node",
  nodeid_topic_prefix: "zeek.cluster.nodeid",
  hello_expiration: 10_000,
  internal_topic_prefix: "zeek.zeromq.internal.",
  onloop_queue_hwm: 10_000,
  xsub_engine: "libzmq", // not Zeek's: who speaks for the node's XSUB and XPUB connections
  xpub_engine: "libzmq",
  push_engine: "libzmq",
  pull_engine: "libzmq",
  curve_server_publickey: "",
  curve_server_secretkey: "",
  curve_client_publickey: "",
  curve_client_secretkey: "",
};

const KEY = "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7"; // a valid 40-character Z85 key

describe("resolveConfig()", () => {
  test("defaults equal the seed's main.zeek, under Zeek's names", () => {
    const config = resolveConfig({}, {});
    const byZeekName = Object.fromEntries(
      Object.entries(config).map(([key, value]) => [ZEEK_OPTION_NAMES[key as keyof typeof config], value]),
    );
    expect(byZeekName).toEqual(SEED_DEFAULTS);
    expect(DEFAULT_CONFIG).toEqual(config);
    expect(Object.isFrozen(config)).toBe(true);
  });

  test("options override defaults and are validated", () => {
    const config = resolveConfig({ overflowPolicy: "DROP", xpubSndhwm: 0, connectLogEndpoints: ["ipc:///tmp/x"] }, {});
    expect(config.overflowPolicy).toBe("DROP");
    expect(config.xpubSndhwm).toBe(0);
    expect(config.connectLogEndpoints).toEqual(["ipc:///tmp/x"]);
    expect(config.xsubRcvhwm).toBe(1000);
  });

  test("environment variables override defaults; explicit options override the environment", () => {
    const env = {
      [envVarName("connectXsubEndpoint")]: "tcp://10.0.0.1:27760",
      [envVarName("xpubSndhwm")]: "0",
      [envVarName("ipv6")]: "F",
      [envVarName("overflowPolicy")]: "drop",
      [envVarName("connectLogEndpoints")]: "tcp://10.0.0.2:27762, tcp://10.0.0.3:27762",
    };
    expect(envVarName("connectXsubEndpoint")).toBe("ZEEK_CLUSTER_BACKEND_ZEROMQ_CONNECT_XSUB_ENDPOINT");
    const config = resolveConfig({ xpubSndhwm: 5 }, env);
    expect(config.connectXsubEndpoint).toBe("tcp://10.0.0.1:27760");
    expect(config.ipv6).toBe(false);
    expect(config.overflowPolicy).toBe("DROP");
    expect(config.connectLogEndpoints).toEqual(["tcp://10.0.0.2:27762", "tcp://10.0.0.3:27762"]);
    expect(config.xpubSndhwm).toBe(5);
  });

  test("CURVE keys come from Zeek's environment variables", () => {
    expect(envVarName("curveServerSecretkey")).toBe("ZEEK_CLUSTER_BACKEND_ZEROMQ_CURVE_SERVER_SECRETKEY");
    const config = resolveConfig({}, { ZEEK_CLUSTER_BACKEND_ZEROMQ_CURVE_CLIENT_PUBLICKEY: KEY });
    expect(config.curveClientPublickey).toBe(KEY);
  });

  test("CURVE keys as options and in the environment at once are an error, as in Zeek", () => {
    expect(() =>
      resolveConfig({ curveServerSecretkey: KEY }, { ZEEK_CLUSTER_BACKEND_ZEROMQ_CURVE_CLIENT_PUBLICKEY: KEY }),
    ).toThrow(/curveServerSecretkey.*options and environment variables.*CURVE_CLIENT_PUBLICKEY/);
  });
});

describe("resolveConfig() validation", () => {
  const cases: [string, unknown, ErrorConstructor, RegExp][] = [
    ["xpubSndhwm", -1, RangeError, /option 'xpubSndhwm' \(Zeek: xpub_sndhwm\).*from 0.*got -1/],
    ["xsubRcvhwm", 1.5, RangeError, /xsubRcvhwm.*got 1\.5/],
    ["logSndhwm", "100", TypeError, /logSndhwm.*an integer, got '100'/],
    ["lingerMs", -2, RangeError, /lingerMs.*from -1.*got -2/],
    ["proxyIoThreads", 0, RangeError, /proxyIoThreads.*from 1.*got 0/],
    ["onloopQueueHwm", 2 ** 31, RangeError, /onloopQueueHwm.*got 2147483648/],
    ["ipv6", "yes", TypeError, /ipv6.*a boolean, got 'yes'/],
    ["overflowPolicy", "block", RangeError, /overflowPolicy.*"BLOCK" or "DROP", got 'block'/],
    ["connectXpubEndpoint", "127.0.0.1:5556", RangeError, /connectXpubEndpoint.*got '127\.0\.0\.1:5556'/],
    ["connectXpubEndpoint", "tcp://127.0.0.1", RangeError, /got 'tcp:\/\/127\.0\.0\.1'/],
    ["connectXpubEndpoint", "tcp://127.0.0.1:70000", RangeError, /got 'tcp:\/\/127\.0\.0\.1:70000'/],
    ["listenXpubEndpoint", "tcp://::1:5555", RangeError, /got 'tcp:\/\/::1:5555' \(IPv6 addresses go in brackets\)/],
    ["listenXpubEndpoint", 5555, TypeError, /listenXpubEndpoint.*an endpoint string, got 5555/],
    ["connectLogEndpoints", "tcp://127.0.0.1:1", TypeError, /connectLogEndpoints.*an array/],
    ["connectLogEndpoints", ["tcp://127.0.0.1:1", "nope"], RangeError, /connectLogEndpoints.*\[1\].*got 'nope'/],
    ["nodeTopicPrefix", "", RangeError, /nodeTopicPrefix.*non-empty/],
    ["curveServerPublickey", "short", RangeError, /curveServerPublickey.*40-character Z85/],
  ];
  for (const [option, value, Err, message] of cases) {
    test(`${option} = ${JSON.stringify(value)} is a ${Err.name}`, () => {
      const call = () => resolveConfig({ [option]: value } as ZeroMQOptions, {});
      expect(call).toThrow(Err);
      expect(call).toThrow(message);
    });
  }

  test("an unknown option is a TypeError that lists the known ones", () => {
    expect(() => resolveConfig({ xpubSndHwm: 5 } as ZeroMQOptions, {})).toThrow(TypeError);
    expect(() => resolveConfig({ xpubSndHwm: 5 } as ZeroMQOptions, {})).toThrow(
      /Unknown option 'xpubSndHwm'.*xpubSndhwm/,
    );
  });

  test("a non-object is a TypeError", () => {
    expect(() => resolveConfig(null as unknown as ZeroMQOptions, {})).toThrow(TypeError);
  });

  test("a bad environment value names the variable", () => {
    const env = { ZEEK_CLUSTER_BACKEND_ZEROMQ_XPUB_SNDHWM: "lots" };
    expect(() => resolveConfig({}, env)).toThrow(RangeError);
    expect(() => resolveConfig({}, env)).toThrow(
      /environment variable ZEEK_CLUSTER_BACKEND_ZEROMQ_XPUB_SNDHWM.*'lots'/,
    );
    expect(() => resolveConfig({}, { ZEEK_CLUSTER_BACKEND_ZEROMQ_LISTEN_XSUB_ENDPOINT: "tcp://x" })).toThrow(
      /LISTEN_XSUB_ENDPOINT.*'tcp:\/\/x'/,
    );
  });
});

describe("isEndpoint()", () => {
  test("accepts what libzmq binds and connects to", () => {
    for (const ep of [
      "tcp://127.0.0.1:5555",
      "tcp://*:5555",
      "tcp://127.0.0.1:*",
      "tcp://[::1]:5555",
      "tcp://localhost:1",
      "tcp://eth0:5555",
      "ipc:///tmp/zeek.sock",
      "inproc://x",
      "tcp://127.0.0.1;10.0.0.1:5555",
    ]) {
      expect(isEndpoint(ep)).toBe(true);
    }
  });
  test("rejects malformed ones", () => {
    for (const ep of [
      "",
      "tcp://",
      "tcp://host",
      "udp://127.0.0.1:5",
      "tcp://::1:5555",
      "ipc://",
      "tcp://h:65536",
      "inproc://",
    ]) {
      expect(isEndpoint(ep)).toBe(false);
    }
  });
});

describe("docs/config.md", () => {
  test("lists every option with its Zeek name, default and environment variable", async () => {
    const doc = await Bun.file(new URL("../docs/config.md", import.meta.url)).text();
    const rows = new Map(
      [...doc.matchAll(/^\| `(\w+)` \| `(\w+)` \| `(.*?)` \| `(\w+)` \|$/gm)].map((m) => [m[1], m.slice(2)]),
    );
    expect([...rows.keys()].sort()).toEqual(Object.keys(DEFAULT_CONFIG).sort());
    for (const [key, value] of Object.entries(DEFAULT_CONFIG)) {
      const option = key as keyof typeof DEFAULT_CONFIG;
      expect(rows.get(key)).toEqual([ZEEK_OPTION_NAMES[option], JSON.stringify(value), envVarName(option)]);
    }
  });
});
