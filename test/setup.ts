// Preloaded by bun test (bunfig.toml): hooks here apply to every test of every file. A hook
// registered inside a shared helper module would only apply to the first file that imports it.
import { afterEach } from "bun:test";
import { stopClusters, stopNodes } from "./cluster-helpers.ts";
import { killSpawned } from "./helpers.ts";

afterEach(async () => {
  killSpawned();
  await stopNodes();
  await stopClusters();
});
