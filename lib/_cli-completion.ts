/**
 * @module Private: `completion [bash|zsh]`, a shell completion script for every command and option the
 * program has, generated from commander's own tree (so it cannot fall behind a new command), and
 * cluster files (`*.json`, `*.ts`) for arguments. Install: `source <(zeek-zmq-cluster completion)`.
 */

import type { Command } from "commander";
import { type Cli, exits } from "./_cli-program.ts";

/** Each command path ("" for the program, "cluster up", …) with the words that may follow it. */
export function completionTable(program: Command): Map<string, string[]> {
  const table = new Map<string, string[]>();
  const walk = (command: Command, path: string) => {
    const words = [
      ...command.commands.map((c) => c.name()),
      ...command.options.flatMap((o) => [o.long, o.short].filter((w): w is string => w !== undefined)),
      "--help",
    ];
    table.set(path, [...new Set(words)]);
    for (const sub of command.commands) walk(sub, path ? `${path} ${sub.name()}` : sub.name());
  };
  walk(program, "");
  return table;
}

/**
 * The bash script (zsh runs it through `bashcompinit`): the longest command path among the words typed
 * so far picks the commands and options offered; a word that is not an option also completes file names.
 *
 * @example The words after `cluster`
 * ```ts
 * import { Command } from "commander";
 * import { completionScript } from "./_cli-completion.ts";
 *
 * const program = new Command("zz");
 * program.command("cluster").command("up").option("--isolated");
 * const script = completionScript(program, "bash");
 * console.log(script.includes('*" cluster "*) words="up --help" ;;')); // true
 * ```
 */
export function completionScript(program: Command, shell: "bash" | "zsh"): string {
  const name = program.name();
  const fn = `_${name.replace(/[^A-Za-z0-9]/g, "_")}_complete`;
  const cases = [...completionTable(program)]
    .filter(([path]) => path !== "")
    .toSorted(([a], [b]) => b.split(" ").length - a.split(" ").length) // longest path first
    .map(([path, words]) => `    *" ${path} "*) words="${words.join(" ")}" ;;`);
  const top = completionTable(program).get("")!.join(" ");
  const lines = [
    `# ${shell} completion for ${name}: source <(${name} completion ${shell})`,
    ...(shell === "zsh" ? ["autoload -U +X bashcompinit && bashcompinit"] : []),
    `${fn}() {`,
    `  local cur="\${COMP_WORDS[COMP_CWORD]}" typed=" \${COMP_WORDS[*]:1:COMP_CWORD-1} " words`,
    `  case "$typed" in`,
    ...cases,
    `    *) words="${top}" ;;`,
    "  esac",
    '  COMPREPLY=($(compgen -W "$words" -- "$cur"))',
    '  [[ "$cur" == -* ]] || COMPREPLY+=($(compgen -f -- "$cur"))',
    "}",
    `complete -o filenames -F ${fn} ${name}`,
  ];
  return `${lines.join("\n")}\n`;
}

/** Adds `completion [shell]` to the program. */
export function register(cli: Cli): void {
  cli.program
    .command("completion")
    .description("print a shell completion script: source <(zeek-zmq-cluster completion)")
    .argument("[shell]", "bash or zsh", "bash")
    .helpOption("-h, --help", "show this help")
    .action(
      exits("completion", (shell: string) => {
        if (shell !== "bash" && shell !== "zsh") throw new RangeError(`Invalid shell '${shell}': expected bash or zsh`);
        process.stdout.write(completionScript(cli.program, shell));
        return 0;
      }),
    );
}
