/**
 * @module Presenting benchmark results: aligned text tables for the terminal and two SVG charts,
 * written by hand (no chart library): BLOCK vs DROP over offered load with the unlimited runs apart,
 * and this library beside C libzmq and zeromq.js (throughput, latency, round trip, CPU per event).
 */

import type { ChainRun } from "./chain.ts";
import type { PerFormat, Results } from "./results.ts";

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

const W = 1080;
const H = 440;
const M = { left: 70, right: 450, top: 50, bottom: 60 };
/** One colour per series, far apart (Tableau 10). */
const PALETTE = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf"];

const svgOpen = (w: number, h: number, title: string) => [
  `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}" viewBox="0 0 ${w} ${h}" font-family="sans-serif" font-size="12">`,
  `<rect width="${w}" height="${h}" fill="white"/>`,
  `<text x="${w / 2}" y="22" text-anchor="middle" font-size="15">${escapeXml(title)}</text>`,
];

/** Horizontal bars, one per entry, with the value written at the end of each bar. */
function bars(
  out: string[],
  at: { x: number; y: number; w: number },
  title: string,
  entries: { label: string; value: number; color: string; text?: string }[],
): number {
  const max = niceCeil(Math.max(1e-9, ...entries.map((e) => e.value)));
  const labelW = 150;
  const barW = at.w - labelW - 70;
  out.push(`<text x="${at.x}" y="${at.y + 12}" font-weight="bold">${escapeXml(title)}</text>`);
  entries.forEach((e, i) => {
    const y = at.y + 22 + i * 18;
    const w = Math.max(1, (e.value / max) * barW);
    out.push(`<text x="${at.x + labelW - 6}" y="${y + 11}" text-anchor="end">${escapeXml(e.label)}</text>`);
    out.push(`<rect x="${at.x + labelW}" y="${y}" width="${w.toFixed(1)}" height="14" fill="${e.color}"/>`);
    out.push(`<text x="${at.x + labelW + w + 4}" y="${y + 11}">${escapeXml(e.text ?? fmt(e.value))}</text>`);
  });
  return at.y + 22 + entries.length * 18 + 14;
}

/**
 * BLOCK vs DROP as an SVG: on the left, received events/s (solid) and drops in % of sent (dashed)
 * against the offered load, one colour per policy and format; on the right, apart, the runs without a
 * rate limit (as fast as it goes), as bars.
 */
export function sweepSvg(runs: ChainRun[], unlimited: PerFormat<ChainRun>[], title: string): string {
  const pacedRuns = runs.filter((r) => r.rate > 0 && !r.slowUs);
  const maxRuns = [...unlimited.map((u) => u.median), ...runs.filter((r) => r.rate === 0 && !r.slowUs)];
  const drops = (r: ChainRun) => ((r.xpubDrops + r.onloopDrops) / Math.max(1, r.sent)) * 100;
  const maxX = niceCeil(Math.max(1, ...pacedRuns.map((r) => r.rate)));
  const maxY = niceCeil(Math.max(1, ...pacedRuns.map((r) => r.receivedPerSec)));
  const px = (v: number) => M.left + (v / maxX) * (W - M.left - M.right);
  const py = (v: number) => H - M.bottom - (v / maxY) * (H - M.top - M.bottom);
  const pyPct = (v: number) => H - M.bottom - (v / 100) * (H - M.top - M.bottom);
  const right = W - M.right;
  const out = svgOpen(W, H, title);
  for (let i = 0; i <= 5; i++) {
    const [vx, vy, pct] = [(maxX * i) / 5, (maxY * i) / 5, 20 * i];
    out.push(`<line x1="${M.left}" x2="${right}" y1="${py(vy)}" y2="${py(vy)}" stroke="#eee"/>`);
    out.push(`<text x="${M.left - 6}" y="${py(vy) + 4}" text-anchor="end">${fmt(vy)}</text>`);
    out.push(`<text x="${right + 6}" y="${pyPct(pct) + 4}">${pct}%</text>`);
    out.push(`<text x="${px(vx)}" y="${H - M.bottom + 18}" text-anchor="middle">${fmt(vx)}</text>`);
  }
  out.push(`<line x1="${M.left}" x2="${M.left}" y1="${M.top}" y2="${H - M.bottom}" stroke="#333"/>`);
  out.push(`<line x1="${right}" x2="${right}" y1="${M.top}" y2="${H - M.bottom}" stroke="#333"/>`);
  out.push(`<line x1="${M.left}" x2="${right}" y1="${H - M.bottom}" y2="${H - M.bottom}" stroke="#333"/>`);
  out.push(`<text x="${(M.left + right) / 2}" y="${H - 18}" text-anchor="middle">offered load (events/s)</text>`);
  out.push(
    `<text transform="translate(16 ${H / 2}) rotate(-90)" text-anchor="middle">received (events/s), solid, ●</text>`,
  );
  out.push(
    `<text transform="translate(${right + 42} ${H / 2}) rotate(90)" text-anchor="middle">dropped (% of sent), dashed, ■</text>`,
  );
  // One colour per policy and format, the same in the sweep and in the bars.
  const key = (r: ChainRun) => `${r.policy} ${r.format ?? "msgpack-v1"}`;
  const names = [...new Set([...pacedRuns, ...maxRuns].map(key))].sort();
  const colorOf = (name: string) => PALETTE[names.indexOf(name) % PALETTE.length]!;
  const series = names.filter((name) => pacedRuns.some((r) => key(r) === name));
  series.forEach((name, k) => {
    const mine = pacedRuns.filter((r) => key(r) === name).sort((a, b) => a.rate - b.rate);
    const color = colorOf(name);
    const path = (y: (r: ChainRun) => number) =>
      mine.map((r, i) => `${i ? "L" : "M"}${px(r.rate).toFixed(1)},${y(r).toFixed(1)}`).join(" ");
    out.push(`<path d="${path((r) => py(r.receivedPerSec))}" fill="none" stroke="${color}" stroke-width="2"/>`);
    out.push(
      `<path d="${path((r) => pyPct(drops(r)))}" fill="none" stroke="${color}" stroke-width="1.5" stroke-dasharray="5 4"/>`,
    );
    for (const r of mine) {
      out.push(
        `<circle cx="${px(r.rate).toFixed(1)}" cy="${py(r.receivedPerSec).toFixed(1)}" r="3.5" fill="${color}"/>`,
      );
      out.push(
        `<rect x="${(px(r.rate) - 3).toFixed(1)}" y="${(pyPct(drops(r)) - 3).toFixed(1)}" width="6" height="6" fill="${color}"/>`,
      );
    }
    const ly = M.top + 4 + k * 18;
    out.push(
      `<line x1="${M.left + 12}" x2="${M.left + 36}" y1="${ly}" y2="${ly}" stroke="${color}" stroke-width="2"/>`,
    );
    out.push(`<text x="${M.left + 42}" y="${ly + 4}">${escapeXml(name)}</text>`);
  });
  bars(
    out,
    { x: right + 60, y: M.top, w: M.right - 60 },
    "As fast as it goes (received/s)",
    maxRuns.map((r) => ({
      label: key(r),
      value: r.receivedPerSec,
      color: colorOf(key(r)),
      text: `${fmt(r.receivedPerSec)}${r.xpubDrops + r.onloopDrops ? `, ${fmt(drops(r))}% dropped` : ""}`,
    })),
  );
  out.push("</svg>");
  return out.join("\n");
}

/**
 * This library beside C libzmq and zeromq.js, as SVG bar panels: throughput, latency at 1,000 events/s
 * (p50, p99), the ping → pong round trip (p50, p99) and CPU per event of each process. One colour per
 * implementation throughout.
 */
export function baselinesSvg(
  r: Pick<Results, "throughput" | "latency" | "roundTrip"> & Partial<Pick<Results, "bunEngine">>,
  title: string,
): string {
  const e = r.bunEngine ?? { throughput: [], latency: [], roundTrip: [] };
  const engine = (format: string) => `Bun ${format}, engines "bun"`;
  const impls = [
    "C libzmq",
    "zeromq.js",
    ...r.throughput.bun.map((b) => `Bun ${b.format}`),
    ...e.throughput.map((b) => engine(b.format)),
  ];
  const color = (impl: string) => PALETTE[impls.indexOf(impl) % PALETTE.length]!;
  type Entry = { label: string; value: number; color: string; text?: string };
  const entry = (impl: string, value: number | undefined, text?: (v: number) => string): Entry[] =>
    value === undefined || !Number.isFinite(value)
      ? []
      : [{ label: impl, value, color: color(impl), ...(text ? { text: text(value) } : {}) }];
  const us = (v: number) => `${fmt(v)} µs`;
  const panels: { title: string; entries: Entry[] }[] = [
    {
      title: "Throughput, events/s (BLOCK, as fast as it goes)",
      entries: [
        ...entry("C libzmq", r.throughput.c?.eventsPerSec),
        ...entry("zeromq.js", r.throughput.zeromqJs.eventsPerSec),
        ...r.throughput.bun.flatMap((b) => entry(`Bun ${b.format}`, b.median.receivedPerSec)),
        ...e.throughput.flatMap((b) => entry(engine(b.format), b.median.receivedPerSec)),
      ],
    },
  ];
  const cpuPanel = (role: "pub" | "broker" | "sub") => ({
    title: `CPU per event, ${role === "pub" ? "publisher" : role === "sub" ? "subscriber" : "broker"} (µs)`,
    entries: [
      ...entry("C libzmq", r.throughput.c?.cpu?.[role].usPerEvent, us),
      ...entry("zeromq.js", r.throughput.zeromqJs.cpu?.[role].usPerEvent, us),
      ...r.throughput.bun.flatMap((b) => entry(`Bun ${b.format}`, b.median.cpu[role].usPerEvent, us)),
      ...e.throughput.flatMap((b) => entry(engine(b.format), b.median.cpu[role].usPerEvent, us)),
    ],
  });
  panels.push(cpuPanel("pub"));
  for (const [what, data, engineData] of [
    ["Latency at 1,000 events/s", r.latency, e.latency],
    ["Round trip ping → pong", r.roundTrip, e.roundTrip],
  ] as const)
    for (const p of ["p50Us", "p99Us"] as const)
      panels.push({
        title: `${what}, ${p.slice(0, 3)}`,
        entries: [
          ...entry("C libzmq", data.c?.[p], us),
          ...data.bun.flatMap((b: PerFormat<{ p50Us?: number; p99Us?: number }>) =>
            entry(`Bun ${b.format}`, b.median[p], us),
          ),
          ...engineData.flatMap((b: PerFormat<{ p50Us?: number; p99Us?: number }>) =>
            entry(engine(b.format), b.median[p], us),
          ),
        ],
      });
  panels.push(cpuPanel("broker"), cpuPanel("sub"));
  const colW = 470;
  const heights = panels.map((p) => 36 + p.entries.length * 18);
  const rows = Math.ceil(panels.length / 2);
  const rowH = Array.from({ length: rows }, (_, i) => Math.max(heights[2 * i]!, heights[2 * i + 1] ?? 0));
  // The legend: three names a line (an engine row's name is long).
  const legendH = 16 * Math.ceil(impls.length / 3);
  const h = 54 + legendH + rowH.reduce((a, b) => a + b, 0);
  const out = svgOpen(2 * colW + 20, h, title);
  impls.forEach((impl, i) => {
    const [x, top] = [20 + (i % 3) * 320, 34 + 16 * Math.floor(i / 3)];
    out.push(`<rect x="${x}" y="${top}" width="14" height="10" fill="${color(impl)}"/>`);
    out.push(`<text x="${x + 20}" y="${top + 9}">${escapeXml(impl)}</text>`);
  });
  let y = 40 + legendH;
  for (let row = 0; row < rows; row++) {
    for (let col = 0; col < 2; col++) {
      const p = panels[2 * row + col];
      if (p) bars(out, { x: 10 + col * (colW + 10), y, w: colW }, p.title, p.entries);
    }
    y += rowH[row]!;
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
