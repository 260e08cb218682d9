/**
 * @module "Did you mean …?" for a misspelt option or field name. Zeek's operators write Zeek's
 * spelling (`overflow_policy`, `Cluster::Backend::ZeroMQ::xpub_sndhwm`), so names are compared with
 * Zeek's prefix, underscores, dashes and case taken away before the edit distance is looked at.
 */

/** `Cluster::Backend::ZeroMQ::xpub_sndhwm` → `xpubsndhwm`: what a name is without its spelling. */
const bare = (name: string): string =>
  (name.includes("::") ? name.slice(name.lastIndexOf("::") + 2) : name).replace(/[-_\s]/g, "").toLowerCase();

/** Optimal string alignment distance: insertions, deletions, substitutions and swaps of neighbours. */
function distance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => [i]);
  for (let j = 1; j <= b.length; j++) d[0]![j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let best = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1])
        best = Math.min(best, d[i - 2]![j - 2]! + 1);
      d[i]![j] = best;
    }
  }
  return d[a.length]![b.length]!;
}

/**
 * The candidate `name` most likely means, or undefined when none is close: the same name in another
 * spelling (snake_case, kebab-case, other case, Zeek's `Module::` prefix), else one within a third
 * of its length in edits.
 *
 * @example Zeek's spelling and a typo
 * ```ts
 * import { closest } from "./_suggest.ts";
 *
 * console.log(closest("overflow_policy", ["overflowPolicy", "lingerMs"])); // "overflowPolicy"
 * console.log(closest("flushIntervall", ["flushInterval", "dir"])); // "flushInterval"
 * console.log(closest("bogus", ["overflowPolicy", "lingerMs"])); // undefined
 * ```
 */
export function closest(name: string, candidates: Iterable<string>): string | undefined {
  const want = bare(name);
  let best: string | undefined;
  let bestDistance = Math.max(1, Math.floor(want.length / 3)) + 1;
  for (const candidate of candidates) {
    const d = distance(want, bare(candidate));
    if (d < bestDistance) [best, bestDistance] = [candidate, d];
  }
  return best;
}

/**
 * The end of an "unknown name" message: `; did you mean 'x'?` when one is close, else the list of
 * names when it is short, else nothing (a long list buries the answer; the caller says where the
 * names are documented).
 *
 * @example The end of an error message
 * ```ts
 * import { didYouMean } from "./_suggest.ts";
 *
 * console.log(`Unknown option 'overflow_policy'${didYouMean("overflow_policy", ["overflowPolicy"])}`);
 * // "Unknown option 'overflow_policy'; did you mean 'overflowPolicy'?"
 * ```
 */
export function didYouMean(name: string, candidates: readonly string[], listUpTo = 10): string {
  const match = closest(name, candidates);
  if (match !== undefined) return `; did you mean '${match}'?`;
  return candidates.length <= listUpTo ? ` (expected one of ${candidates.join(", ")})` : "";
}
