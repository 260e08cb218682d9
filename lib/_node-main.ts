#!/usr/bin/env bun
// The script of a node that has none in its cluster file: a plain node of its type (a logger that
// writes the logs it receives, a proxy, a worker …), run by the launcher.
import { runNode } from "./runtime.ts";

await runNode();
