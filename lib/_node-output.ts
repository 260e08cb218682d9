/**
 * @module Private: where a node process's stdout and stderr go: line by line, prefixed with the
 * node's name (coloured on a terminal), to a function, or nowhere (but still read, so that a chatty
 * node never blocks on a full pipe).
 */

import { styleText } from "node:util";

/** Where node output goes; see `LaunchOptions.output`. */
export type NodeOutput = "prefixed" | "silent" | ((node: string, line: string) => void);

const COLORS = ["cyan", "green", "yellow", "magenta", "blue", "red"] as const;

/** Reads `stream` to its end, passing each line of node `name` (one of `names`) on as `output` says. */
export function pipeNodeOutput(
  stream: ReadableStream<Uint8Array>,
  name: string,
  names: readonly string[],
  output: NodeOutput,
  color: boolean,
): void {
  if (output === "silent") {
    (async () => {
      for await (const _ of stream);
    })();
    return;
  }
  const label = `${name.padEnd(Math.max(...names.map((n) => n.length)))} |`;
  const hue = COLORS[names.indexOf(name) % COLORS.length]!;
  const prefix = color ? styleText(hue, label, { validateStream: false }) : label;
  const emit =
    typeof output === "function"
      ? (line: string) => output(name, line)
      : (line: string) => process.stdout.write(`${prefix} ${line}\n`);
  (async () => {
    const decoder = new TextDecoder();
    let rest = "";
    for await (const chunk of stream) {
      const lines = (rest + decoder.decode(chunk, { stream: true })).split("\n");
      rest = lines.pop() ?? "";
      for (const line of lines) emit(line);
    }
    if (rest) emit(rest);
  })();
}
