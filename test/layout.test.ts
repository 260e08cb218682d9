import { describe, expect, test } from "bun:test";
import { addrToUri, type ClusterLayout, nodeConfig, validateLayout } from "../lib/layout.ts";

const IP = "127.0.0.1";
const LOG_PULL_PORT = 27762;

// Zeek's btest layouts (testing/btest/Files/zeromq/cluster-layout-*.zeek).
const SIMPLE: ClusterLayout = {
  nodes: {
    manager: { type: "manager", ip: IP },
    logger: { type: "logger", ip: IP, port: LOG_PULL_PORT },
    proxy: { type: "proxy", ip: IP },
    "worker-1": { type: "worker", ip: IP },
    "worker-2": { type: "worker", ip: IP },
  },
  managerIsLogger: false,
};
const NO_LOGGER: ClusterLayout = {
  nodes: {
    manager: { type: "manager", ip: IP, port: LOG_PULL_PORT },
    proxy: { type: "proxy", ip: IP },
    "worker-1": { type: "worker", ip: IP },
    "worker-2": { type: "worker", ip: IP },
  },
  managerIsLogger: true,
};
const TWO_LOGGERS: ClusterLayout = {
  nodes: {
    manager: { type: "manager", ip: IP },
    "logger-1": { type: "logger", ip: IP, port: LOG_PULL_PORT },
    "logger-2": { type: "logger", ip: IP, port: LOG_PULL_PORT + 1 },
    proxy: { type: "proxy", ip: IP },
    "worker-1": { type: "worker", ip: IP },
    "worker-2": { type: "worker", ip: IP },
  },
  managerIsLogger: false,
};

const derive = (layout: ClusterLayout, name: string) => {
  const c = nodeConfig(layout, name, {}, {});
  return {
    runProxyThread: c.runProxyThread,
    listenLogEndpoint: c.listenLogEndpoint,
    connectLogEndpoints: c.connectLogEndpoints,
  };
};
const LOGGER_EP = `tcp://${IP}:${LOG_PULL_PORT}`;

describe("nodeConfig() on Zeek's test layouts", () => {
  test("simple: the manager runs the broker, the logger listens, everyone else sends it logs", () => {
    expect(derive(SIMPLE, "manager")).toEqual({
      runProxyThread: true,
      listenLogEndpoint: "",
      connectLogEndpoints: [LOGGER_EP],
    });
    expect(derive(SIMPLE, "logger")).toEqual({
      runProxyThread: false,
      listenLogEndpoint: LOGGER_EP,
      connectLogEndpoints: [],
    });
    for (const name of ["proxy", "worker-1", "worker-2"]) {
      expect(derive(SIMPLE, name)).toEqual({
        runProxyThread: false,
        listenLogEndpoint: "",
        connectLogEndpoints: [LOGGER_EP],
      });
    }
  });

  test("no-logger: the manager is the logger", () => {
    expect(derive(NO_LOGGER, "manager")).toEqual({
      runProxyThread: true,
      listenLogEndpoint: LOGGER_EP,
      connectLogEndpoints: [],
    });
    for (const name of ["proxy", "worker-1", "worker-2"]) {
      expect(derive(NO_LOGGER, name)).toEqual({
        runProxyThread: false,
        listenLogEndpoint: "",
        connectLogEndpoints: [LOGGER_EP],
      });
    }
  });

  test("no-logger without managerIsLogger given: the manager is the logger by default", () => {
    const { managerIsLogger: _, ...implicit } = NO_LOGGER;
    expect(validateLayout(implicit).managerIsLogger).toBe(true);
    expect(derive(implicit, "worker-1").connectLogEndpoints).toEqual([LOGGER_EP]);
  });

  test("two loggers: every non-logger connects to both, in layout order", () => {
    const both: [string, string] = [LOGGER_EP, `tcp://${IP}:${LOG_PULL_PORT + 1}`];
    expect(derive(TWO_LOGGERS, "logger-2")).toEqual({
      runProxyThread: false,
      listenLogEndpoint: both[1],
      connectLogEndpoints: [],
    });
    for (const name of ["manager", "proxy", "worker-1", "worker-2"])
      expect(derive(TWO_LOGGERS, name).connectLogEndpoints).toEqual(both);
  });

  test("IPv6 addresses are bracketed, also for the manager-as-logger, and turn ipv6 on", () => {
    const layout: ClusterLayout = {
      nodes: { manager: { type: "manager", ip: "::1", port: 27762 }, "worker-1": { type: "worker", ip: "::1" } },
    };
    expect(nodeConfig(layout, "manager", {}, {}).listenLogEndpoint).toBe("tcp://[::1]:27762");
    const worker = nodeConfig(layout, "worker-1", { ipv6: false }, {});
    expect(worker.connectLogEndpoints).toEqual(["tcp://[::1]:27762"]);
    expect(nodeConfig(layout, "worker-1", {}, {}).ipv6).toBe(true);
    expect(addrToUri("10.1.2.3")).toBe("10.1.2.3");
  });

  test("explicit options and environment overrides win over what is derived", () => {
    expect(nodeConfig(SIMPLE, "manager", { runProxyThread: false }, {}).runProxyThread).toBe(false);
    const env = { ZEEK_CLUSTER_BACKEND_ZEROMQ_CONNECT_LOG_ENDPOINTS: "ipc:///tmp/logs" };
    expect(nodeConfig(SIMPLE, "worker-1", {}, env).connectLogEndpoints).toEqual(["ipc:///tmp/logs"]);
  });

  test("a single-node layout needs no logger", () => {
    const solo: ClusterLayout = { nodes: { manager: { type: "manager", ip: IP } }, managerIsLogger: false };
    expect(nodeConfig(solo, "manager", {}, {}).connectLogEndpoints).toEqual([]);
  });
});

describe("layout validation", () => {
  const base = SIMPLE.nodes;
  const cases: [string, ClusterLayout, ErrorConstructor, RegExp][] = [
    [
      "unknown node type",
      { nodes: { ...base, x: { type: "wroker" as "worker", ip: IP } } },
      RangeError,
      /nodes\["x"\]\.type: expected manager \| logger \| proxy \| worker, got 'wroker'/,
    ],
    [
      "node type of the wrong type",
      { nodes: { x: { type: 1 as unknown as "worker", ip: IP } } },
      TypeError,
      /nodes\["x"\]\.type/,
    ],
    [
      "bad ip",
      { nodes: { ...base, x: { type: "worker", ip: "127.0.0.256" } } },
      RangeError,
      /nodes\["x"\]\.ip: .*got '127\.0\.0\.256'/,
    ],
    ["bracketed ip", { nodes: { x: { type: "worker", ip: "[::1]" } } }, RangeError, /no brackets.*got '\[::1\]'/],
    [
      "port out of range",
      { nodes: { ...base, logger: { type: "logger", ip: IP, port: 0 } } },
      RangeError,
      /nodes\["logger"\]\.port: .*got 0/,
    ],
    [
      "port as a string",
      { nodes: { ...base, logger: { type: "logger", ip: IP, port: "27762" as unknown as number } } },
      TypeError,
      /port/,
    ],
    [
      "logger without a port",
      { nodes: { ...base, logger: { type: "logger", ip: IP } } },
      RangeError,
      /nodes\["logger"\]\.port: expected a port: this node receives the logs/,
    ],
    [
      "unknown node field",
      { nodes: { x: { type: "worker", ip: IP, prot: 1 } as never } },
      TypeError,
      /nodes\["x"\] has unknown field 'prot'/,
    ],
    ["two managers", { nodes: { ...base, m2: { type: "manager", ip: IP } } }, RangeError, /at most one manager/],
    ["no nodes", { nodes: {} }, RangeError, /at least one node/],
    [
      "two nodes on one ip and port",
      { nodes: { ...base, "logger-2": { type: "logger", ip: IP, port: base.logger!.port!, metricsPort: 9 } } },
      RangeError,
      /nodes\["logger-2"\]\.port: expected a port no other node uses on 127\.0\.0\.1 \(nodes\["logger"\]\.port has it\), got 27762/,
    ],
    [
      "a metrics port taken by another node",
      {
        nodes: {
          ...base,
          x: { type: "worker", ip: IP, metricsPort: 9991 },
          y: { type: "worker", ip: IP, metricsPort: 9991 },
        },
      },
      RangeError,
      /nodes\["y"\]\.metricsPort: .*nodes\["x"\]\.metricsPort has it/,
    ],
    ["name with a space", { nodes: { "worker 1": { type: "worker", ip: IP } } }, RangeError, /node name/],
  ];
  for (const [what, layout, Err, message] of cases) {
    test(`${what}: ${Err.name}`, () => {
      expect(() => validateLayout(layout)).toThrow(Err);
      expect(() => validateLayout(layout)).toThrow(message);
    });
  }

  test("a node name not in the layout is a RangeError", () => {
    expect(() => nodeConfig(SIMPLE, "worker-3", {}, {})).toThrow(
      /node name: expected one of manager, logger.*got 'worker-3'/,
    );
  });

  test("no logger endpoints with more than one node is an error", () => {
    const layout: ClusterLayout = {
      nodes: { manager: { type: "manager", ip: IP }, "worker-1": { type: "worker", ip: IP } },
      managerIsLogger: false,
    };
    expect(() => nodeConfig(layout, "worker-1", {}, {})).toThrow(RangeError);
    expect(() => nodeConfig(layout, "worker-1", {}, {})).toThrow(/node 'worker-1' has no logger to send logs to/);
    expect(
      nodeConfig(layout, "worker-1", { connectLogEndpoints: ["tcp://127.0.0.1:9"] }, {}).connectLogEndpoints,
    ).toHaveLength(1);
  });
});
