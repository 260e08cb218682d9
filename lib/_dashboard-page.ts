/**
 * @module The dashboard's page: one HTML document with its style and script inline (no build step, no
 * network but the stream), an SVG chart drawn by hand (smaller than any charting library), and a table
 * that becomes one card per node on a phone. Numbers as the terminal summary prints them: whole events
 * per second, counters as they are. Not part of the public API.
 */

const PAGE = String.raw`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Cluster dashboard</title>
<link rel="icon" href="data:,">
<style>
:root { color-scheme: light dark; --bg: #f6f7f9; --fg: #1c2330; --muted: #6b7383; --card: #fff; --line: #dfe3ea;
  --up: #1f8a4c; --down: #c62f2f; --never: #8a919e; --loss: #c62f2f; --loss-bg: #fde7e7; --warn: #9a6400;
  --warn-bg: #fff3d6; --events: #2f6fd6; }
@media (prefers-color-scheme: dark) { :root { --bg: #11151b; --fg: #e4e8ef; --muted: #98a1b0; --card: #1a2029;
  --line: #2c3440; --loss-bg: #4a1d1d; --warn-bg: #3e3117; --loss: #ff7b7b; --warn: #f0c060; --events: #6fa3ff; } }
* { box-sizing: border-box; }
body { margin: 0; padding: 12px; font: 14px/1.4 system-ui, sans-serif; background: var(--bg); color: var(--fg); }
header { display: flex; align-items: baseline; gap: 12px; flex-wrap: wrap; }
h1 { font-size: 18px; margin: 0; }
.conn { font-size: 12px; padding: 1px 8px; border-radius: 10px; background: var(--line); }
.conn.live { background: var(--up); color: #fff; } .conn.bad { background: var(--down); color: #fff; }
.summary { font: 15px ui-monospace, monospace; margin: 8px 0 12px; }
.card { background: var(--card); border: 1px solid var(--line); border-radius: 8px; padding: 10px; margin-bottom: 12px; }
.legend { display: flex; justify-content: space-between; font-size: 12px; color: var(--muted); }
.legend b { font-weight: 600; } .ev { color: var(--events); } .dr { color: var(--loss); }
svg { width: 100%; height: 140px; display: block; }
table { width: 100%; border-collapse: collapse; font-variant-numeric: tabular-nums; }
th, td { padding: 5px 5px; text-align: right; border-bottom: 1px solid var(--line); white-space: nowrap; }
th { font-size: 11px; font-weight: 600; color: var(--muted); text-transform: uppercase; vertical-align: bottom; white-space: normal; }
th:nth-child(-n+3), td:nth-child(-n+3) { text-align: left; }
.wide { overflow-x: auto; }
td.loss, .summary .loss { color: var(--loss); background: var(--loss-bg); font-weight: 700; }
td.warn { color: var(--warn); background: var(--warn-bg); }
.state { font-weight: 600; } .state.up { color: var(--up); } .state.down { color: var(--down); } .state.never { color: var(--never); }
tr.down td { opacity: .65; } tr.lossy td:first-child { box-shadow: inset 3px 0 var(--loss); }
.muted { color: var(--muted); font-size: 12px; }
@media (max-width: 700px) {
  thead { display: none; } table, tbody, tr, td { display: block; width: 100%; }
  tr { background: var(--card); border: 1px solid var(--line); border-radius: 8px; margin-bottom: 10px; padding: 4px 8px; }
  td { display: flex; justify-content: space-between; border: 0; padding: 2px 0; text-align: right; }
  td::before { content: attr(data-label); color: var(--muted); text-align: left; padding-right: 8px; }
  td:first-child { font-weight: 700; font-size: 15px; }
}
</style>
</head>
<body data-source="__SOURCE__">
<header><h1>Cluster dashboard</h1><span id="conn" class="conn">connecting&hellip;</span></header>
<p id="summary" class="summary">waiting for the manager&hellip;</p>
<section class="card">
  <div class="legend"><span class="ev">events/s received, cluster-wide &middot; max <b id="evmax">0</b></span>
    <span class="dr">drops/s &middot; max <b id="drmax">0</b></span></div>
  <svg id="chart" viewBox="0 0 600 140" preserveAspectRatio="none" role="img" aria-label="events/s and drops/s, last 5 minutes">
    <polyline id="ev" fill="none" stroke="var(--events)" stroke-width="2" vector-effect="non-scaling-stroke"></polyline>
    <polyline id="dr" fill="none" stroke="var(--loss)" stroke-width="2" vector-effect="non-scaling-stroke"></polyline>
  </svg>
  <div class="legend"><span id="since">5 min ago</span><span>now</span></div>
</section>
<section class="card summary" id="broker" hidden></section>
<section class="card wide"><table id="nodes"><thead><tr></tr></thead><tbody></tbody></table></section>
<p class="muted" id="foot">Loss (drops, malformed messages, log records dropped, lost or not written) is shown in red,
back-pressure (blocks, disconnects) in amber. Counters since each node's start; rates over its last second.</p>
<script>
(function () {
"use strict";
var COLS = [
  ["name", "node"], ["type", "role"], ["state", "state"], ["upSince", "up since"], ["restarts", "restarts"],
  ["eventsOut", "events/s out"], ["eventsIn", "events/s in"], ["logWritten", "log rec/s written"],
  ["logReceived", "log rec/s received"], ["xpubDrops", "xpub drops"], ["onloopDrops", "onloop drops"],
  ["xpubBlocks", "xpub blocks"], ["msgErrors", "msg errors"], ["logLoss", "log records lost"],
  ["brokerOverflows", "broker overflows"], ["disconnects", "disconnects"], ["rss", "RSS"], ["lag", "loop lag"]
];
var RATES = { eventsOut: 1, eventsIn: 1, logWritten: 1, logReceived: 1 };
var LOSS = { xpubDrops: 1, onloopDrops: 1, msgErrors: 1, logLoss: 1, brokerOverflows: 1 };
var WARN = { xpubBlocks: 1, disconnects: 1, restarts: 1 };
var points = [];
var last = null;
var $ = function (id) { return document.getElementById(id); };
var esc = function (s) { return String(s).replace(/[&<>"]/g, function (c) { return "&#" + c.charCodeAt(0) + ";"; }); };
$("nodes").tHead.rows[0].innerHTML = COLS.map(function (c) { return "<th>" + c[1] + "</th>"; }).join("");

function ago(ms) {
  var s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return s + "s";
  if (s < 3600) return Math.floor(s / 60) + "m " + (s % 60) + "s";
  return Math.floor(s / 3600) + "h " + Math.floor((s % 3600) / 60) + "m";
}
function cell(n, k, now) {
  var t = n.totals || {}, r = n.rates;
  switch (k) {
    case "name": return n.name + (n.broker ? " (broker)" : "");
    case "type": return n.type;
    case "state": return n.state === "never" ? "never seen" : n.state;
    case "upSince": return n.upSince ? new Date(n.upSince).toTimeString().slice(0, 8) + " (" + ago(now - n.upSince) + ")" : "\u2013";
    case "restarts": return n.restarts;
    case "logLoss": return n.totals ? t.logDropped + t.logLost + t.logFailed : "\u2013";
    case "disconnects": return n.totals ? t.disconnects + t.brokerDisconnects : "\u2013";
    case "rss": return n.rss == null ? "\u2013" : Math.round(n.rss / 1048576) + " MB";
    case "lag": return n.lag == null ? "\u2013" : Math.round(n.lag * 1000) + " ms";
  }
  if (RATES[k]) return r ? Math.round(r[k]) : "\u2013";
  return n.totals ? t[k] : "\u2013";
}
function render(s) {
  last = s;
  var now = Date.now(), sum = s.summary;
  $("summary").innerHTML = sum.up + "/" + sum.nodes + " nodes up \u00b7 " + sum.events + " events/s \u00b7 " + sum.records +
    " log records written \u00b7 <span class=\"" + (sum.drops > 0 ? "loss" : "") + "\">" + sum.drops + " drops</span>" +
    (s.ignored > 0 ? " \u00b7 <span class=\"loss\">" + s.ignored + " announcements ignored</span>" : "");
  var rows = s.nodes.map(function (n) {
    var lossy = false;
    var tds = COLS.map(function (c) {
      var k = c[0], v = cell(n, k, now), cls = "";
      if (k === "state") cls = "state " + n.state;
      else if (LOSS[k] && v > 0) { cls = "loss"; lossy = true; }
      else if (WARN[k] && v > 0) cls = "warn";
      return "<td data-k=\"" + k + "\" data-label=\"" + c[1] + "\" class=\"" + cls + "\">" + esc(v) + "</td>";
    });
    return "<tr data-node=\"" + esc(n.name) + "\" class=\"" + n.state + (lossy ? " lossy" : "") + "\">" + tds.join("") + "</tr>";
  });
  $("nodes").tBodies[0].innerHTML = rows.join("");
  // The broker's own counters, per frame as libzmq counts them (an event is several frames).
  var b = s.nodes.filter(function (n) { return n.broker && n.totals; })[0];
  $("broker").hidden = !b;
  if (b) {
    var bt = b.totals, br = b.rates || { brokerIn: 0, brokerOut: 0 };
    $("broker").innerHTML = "broker on " + esc(b.name) + ": " + Math.round(br.brokerIn) + " frames/s in \u00b7 " +
      Math.round(br.brokerOut) + " frames/s out \u00b7 <span data-k=\"brokerOverflows\" class=\"" +
      (bt.brokerOverflows > 0 ? "loss" : "") + "\">" + bt.brokerOverflows + " overflows</span> \u00b7 " +
      bt.brokerDisconnects + " disconnects";
  }
  chart();
}
function chart() {
  // The last 5 minutes, or since the page has points (at least a minute), so that a young chart is wide.
  var end = points.length ? points[points.length - 1][0] : Date.now(), first = points.length ? points[0][0] : end;
  var span = Math.min(300000, Math.max(60000, end - first)), start = end - span;
  $("since").textContent = span >= 120000 ? Math.round(span / 60000) + " min ago" : Math.round(span / 1000) + " s ago";
  var pts = points.filter(function (p) { return p[0] >= start; });
  var evmax = 1, drmax = 1;
  pts.forEach(function (p) { evmax = Math.max(evmax, p[1]); drmax = Math.max(drmax, p[2]); });
  var line = function (i, max) {
    return pts.map(function (p) { return ((p[0] - start) / span * 600).toFixed(1) + "," + (136 - p[i] / max * 130).toFixed(1); }).join(" ");
  };
  $("ev").setAttribute("points", line(1, evmax));
  $("dr").setAttribute("points", line(2, drmax));
  $("evmax").textContent = evmax === 1 && !pts.some(function (p) { return p[1]; }) ? 0 : evmax;
  $("drmax").textContent = drmax === 1 && !pts.some(function (p) { return p[2]; }) ? 0 : drmax;
}
function status(text, cls) { $("conn").textContent = text; $("conn").className = "conn " + cls; }

var source = document.body.dataset.source;
if (source === "none") {
  $("summary").textContent = "This node has not heard from the manager yet; retrying in 2 s.";
  setTimeout(function () { location.reload(); }, 2000);
} else {
  var es = new EventSource(source + "dashboard/events");
  es.addEventListener("init", function (e) { var d = JSON.parse(e.data); points = d.history; render(d.snapshot); });
  es.addEventListener("update", function (e) {
    var d = JSON.parse(e.data);
    points = points.concat(d.points).slice(-300);
    render(d.snapshot);
  });
  es.onopen = function () { status("live" + (source ? " \u00b7 from " + source : ""), "live"); };
  es.onerror = function () { status("reconnecting\u2026", "bad"); };
  setInterval(function () { if (last) render(last); }, 5000);
}
})();
</script>
</body>
</html>
`;

/**
 * The page, reading the stream of the manager at `source` (a base URL; `""`: this server; `null`: not
 * known yet, and the page retries).
 *
 * @example The manager's own page
 * ```ts
 * import { dashboardPage } from "./_dashboard-page.ts";
 *
 * const html = dashboardPage("");
 * console.log(html.startsWith("<!doctype html>"), html.length < 20_000); // true true
 * ```
 */
export function dashboardPage(source: string | null): string {
  const attr = (source ?? "none").replace(/[&<>"]/g, (c) => `&#${c.charCodeAt(0)};`);
  return PAGE.replace("__SOURCE__", attr);
}
