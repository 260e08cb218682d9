// Typos in a node's nested option objects (`logging`, `metrics`) used to be accepted silently: the
// option kept its default and nothing said why. They are TypeErrors now, naming the key and the
// option it most likely means, in code and in cluster files alike.

import { describe, expect, test } from "bun:test";
import { validateClusterFile } from "../lib/cluster-file.ts";
import { ClusterNode } from "../lib/pubsub.ts";

const node = (options: Record<string, unknown>) => () =>
  new ClusterNode({ name: "w", connectLogEndpoints: ["ipc:///tmp/nobody"], ...options } as never);

describe("nested options", () => {
  test("an unknown key in logging names the key and the likely option", () => {
    expect(node({ logging: { flushIntervall: 5 } })).toThrow(
      new TypeError("Unknown option 'logging.flushIntervall'; did you mean 'flushInterval'?"),
    );
    expect(node({ logging: { write_buffer_size: 10 } })).toThrow(/did you mean 'writeBufferSize'\?/);
  });

  test("an unknown key in metrics names the key and the likely option", () => {
    expect(node({ metrics: { prot: 9991 } })).toThrow(
      new TypeError("Unknown option 'metrics.prot'; did you mean 'port'?"),
    );
    expect(node({ metrics: { core_metrics: ["INFO"] } })).toThrow(/did you mean 'coreMetrics'\?/);
  });

  test("a key like no option at all lists the options (the groups are short)", () => {
    expect(node({ metrics: { scrape: 1 } })).toThrow(
      "Unknown option 'metrics.scrape' (expected one of coreMetrics, topicNormalizations, port, hostname)",
    );
  });

  test("metrics.port as a string is a TypeError naming the option and the value", () => {
    expect(node({ metrics: { port: "9991" } })).toThrow(
      new TypeError(
        "Invalid option 'metrics.port': expected a port number from 0 to 65535 (0: a free one), got '9991'",
      ),
    );
    expect(node({ metrics: { port: 70000 } })).toThrow(RangeError);
    expect(node({ metrics: { port: 1.5 } })).toThrow("got 1.5");
  });

  test("the groups themselves must be objects", () => {
    expect(node({ logging: "json" })).toThrow(
      new TypeError("Invalid option 'logging': expected an object, got 'json'"),
    );
  });

  test("every option still works", () => {
    const n = node({
      logging: { writeBufferSize: 10, flushInterval: 5, overflowPolicy: "DROP", acknowledge: false, maxInFlight: 4 },
      metrics: { port: 0, hostname: "127.0.0.1", coreMetrics: ["INFO"] },
    })();
    expect(n.name).toBe("w");
  });
});

describe("cluster files", () => {
  test("a typo in the logging section is refused before anything starts", () => {
    const file = {
      nodes: { manager: { type: "manager", ip: "127.0.0.1", port: 27762 } },
      logging: { dir: "logs", rotateIntervall: 3600000 },
    };
    expect(() => validateClusterFile(file as never, "/tmp")).toThrow(
      new TypeError("Unknown option 'logging.rotateIntervall'; did you mean 'rotateInterval'?"),
    );
  });
});
