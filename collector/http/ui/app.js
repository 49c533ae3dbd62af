// SPDX-License-Identifier: MIT
// The botpulse dashboard: polls the collector's JSON API every 1.5 s and redraws in place,
// so a bot that dies turns red without a reload. No framework, no other origin.
"use strict";

const POLL_MS = 1500;
const STATUSES = ["healthy", "idle", "degraded", "stale", "hung", "stopped", "down", "unknown",
                  "error"];
const TOKEN_KEY = "botpulse.token";

const PAGE = 200; // bots per page: the API filters and pages, so 100,000 bots stay light
const state = { bots: [], total: 0, offset: 0, sort: "status", desc: true, timer: null,
                busy: false };
// sorts the API does over the whole fleet; the others sort the page shown
const API_SORTS = { id: "id", status: "status", since: "since", last_heartbeat: "last_heartbeat" };
// worst first when sorting by status
const RANK = { down: 0, stopped: 1, hung: 2, error: 3, stale: 4, degraded: 5, unknown: 6,
               idle: 7, healthy: 8 };

const $ = (sel) => document.querySelector(sel);

function el(tag, props, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(props || {})) {
    if (k === "class") e.className = v;
    else if (k.startsWith("data-")) e.setAttribute(k, v);
    else e[k] = v;
  }
  for (const c of children) e.append(c instanceof Node ? c : String(c ?? ""));
  return e;
}

function badge(status) {
  return el("span", { class: "badge st-" + status }, status);
}

function ago(ms) {
  if (!ms) return "never";
  let s = Math.max(0, Math.round((Date.now() - ms) / 1000));
  if (s < 60) return s + " s ago";
  if (s < 3600) return Math.floor(s / 60) + " min ago";
  if (s < 86400) return Math.floor(s / 3600) + " h " + Math.floor((s % 3600) / 60) + " min ago";
  return Math.floor(s / 86400) + " d ago";
}

function when(ms) {
  return ms ? new Date(ms).toLocaleString() : "—";
}

async function getJSON(path) {
  const r = await fetch(path, { cache: "no-store" });
  const body = await r.json().catch(() => ({}));
  if (!r.ok) throw new Error(path + ": " + r.status + " " + (body.error || r.statusText));
  return body;
}

function token(ask) {
  let t = sessionStorage.getItem(TOKEN_KEY);
  if (!t || ask) {
    t = prompt("Bearer token for changes (kept in this tab only):", t || "");
    if (t) sessionStorage.setItem(TOKEN_KEY, t.trim());
  }
  return t ? t.trim() : null;
}

// Mutating calls: confirmed first, then sent with the token (asked for once per tab).
async function mutate(path, what, method, payload) {
  if (!confirm(what + "?")) return;
  const t = token(false);
  if (!t) return;
  const headers = { Authorization: "Bearer " + t };
  if (payload) headers["Content-Type"] = "application/json";
  const r = await fetch(path, { method: method || "POST", headers,
    body: payload ? JSON.stringify(payload) : undefined });
  const body = await r.json().catch(() => ({}));
  if (r.status === 401) sessionStorage.removeItem(TOKEN_KEY);
  if (!r.ok) {
    // what the user asked for failed: keep it on screen past the next polls
    state.errorUntil = Date.now() + 10000;
    showError(what + " failed: " + r.status + " " + (body.error || ""));
  } else refresh();
  return r.ok ? body : null;
}

function recheck(id) {
  return mutate("/bots/" + encodeURIComponent(id) + "/health/check", "Re-check bot " + id);
}

// An operator's restart: a signed command to the bot's agent, which runs its configured
// restart line; the answer (202) carries the nonce, the result follows on the bot's page.
async function restart(id) {
  const body = await mutate("/bots/" + encodeURIComponent(id) + "/restart",
    "Restart bot " + id + " through its agent (runs its configured restart command)");
  if (body && body.nonce) $("#bot-note").textContent = "restart sent to " + body.agent +
    " (nonce " + body.nonce + ") at " + new Date().toLocaleTimeString();
}

// The bot's intended state at run time: a bot intended stopped raises nothing when it is gone.
function intend(id, want) {
  return mutate("/bots/" + encodeURIComponent(id) + "/intended",
    "Set bot " + id + " intended " + want, "POST", { state: want });
}

// A silence keeps the bot's alerts off MQTT and the webhook for an hour (still recorded).
function silenceHour(id) {
  return mutate("/silences", "Silence bot " + id + " for 1 h", "POST",
    { bot: id, duration: "1h", reason: "silenced from the dashboard" });
}

function unsilence(id) {
  return mutate("/silences/" + encodeURIComponent(id), "End silence " + id, "DELETE");
}

function silenceWhat(s) {
  return ["bot", "account", "host", "check"].filter((k) => s[k]).map((k) => k + "=" + s[k])
    .join(" ");
}

function drawSilences(table, silences) {
  const rows = silences.map((s) => el("tr", { "data-silence": s.id },
    el("td", {}, silenceWhat(s)), el("td", { title: when(s.until) }, when(s.until)),
    el("td", {}, s.by), el("td", {}, s.reason),
    el("td", {}, el("button", { type: "button", onclick: () => unsilence(s.id) }, "end"))));
  if (!rows.length) rows.push(el("tr", {}, el("td", { colSpan: 5 }, "none")));
  table.querySelector("tbody").replaceChildren(...rows);
}

function showError(msg) {
  const e = $("#error");
  e.textContent = msg || "";
  e.hidden = !msg;
}

function setConn(ok, msg) {
  const c = $("#conn");
  c.textContent = ok ? "live" : "no answer: " + msg;
  c.className = "conn " + (ok ? "ok" : "bad");
  if (ok) $("#updated").textContent = "updated " + new Date().toLocaleTimeString();
}

// ---- fleet view ----------------------------------------------------------------------

function drawCounts(sum) {
  const box = $("#counts");
  box.replaceChildren(el("div", { class: "count" }, el("b", {}, sum.total), "bots"));
  for (const s of STATUSES) {
    const n = sum.by_status[s] || 0;
    if (n || ["healthy", "stopped", "down"].includes(s))
      box.append(el("div", { class: "count st-" + s, "data-status": s }, el("b", {}, n), s));
  }
}

function drawGroups(table, groups) {
  const head = el("tr", {}, el("th", {}, ""), el("th", {}, "total"));
  const used = STATUSES.filter((s) => Object.values(groups).some((g) => g.by_status[s]));
  for (const s of used) head.append(el("th", {}, badge(s)));
  const rows = Object.keys(groups).sort().map((k) => {
    const tr = el("tr", {}, el("td", {}, k), el("td", {}, groups[k].total));
    for (const s of used) tr.append(el("td", {}, groups[k].by_status[s] || ""));
    return tr;
  });
  table.replaceChildren(el("thead", {}, head), el("tbody", {}, ...rows));
}

function sortKey(b, key) {
  if (key === "status") return RANK[b.status] ?? 9;
  if (key === "alert") return b.alert ? (b.alert.severity === "critical" ? 0 : 1) : 2;
  return b[key] ?? "";
}

// The page as the API filtered it, sorted by the column chosen.
function visibleBots() {
  const list = state.bots.slice();
  const k = state.sort;
  list.sort((a, b) => {
    const x = sortKey(a, k), y = sortKey(b, k);
    let c = x < y ? -1 : x > y ? 1 : 0;
    if (state.desc && k !== "status") c = -c; // status: worst first is the natural order
    if (!state.desc && k === "status") c = -c;
    return c || a.id.localeCompare(b.id);
  });
  return list;
}

// The /bots query for the page shown: filters, sort and paging done by the collector.
function botsQuery() {
  const p = new URLSearchParams({ limit: PAGE, offset: state.offset });
  const q = $("#filter").value.trim();
  const st = $("#status-filter").value;
  if (q) p.set("q", q);
  if (st) p.set("status", st);
  if (API_SORTS[state.sort]) {
    p.set("sort", API_SORTS[state.sort]);
    // the API orders statuses unknown, healthy … down: worst first is descending
    p.set("order", state.desc ? "desc" : "asc");
  }
  return "/bots?" + p.toString();
}

function botRow(b) {
  const link = el("a", { href: "#/bot/" + encodeURIComponent(b.id) }, b.id);
  const btn = el("button", { type: "button", onclick: () => recheck(b.id) }, "re-check");
  // the alert that speaks for the bot, and how many more of its checks are failing
  const more = (b.alerts || []).length > 1 ? " +" + (b.alerts.length - 1) : "";
  const alert = b.alert ? el("span", { class: "sev-" + b.alert.severity,
                                       title: (b.alerts || []).map((a) => a.check).join(", ") },
                             b.alert.severity + " (" + b.alert.check + ")" + more) : "";
  return el("tr", { class: "st-" + b.status, "data-bot": b.id, "data-status": b.status },
    el("td", {}, link), el("td", {}, badge(b.status)), el("td", {}, b.reason),
    el("td", {}, b.account || "—"), el("td", {}, b.host || "—"),
    el("td", { title: when(b.since) }, ago(b.since)),
    el("td", { title: when(b.last_heartbeat) }, ago(b.last_heartbeat)),
    el("td", { title: when(b.last_trade) }, ago(b.last_trade)),
    el("td", {}, alert), el("td", {}, btn));
}

function drawBots() {
  const list = visibleBots();
  $("#bots tbody").replaceChildren(...list.map(botRow));
  $("#bots-shown").textContent = state.total === 0 ? "none" :
    (state.offset + 1) + "–" + (state.offset + list.length) + " of " + state.total;
  $("#page-prev").disabled = state.offset === 0;
  $("#page-next").disabled = state.offset + PAGE >= state.total;
  for (const th of document.querySelectorAll("#bots th[data-sort]")) {
    th.classList.toggle("sorted", th.dataset.sort === state.sort);
    th.classList.toggle("desc", th.dataset.sort === state.sort && state.desc);
  }
}

function drawAlerts(alerts) {
  const rows = alerts.map((a) => el("tr", { "data-alert": a.alert_id },
    el("td", {}, el("a", { href: "#/bot/" + encodeURIComponent(a.bot) }, a.bot)),
    el("td", { class: "sev-" + a.severity }, a.severity), el("td", {}, a.check),
    el("td", {}, badge(a.status)), el("td", {}, a.reason),
    el("td", { title: when(a.opened_at) }, ago(a.opened_at))));
  if (!rows.length) rows.push(el("tr", {}, el("td", { colSpan: 6 }, "none")));
  $("#alerts tbody").replaceChildren(...rows);
}

async function loadFleet() {
  const [sum, bots, alerts, silences] = await Promise.all([
    getJSON("/fleet/summary"), getJSON(botsQuery()), getJSON("/alerts"),
    getJSON("/silences")]);
  drawCounts(sum);
  drawGroups($("#by-account"), sum.by_account || {});
  drawGroups($("#by-host"), sum.by_host || {});
  state.bots = bots.bots;
  state.total = bots.total;
  if (state.offset > 0 && state.offset >= state.total) { // the filter shrank the list
    state.offset = Math.max(0, state.total - PAGE);
    return loadFleet();
  }
  drawBots();
  drawAlerts(alerts.alerts);
  drawSilences($("#silences"), silences.silences);
}

// ---- bot view ------------------------------------------------------------------------

function drawCard(b) {
  const dl = el("dl", {});
  const add = (k, v) => dl.append(el("dt", {}, k), el("dd", {}, v));
  add("status", badge(b.status));
  add("reason", b.reason);
  add("check", b.check || "—");
  add("since", when(b.since) + " (" + ago(b.since) + ")");
  add("last heartbeat", ago(b.last_heartbeat));
  add("last trade", ago(b.last_trade));
  add("agent", b.agent + (b.agent_online ? " (online)" : " (offline)"));
  add("intended", b.intended + " (by " + b.intended_by + ")");
  // its agent's count (null: it watches no process), and the rises this collector counted
  add("restarts", b.restarts === null || b.restarts === undefined ? "not counted"
      : b.restarts + " since its agent started (" + b.restarts_seen + " seen here)");
  add("account", b.account || "—");
  add("exchange", b.exchange || "—");
  add("host", b.host || "—");
  // one alert per failing check
  const open = (b.alerts || []).map((a) => el("div", { class: "sev-" + a.severity,
      "data-alert": a.alert_id }, a.severity + ", " + a.check + ": " + a.reason +
      " (opened " + ago(a.opened_at) + ")"));
  add("open alerts", open.length ? el("div", {}, ...open) : "none");
  $("#bot-card").replaceChildren(dl);
  // the toggle offers the other intended state
  const want = b.intended === "stopped" ? "running" : "stopped";
  const t = $("#bot-intend");
  t.dataset.state = want;
  t.textContent = "Intend " + want;
  $("#bot-title").replaceChildren(b.id + " ", badge(b.status));
}

// The timeline: each transition's "to" status lasts until the next one (or now).
function drawTimeline(b, rows) {
  const tl = $("#timeline");
  const now = Date.now();
  const asc = rows.slice().reverse();
  const start = asc.length ? asc[0].ts : b.since || now;
  const span = Math.max(1, now - start);
  const parts = asc.map((r, i) => {
    const end = i + 1 < asc.length ? asc[i + 1].ts : now;
    const d = el("div", { class: "st-" + r.to, title: r.to + " from " + when(r.ts) + ": " +
                          r.reason });
    d.style.width = (100 * (end - r.ts) / span) + "%";
    return d;
  });
  if (!parts.length) {
    const d = el("div", { class: "st-" + b.status, title: b.status });
    d.style.width = "100%";
    parts.push(d);
  }
  tl.replaceChildren(...parts);
  $("#timeline-axis").replaceChildren(el("span", {}, when(start)), el("span", {}, "now"));
  const trs = rows.map((r) => el("tr", {}, el("td", {}, when(r.ts)),
    el("td", {}, badge(r.from)), el("td", {}, badge(r.to)), el("td", {}, r.check),
    el("td", {}, r.reason)));
  $("#transitions tbody").replaceChildren(...trs);
}

async function loadBot(id) {
  const enc = encodeURIComponent(id);
  const [b, sil] = await Promise.all([getJSON("/bots/" + enc), getJSON("/silences")]);
  drawCard(b);
  await loadCharts(id);
  drawSilences($("#bot-silences"), sil.silences.filter((s) =>
    (!s.bot || s.bot === b.id) && (!s.account || s.account === b.account) &&
    (!s.host || s.host === b.host)));
  try {
    const h = await getJSON("/bots/" + enc + "/history?limit=200");
    drawTimeline(b, h.transitions);
  } catch (e) { // the database may be away while the live view still works
    drawTimeline(b, []);
    showError(e.message);
    return;
  }
}

// ---- charts: small inline SVG line charts, no library --------------------------------

const SVG_NS = "http://www.w3.org/2000/svg";
const CHART_MS = 30000; // the charts' data is re-read at most this often

function svg(tag, attrs) {
  const e = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  return e;
}

function fmt(v) {
  return Math.abs(v) >= 100 ? v.toFixed(0) : v.toFixed(1);
}

// One chart of points [[ts, value], ...] over [from, to], scaled from 0 to its maximum.
function lineChart(title, unit, points, from, to) {
  const W = 260, H = 64;
  const box = svg("svg", { viewBox: `0 0 ${W} ${H}`, width: W, height: H, class: "chart" });
  const max = Math.max(1e-9, ...points.map((p) => p[1]));
  const x = (t) => (((t - from) / (to - from)) * W).toFixed(1);
  const y = (v) => (H - 3 - (v / max) * (H - 6)).toFixed(1);
  if (points.length > 1) {
    const d = points.map((p, i) => (i ? "L" : "M") + x(p[0]) + " " + y(p[1])).join(" ");
    box.append(svg("path", { d, class: "line" }));
  } else if (points.length === 1) {
    box.append(svg("circle", { cx: x(points[0][0]), cy: y(points[0][1]), r: 2.5, class: "dot" }));
  }
  const last = points.length ? points[points.length - 1][1] : null;
  const cap = title + ": " + (last === null ? "no data" :
    fmt(last) + unit + " (max " + fmt(max) + unit + ")");
  return el("figure", { "data-chart": title }, el("figcaption", {}, cap), box);
}

function drawCharts(data) {
  const series = (key, scale) => data.samples.filter((s) => s[key] !== null)
    .map((s) => [s.ts, s[key] * scale]);
  // trades per bucket, with the empty buckets as zeros
  const counts = new Map(data.trades.map((t) => [t.ts, t.count]));
  const trades = [];
  const first = Math.floor(data.from / data.bucket_ms) * data.bucket_ms;
  for (let t = first; t < data.to; t += data.bucket_ms) trades.push([t, counts.get(t) || 0]);
  $("#charts").replaceChildren(
    lineChart("process cpu", "%", series("proc_cpu_pct", 1), data.from, data.to),
    lineChart("process memory", " MB", series("proc_rss_kb", 1 / 1024), data.from, data.to),
    lineChart("host cpu", "%", series("host_cpu_pct", 1), data.from, data.to),
    lineChart("host memory", "%", series("host_mem_pct", 1), data.from, data.to),
    lineChart("host disk", "%", series("host_disk_pct", 1), data.from, data.to),
    lineChart("trades per 10 min", "", trades, data.from, data.to));
}

async function loadCharts(id) {
  if (state.chartsBot === id && Date.now() - state.chartsAt < CHART_MS) return;
  state.chartsBot = id;
  state.chartsAt = Date.now();
  try {
    drawCharts(await getJSON("/bots/" + encodeURIComponent(id) + "/samples"));
  } catch (e) { // the database may be away: the live view still works
    $("#charts").replaceChildren(el("p", { class: "muted" }, "no chart data: " + e.message));
  }
}

// ---- routing and polling -------------------------------------------------------------

function route() {
  const m = location.hash.match(/^#\/bot\/(.+)$/);
  return m ? { bot: decodeURIComponent(m[1]) } : {};
}

async function refresh() {
  if (state.busy) return;
  state.busy = true;
  const r = route();
  $("#fleet-view").hidden = !!r.bot;
  $("#bot-view").hidden = !r.bot;
  try {
    if (Date.now() >= (state.errorUntil || 0)) showError("");
    if (r.bot) await loadBot(r.bot);
    else await loadFleet();
    setConn(true);
  } catch (e) {
    setConn(false, e.message);
  } finally {
    state.busy = false;
  }
}

function init() {
  const sel = $("#status-filter");
  for (const s of STATUSES) sel.append(el("option", { value: s }, s));
  // a new filter or sort starts at the first page, asked of the collector at once
  let typing = null;
  const refilter = () => { state.offset = 0; clearTimeout(typing); typing = setTimeout(refresh, 250); };
  sel.onchange = refilter;
  $("#filter").oninput = refilter;
  $("#page-prev").onclick = () => { state.offset = Math.max(0, state.offset - PAGE); refresh(); };
  $("#page-next").onclick = () => { state.offset += PAGE; refresh(); };
  for (const th of document.querySelectorAll("#bots th[data-sort]")) {
    th.onclick = () => {
      const k = th.dataset.sort;
      state.desc = state.sort === k ? !state.desc : k === "status";
      state.sort = k;
      if (API_SORTS[k]) refilter(); else drawBots();
    };
  }
  $("#token-btn").onclick = () => token(true);
  $("#bot-recheck").onclick = () => { const r = route(); if (r.bot) recheck(r.bot); };
  $("#bot-silence").onclick = () => { const r = route(); if (r.bot) silenceHour(r.bot); };
  $("#bot-restart").onclick = () => { const r = route(); if (r.bot) restart(r.bot); };
  $("#bot-intend").onclick = () => {
    const r = route();
    if (r.bot) intend(r.bot, $("#bot-intend").dataset.state);
  };
  window.addEventListener("hashchange", () => { $("#bot-note").textContent = ""; refresh(); });
  refresh();
  state.timer = setInterval(refresh, POLL_MS);
}

init();
