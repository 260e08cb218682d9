#!/usr/bin/env bun
/**
 * Writes schema/cluster.schema.json from lib/_cluster-schema.ts (the option rules and the cluster file
 * types): `bun scripts/cluster-schema.ts`. test/cluster-schema.test.ts fails while the file is stale.
 */

import { clusterSchema } from "../lib/_cluster-schema.ts";

const path = new URL("../schema/cluster.schema.json", import.meta.url).pathname;
await Bun.write(path, `${JSON.stringify(clusterSchema(), null, 2)}\n`);
console.log(`wrote ${path}`);
