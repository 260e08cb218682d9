import { expect, test } from "bun:test";
import * as mod from "../mod.ts";

test("mod.ts re-exports the public API", () => {
  for (const name of [
    "ClusterNode", "Broker", "startBroker", "Discovery", "resolveConfig", "nodeConfig", "validateLayout",
    "DEFAULT_CONFIG", "ZEEK_OPTION_NAMES", "MSGPACK_V1", "registerFormat", "getFormat", "nodeTopic", "nodeidTopic",
    "EVENTS", "ROLE_TOPICS", "POOL_TOPICS", "ClusterError", "ZmqError", "curveKeypair", "makeNodeId",
  ]) {
    expect(mod[name as keyof typeof mod], name).toBeDefined();
  }
});
