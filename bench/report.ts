/**
 * @module Presenting benchmark results: aligned text tables for the terminal and an SVG chart of
 * throughput and drops against offered load, BLOCK vs DROP, written by hand (no chart library).
 */

import type { ChainRun } from "./chain.ts";

/** A text table with a header row; numbers right-aligned. */
export function table(header: string[], rows: (string | number)[][]): string {
  const cells = [header, ...rows.map((r) => r.map((c) => (typeof c === "number" ? fmt(c) : c)))];
  const widths = header.map((_, i) => Math.max(...cells.map((r) => String(r[i] ?? "").length)));
  const line = (r: string[], numeric: boolean[]) =>
    r.map((c, i) => (numeric[i] ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join("  ");
  const numeric = header.map((_, i) => rows.every((r) => typeof r[i] === "number"));
  return [
    line(header, numeric),
    widths.map((w) => "─".repeat(w)).join("  "),
    ...cells.slice(1).map((r) => line(r as string[], numeric)),
  ].join("\n");
}

/** 1234567 → "1.23M", 12345 → "12.3k", 12.345 → "12.3". */
export function fmt(n: number): string {
  if (!Number.isFinite(n)) return String(n);
  const abs = Math.abs(n);
  if (abs >= 1e6) return `${(n / 1e6).toFixed(2)}M`;
  if (abs >= 1e4) return `${(n / 1e3).toFixed(1)}k`;
  if (abs >= 100 || Number.isInteger(n)) return String(Math.round(n));
  return n.toFixed(abs >= 10 ? 1 : 2);
}

const W = 760;
const H = 420;
const M = { left: 70, right: 70, top: 40, bottom: 60 };
const COLORS = { BLOCK: "#1f77b4", DROP: "#d62728" } as const;

/**
 * The sweep as an SVG line chart: x = offered load (events/s), left y = events/s received (solid),
 * right y = events dropped per second offered (dashed), one colour per policy. Unlimited runs are
 * drawn at the rate the publisher actually reached.
 */
export function sweepSvg(runs: ChainRun[], title: string): string {
  const x = (r: ChainRun) => (r.rate > 0 ? r.rate : r.sentPerSec);
  const drops = (r: ChainRun) => ((r.xpubDrops + r.onloopDrops) / Math.max(1, r.sent)) * 100;
  const maxX = niceCeil(Math.max(1, ...runs.map(x)));
  const maxY = niceCeil(Math.max(1, ...runs.map((r) => r.receivedPerSec)));
  const px = (v: number) => M.left + (v / maxX) * (W - M.left - M.right);
  const py = (v: number) => H - M.bottom - (v / maxY) * (H - M.top - M.bottom);
  const pyPct = (v: number) => H - M.bottom - (v / 100) * (H - M.top - M.bottom);
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${W / 2}" y="22" text-anchor="middle" font-size="15">${escapeXml(title)}</text>`,
  ];
  for (let i = 0; i <= 5; i++) {
    const [vx, vy, pct] = [(maxX * i) / 5, (maxY * i) / 5, 20 * i];
    out.push(`<line x1="${M.left}" x2="${W - M.right}" y1="${py(vy)}" y2="${py(vy)}" stroke="#eee"/>`);
    out.push(`<text x="${M.left - 6}" y="${py(vy) + 4}" text-anchor="end">${fmt(vy)}</text>`);
    out.push(`<text x="${W - M.right + 6}" y="${pyPct(pct) + 4}">${pct}%</text>`);
    out.push(`<text x="${px(vx)}" y="${H - M.bottom + 18}" text-anchor="middle">${fmt(vx)}</text>`);
  }
  out.push(`<line x1="${M.left}" x2="${M.left}" y1="${M.top}" y2="${H - M.bottom}" stroke="#333"/>`);
  out.push(`<line x1="${W - M.right}" x2="${W - M.right}" y1="${M.top}" y2="${H - M.bottom}" stroke="#333"/>`);
  out.push(`<line x1="${M.left}" x2="${W - M.right}" y1="${H - M.bottom}" y2="${H - M.bottom}" stroke="#333"/>`);
  out.push(`<text x="${(W + M.left - M.right) / 2}" y="${H - 18}" text-anchor="middle">offered load (events/s)</text>`);
  out.push(
    `<text transform="translate(16 ${H / 2}) rotate(-90)" text-anchor="middle">received (events/s), solid</text>`,
  );
  out.push(
    `<text transform="translate(${W - 14} ${H / 2}) rotate(90)" text-anchor="middle">dropped (% of sent), dashed</text>`,
  );
  out.push(
    `<text x="${W - M.right - 6}" y="${M.top + 12}" text-anchor="end" fill="#666">runs without a rate limit are drawn at the rate the publisher reached</text>`,
  );
  let legend = 0;
  for (const policy of ["BLOCK", "DROP"] as const) {
    const mine = runs.filter((r) => r.policy === policy && !r.slowUs).sort((a, b) => x(a) - x(b));
    if (mine.length === 0) continue;
    const color = COLORS[policy];
    const path = (y: (r: ChainRun) => number) =>
      mine.map((r, i) => `${i ? "L" : "M"}${px(x(r)).toFixed(1)},${y(r).toFixed(1)}`).join(" ");
    out.push(`<path d="${path((r) => py(r.receivedPerSec))}" fill="none" stroke="${color}" stroke-width="2"/>`);
    out.push(
      `<path d="${path((r) => pyPct(drops(r)))}" fill="none" stroke="${color}" stroke-width="1.5" stroke-dasharray="5 4"/>`,
    );
    for (const r of mine)
      out.push(`<circle cx="${px(x(r)).toFixed(1)}" cy="${py(r.receivedPerSec).toFixed(1)}" r="3" fill="${color}"/>`);
    const ly = M.top + 8 + legend++ * 18;
    out.push(
      `<line x1="${M.left + 12}" x2="${M.left + 36}" y1="${ly}" y2="${ly}" stroke="${color}" stroke-width="2"/>`,
    );
    out.push(`<text x="${M.left + 42}" y="${ly + 4}">${policy}</text>`);
  }
  out.push("</svg>");
  return out.join("\n");
}

/** A round number at or above `v` (ticks of 1, 1.2, 1.5, 2, 3 … × 10^k), so that five ticks read well. */
function niceCeil(v: number): number {
  const step = 10 ** Math.floor(Math.log10(v / 5));
  const per = [1, 1.2, 1.5, 2, 3, 4, 5, 6, 8, 10].find((m) => m * step * 5 >= v)!;
  return per * step * 5;
}

function escapeXml(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}
