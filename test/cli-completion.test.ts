// `completion`: the script comes from the program's own command tree, and bash completes with it.

import { expect, test } from "bun:test";
import { join } from "node:path";

const CLI = join(import.meta.dir, "..", "lib", "cli.ts");

function cli(...args: string[]) {
  const r = Bun.spawnSync([process.execPath, CLI, ...args], { timeout: 20_000 });
  return { code: r.exitCode, out: r.stdout.toString(), err: r.stderr.toString() };
}

/** What bash offers after `words` (the last one is being typed). */
function complete(script: string, words: string[]): string[] {
  const line = `source /dev/stdin <<'EOS'\n${script}EOS\nCOMP_WORDS=(zeek-zmq-cluster ${words.map((w) => `'${w}'`).join(" ")}); COMP_CWORD=${words.length}; _zeek_zmq_cluster_complete; printf '%s\\n' "\${COMPREPLY[@]}"`;
  const r = Bun.spawnSync(["bash", "-c", line], { cwd: join(import.meta.dir, ".."), timeout: 10_000 });
  return r.stdout.toString().split("\n").filter(Boolean);
}

test("bash completes commands, the cluster group's commands, options and files", () => {
  const { code, out } = cli("completion");
  expect(code).toBe(0);
  expect(complete(out, ["cl"])).toEqual(["cluster"]);
  expect(complete(out, ["cluster", ""])).toEqual(
    expect.arrayContaining(["up", "check", "status", "stop", "restart", "top", "package.json"]),
  );
  expect(complete(out, ["cluster", "up", "--is"])).toEqual(["--isolated"]);
  expect(complete(out, ["sub", "--"])).toContain("--json");
  expect(complete(out, ["cluster", "up", "package.j"])).toEqual(["package.json"]);
});

test("zsh gets the same script through bashcompinit; another shell is an error naming it", () => {
  const zsh = cli("completion", "zsh");
  expect(zsh.code).toBe(0);
  expect(zsh.out).toContain("bashcompinit");
  expect(zsh.out).toContain('*" cluster up "*)');
  const fish = cli("completion", "fish");
  expect(fish.code).toBe(1);
  expect(fish.err).toContain("Invalid shell 'fish': expected bash or zsh");
});
