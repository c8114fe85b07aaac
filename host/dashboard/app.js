// memdb's dashboard. Plain JavaScript, no libraries: it polls the admin API
// of the node that served it (GET /v1/cluster every 2 s, GET /v1/stats
// every second), draws the ring as SVG and the charts on canvases, and
// posts the leave and shutdown actions after a confirmation.
"use strict";

const CLUSTER_EVERY_MS = 2000;
const STATS_EVERY_MS = 1000;
const KEY_STORE = "memdb.adminKey"; // sessionStorage: this tab only
const PALETTE = ["#2f6fde", "#e07b39", "#2a9d8f", "#c0467a", "#7b61c9", "#8aa13a", "#d4a72c", "#4a90a4",
  "#b5523b", "#5c6bc0", "#3d9970", "#a05195"];

const $ = (sel) => document.querySelector(sel);
const SVG_NS = "http://www.w3.org/2000/svg";

let cluster = null; // the last GET /v1/cluster
let busy = false; // an action is in flight

function colorOf(id) { return PALETTE[(id - 1) % PALETTE.length]; }

// ---- formatting ----

function fmtBytes(n) {
  if (n == null) return "–";
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
  return (i === 0 ? n.toFixed(0) : n.toFixed(n < 10 ? 1 : 0)) + " " + units[i];
}
function fmtCount(n) { return n == null ? "–" : n.toLocaleString("en-US"); }
function fmtRate(n) {
  if (n == null) return "–";
  if (Number.isInteger(n)) return n.toLocaleString("en-US");
  return n >= 100 ? Math.round(n).toLocaleString("en-US") : n.toFixed(1);
}
function fmtPct(f) { return (f * 100).toFixed(1) + "%"; }
function fmtMs(v) {
  if (v >= 1000) return +(v / 1000).toFixed(1) + " s";
  if (v >= 100) return v.toFixed(0) + " ms";
  if (v >= 1) return +v.toFixed(1) + " ms";
  if (v > 0) return (v * 1000).toFixed(0) + " µs";
  return "–";
}

function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === "class") e.className = v;
    else if (k.startsWith("data-")) e.setAttribute(k, v);
    else e[k] = v;
  }
  for (const c of children) e.append(c);
  return e;
}

// banner shows text above the page (an error unless kind is "info"), or
// hides it; a banner of the cluster poll says so in data-source, so that
// the next good poll clears it and nothing else.
function banner(text, kind) {
  const b = $("#banner");
  delete b.dataset.source;
  if (!text) { b.hidden = true; return; }
  b.textContent = text;
  b.className = "banner" + (kind ? " " + kind : "");
  b.hidden = false;
}

// ---- polling ----

async function getJSON(path) {
  const r = await fetch(path, { cache: "no-store" });
  if (!r.ok) throw new Error(path + ": " + r.status + " " + r.statusText);
  return r.json();
}

async function pollCluster() {
  try {
    cluster = await getJSON("/v1/cluster?timeout=1500ms");
    renderCluster(cluster);
    $("#updated").textContent = "updated " + new Date().toLocaleTimeString();
    if ($("#banner").dataset.source === "poll") banner("");
  } catch (e) {
    banner("Cannot read the cluster from this node: " + e.message, "");
    $("#banner").dataset.source = "poll";
  }
  setTimeout(pollCluster, CLUSTER_EVERY_MS);
}

async function pollStats() {
  try {
    renderStats(await getJSON("/v1/stats"));
  } catch (e) {
    // The cluster poll reports an unreachable node; the charts keep the last samples.
  }
  setTimeout(pollStats, STATS_EVERY_MS);
}

// ---- cluster: summary, ring, members ----

function renderCluster(cs) {
  const members = cs.members || [];
  const live = members.filter((m) => m.liveness === "alive").length;
  const keys = members.reduce((s, m) => s + (m.reachable ? m.keys : 0), 0);
  const rps = members.reduce((s, m) => s + (m.reachable ? m.requests_per_sec : 0), 0);
  $("#summary").textContent = `${members.length} members · ${live} alive · ring epoch ${cs.epoch} · ` +
    `${fmtCount(keys)} keys held (replicas counted) · ${fmtRate(rps)} req/s · served by node ${cs.node}`;
  const self = members.find((m) => m.id === cs.node);
  if (self && self.version) $("#version").textContent = "memdb " + self.version;
  for (const e of document.querySelectorAll(".chart-node")) e.textContent = `node ${cs.node}`;
  renderTiles(cs);
  renderRing(cs);
  renderMembers(cs);
}

function renderTiles(cs) {
  const ms = (cs.members || []).filter((m) => m.reachable);
  const sum = (f) => ms.reduce((s, m) => s + f(m), 0);
  const tiles = [
    [fmtRate(sum((m) => m.requests_per_sec)), "requests/s, all members"],
    [fmtCount(sum((m) => m.keys)), "keys, replicas counted"],
    [fmtBytes(sum((m) => m.bytes)), "memory, all replicas"],
    [fmtBytes(sum((m) => m.log_bytes)), "on disk, all members"],
    [fmtCount(sum((m) => m.hints_pending)), "hints pending"],
  ];
  $("#tiles").replaceChildren(...tiles.map(([v, k]) => el("div", { class: "tile" }, el("div", { class: "v" }, v), el("div", { class: "k" }, k))));
}

function arcPath(cx, cy, r0, r1, a0, a1) {
  // Angles in radians, clockwise from 12 o'clock.
  const p = (r, a) => [cx + r * Math.sin(a), cy - r * Math.cos(a)];
  const large = a1 - a0 > Math.PI ? 1 : 0;
  const [x0, y0] = p(r1, a0), [x1, y1] = p(r1, a1), [x2, y2] = p(r0, a1), [x3, y3] = p(r0, a0);
  return `M${x0},${y0} A${r1},${r1} 0 ${large} 1 ${x1},${y1} L${x2},${y2} A${r0},${r0} 0 ${large} 0 ${x3},${y3} Z`;
}

function svg(tag, attrs, text) {
  const e = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  if (text != null) e.textContent = text;
  return e;
}

function renderRing(cs) {
  const root = $("#ring");
  root.replaceChildren();
  const defs = svg("defs", {});
  root.append(defs);
  const cx = 120, cy = 120, r0 = 70, r1 = 108;
  root.append(svg("circle", { cx, cy, r: (r0 + r1) / 2, fill: "none", stroke: "#eef0f3", "stroke-width": r1 - r0 }));
  const members = (cs.members || []).filter((m) => m.ring_share > 0);
  const total = members.reduce((s, m) => s + m.ring_share, 0) || 1;
  let a = 0;
  for (const m of members) {
    const span = (m.ring_share / total) * 2 * Math.PI;
    const gone = m.phase === "left" || m.liveness === "dead";
    let fill = gone ? "#b9bec7" : colorOf(m.id);
    if (m.phase === "joining" || m.phase === "leaving") {
      const pid = "hatch-" + m.id;
      const pat = svg("pattern", { id: pid, width: 6, height: 6, patternUnits: "userSpaceOnUse", patternTransform: "rotate(45)" });
      pat.append(svg("rect", { width: 6, height: 6, fill: colorOf(m.id), opacity: 0.35 }));
      pat.append(svg("rect", { width: 3, height: 6, fill: colorOf(m.id) }));
      defs.append(pat);
      fill = `url(#${pid})`;
    }
    const end = a + Math.max(span, 0.0001);
    const path = members.length === 1 ?
      svg("circle", { cx, cy, r: (r0 + r1) / 2, fill: "none", stroke: fill, "stroke-width": r1 - r0 }) :
      svg("path", { d: arcPath(cx, cy, r0, r1, a, end), fill, stroke: "#fff", "stroke-width": 1.5 });
    const title = svg("title", {}, `node ${m.id}: ${m.phase}, ${m.liveness}, first replica of ${fmtPct(m.ring_share)} of the keys`);
    path.append(title);
    path.setAttribute("data-member", m.id);
    root.append(path);
    if (span > 0.25) {
      const mid = (a + end) / 2, rm = (r0 + r1) / 2;
      root.append(svg("text", { x: cx + rm * Math.sin(mid), y: cy - rm * Math.cos(mid) + 4, "text-anchor": "middle", class: "arc-label" }, String(m.id)));
    }
    a = end;
  }
  root.append(svg("text", { x: cx, y: cy + 2, "text-anchor": "middle", class: "center-big" }, String((cs.members || []).length)));
  root.append(svg("text", { x: cx, y: cy + 20, "text-anchor": "middle", class: "center-small" }, `members · epoch ${cs.epoch}`));

  const legend = $("#legend");
  legend.replaceChildren();
  for (const m of cs.members || []) {
    legend.append(el("li", { "data-member": String(m.id) },
      el("span", { class: "sw" }),
      `node ${m.id}`,
      el("span", { class: "phase" }, m.phase),
      el("span", { class: "pct" }, fmtPct(m.ring_share))));
    legend.lastChild.firstChild.style.background = m.phase === "left" || m.liveness === "dead" ? "#b9bec7" : colorOf(m.id);
  }
}

function renderMembers(cs) {
  const tbody = $("#members tbody");
  tbody.replaceChildren();
  for (const m of cs.members || []) {
    const sw = el("span", { class: "sw" });
    sw.style.background = colorOf(m.id);
    const r = m.reachable;
    const actions = el("td", { class: "num" });
    const gone = `node ${m.id} does not answer; a node dead for good is removed with: memdb cluster remove ${m.id}`;
    if (m.phase !== "left") {
      actions.append(
        el("button", { class: "act", "data-action": "leave", "data-id": String(m.id), title: r ? "hand its ranges over, leave the ring, stop" : gone, onclick: () => act("leave", m), disabled: busy || !r }, "Leave"),
        el("button", { class: "act", "data-action": "shutdown", "data-id": String(m.id), title: r ? "stop the node gracefully" : gone, onclick: () => act("shutdown", m), disabled: busy || !r }, "Shutdown"));
    }
    const tr = el("tr", { "data-member": String(m.id), class: (r ? "" : "unreachable") + (m.id === cs.node ? " self" : "") },
      el("td", { class: "id" }, sw, String(m.id)),
      el("td", {}, m.addr),
      el("td", {}, el("span", { class: "pill " + m.phase }, m.phase)),
      el("td", {}, el("span", { class: "dot " + m.liveness }), m.liveness),
      el("td", { class: "num", title: `replica of ${fmtPct(m.replica_share)}` }, fmtPct(m.ring_share)),
      el("td", { class: "num" }, r ? fmtCount(m.keys) : "–"),
      el("td", { class: "num" }, r ? fmtBytes(m.bytes) : "–"),
      el("td", { class: "num" }, r ? fmtRate(m.requests_per_sec) : "–"),
      el("td", { class: "num" }, r ? fmtCount(m.hints_pending) : "–"),
      el("td", { class: "num" }, r ? fmtBytes(m.log_bytes) : "–"),
      actions);
    if (!r && m.error) tr.title = "not reachable: " + m.error;
    tbody.append(tr);
  }
  const down = (cs.members || []).filter((m) => !m.reachable);
  $("#members-note").textContent = down.length ?
    `Not reachable from node ${cs.node}: ` + down.map((m) => `node ${m.id} (${m.error || "no answer"})`).join("; ") :
    "Load (keys, memory, req/s, hints, log) is each member's own; phase and liveness are node " + cs.node + "'s view.";
}

// ---- actions ----

const ACTIONS = {
  leave: {
    title: (id) => `Make node ${id} leave the cluster?`,
    text: (id) => `Node ${id} hands its ranges to the members that take them over, leaves the ring and stops. ` +
      `To join again it needs a new id and an empty data directory. With much data this takes a while.`,
    button: (id) => `Leave node ${id}`,
  },
  shutdown: {
    title: (id) => `Shut node ${id} down?`,
    text: (id) => `Node ${id} stops gracefully, as on SIGTERM: it finishes what it acknowledged and exits. ` +
      `It stays a member; start memdbd again to bring it back. Until then its replicas serve its keys.`,
    button: (id) => `Shut down node ${id}`,
  },
};

function ask(dialog) {
  return new Promise((resolve) => {
    dialog.addEventListener("close", () => resolve(dialog.returnValue), { once: true });
    dialog.returnValue = "";
    dialog.showModal();
  });
}

async function confirmAction(action, id) {
  const a = ACTIONS[action];
  $("#confirm-title").textContent = a.title(id);
  $("#confirm-text").textContent = a.text(id) + (cluster && id === cluster.node ?
    ` This page is served by node ${id}: it stops updating once the node is gone; open another member's admin API then.` : "");
  $("#confirm-ok").textContent = a.button(id);
  return (await ask($("#confirm"))) === "ok";
}

async function askKey(message) {
  $("#key-reason").textContent = message;
  $("#key-input").value = "";
  if ((await ask($("#keydialog"))) !== "ok" || !$("#key-input").value) return null;
  sessionStorage.setItem(KEY_STORE, $("#key-input").value);
  return $("#key-input").value;
}

async function post(path) {
  const headers = {};
  const key = sessionStorage.getItem(KEY_STORE);
  if (key) headers["Authorization"] = "Bearer " + key;
  const r = await fetch(path, { method: "POST", headers });
  let body = await r.text();
  try { body = JSON.parse(body).error || body; } catch (e) { /* plain text */ }
  return { status: r.status, body: String(body).trim(), sentKey: !!key };
}

async function act(action, m) {
  if (busy || !(await confirmAction(action, m.id))) return;
  busy = true;
  renderMembers(cluster);
  banner(`${action === "leave" ? "Node " + m.id + " is leaving" : "Shutting node " + m.id + " down"}…`, "info");
  try {
    for (;;) {
      const res = await post(`/v1/nodes/${m.id}/${action}`);
      if (res.status === 401) {
        sessionStorage.removeItem(KEY_STORE);
        const key = await askKey(res.sentKey ?
          "The admin key was refused (401): type it again." :
          "This cluster requires its admin key (401).");
        if (key == null) { banner(`Not done: node ${m.id} needs the admin key for ${action} (401 Unauthorized).`); return; }
        continue;
      }
      if (res.status >= 200 && res.status < 300) {
        banner(action === "leave" ? `Node ${m.id} left the cluster.` : `Node ${m.id} is stopping.`, "info");
      } else {
        banner(`${action} of node ${m.id} failed (${res.status}): ${res.body}`);
      }
      return;
    }
  } catch (e) {
    banner(`${action} of node ${m.id}: ${e.message}`);
  } finally {
    busy = false;
    if (cluster) renderMembers(cluster);
  }
}

// ---- charts ----

// drawChart draws series over the last window of samples on canvas: a
// line per series, y from 0 to a rounded maximum, time from -windowSec to now.
function drawChart(canvas, samples, windowSec, series, unit) {
  const dpr = window.devicePixelRatio || 1;
  const w = canvas.clientWidth, h = canvas.clientHeight;
  if (canvas.width !== Math.round(w * dpr) || canvas.height !== Math.round(h * dpr)) {
    canvas.width = Math.round(w * dpr);
    canvas.height = Math.round(h * dpr);
  }
  const g = canvas.getContext("2d");
  g.setTransform(dpr, 0, 0, dpr, 0, 0);
  g.clearRect(0, 0, w, h);
  g.font = "11px system-ui, -apple-system, 'Segoe UI', Roboto, Arial, 'DejaVu Sans', sans-serif";
  g.textBaseline = "middle";
  const fmt = (v) => (unit === "ms" ? fmtMs(v) : fmtRate(v));

  // The legend first, with each series' latest value, wrapped to the
  // width: the plot starts below it.
  const last = samples[samples.length - 1] || {};
  const left = 56, right = 10, bottom = 22;
  let x = left, y = 8;
  const legend = [];
  for (const se of series) {
    const label = `${se.name} ${fmt(last[se.key] || 0)}`;
    const lw = g.measureText(label).width + 14;
    if (x > left && x + lw > w - right) { x = left; y += 16; }
    legend.push({ se, label, x, y });
    x += lw + 18;
  }
  const top = y + 18;
  const pw = w - left - right, ph = h - top - bottom;
  const now = samples.length ? samples[samples.length - 1].t : Date.now();
  const t0 = now - windowSec * 1000;

  let max = 0;
  for (const s of samples) for (const se of series) max = Math.max(max, s[se.key] || 0);
  // Latencies span decades (tens of microseconds to a stall of seconds):
  // their axis is logarithmic, from 10 µs; rates are linear from 0.
  const log = unit === "ms";
  let ticks, yOf;
  if (log) {
    const lo = -2, hi = Math.max(lo + 2, Math.ceil(Math.log10(Math.max(max, 0.01)) - 1e-9));
    ticks = [];
    for (let e = lo; e <= hi; e++) ticks.push(Math.pow(10, e));
    yOf = (v) => top + ph - (ph * (Math.log10(Math.max(v, 0.01)) - lo)) / (hi - lo);
  } else {
    const top4 = Math.max(max, 4); // an idle chart still counts 0 to 4
    const step = niceStep(top4 / 4);
    const yMax = step * Math.ceil(top4 / step - 1e-9);
    ticks = [];
    for (let v = 0; v <= yMax + step / 2; v += step) ticks.push(v);
    yOf = (v) => top + ph - (ph * Math.min(v, yMax)) / yMax;
  }
  for (const [i, v] of ticks.entries()) {
    const yy = yOf(v);
    g.strokeStyle = i === 0 ? "#c9cdd6" : "#eef0f3";
    g.lineWidth = 1;
    g.beginPath(); g.moveTo(left, Math.round(yy) + 0.5); g.lineTo(left + pw, Math.round(yy) + 0.5); g.stroke();
    g.fillStyle = "#8a909c";
    g.textAlign = "right";
    g.fillText(fmt(v), left - 6, yy);
  }
  g.textAlign = "center";
  for (const sec of [120, 90, 60, 30, 0]) {
    if (sec > windowSec) continue;
    g.fillText(sec === 0 ? "now" : `-${sec}s`, left + pw * (1 - sec / windowSec), top + ph + 12);
  }

  for (const se of series) {
    g.strokeStyle = se.color;
    g.lineWidth = se.width || 1.8;
    g.setLineDash(se.dash || []);
    g.beginPath();
    let started = false;
    for (const s of samples) {
      const v = s[se.key] || 0;
      if (s.t < t0 || (log && v === 0)) { started = false; continue; } // no requests: a gap
      const px = left + (pw * (s.t - t0)) / (windowSec * 1000);
      const py = yOf(v);
      if (started) g.lineTo(px, py); else { g.moveTo(px, py); started = true; }
    }
    g.stroke();
  }
  g.setLineDash([]);

  g.textAlign = "left";
  for (const l of legend) {
    g.strokeStyle = l.se.color;
    g.lineWidth = 2;
    g.setLineDash(l.se.dash || []);
    g.beginPath(); g.moveTo(l.x, l.y); g.lineTo(l.x + 10, l.y); g.stroke();
    g.setLineDash([]);
    g.fillStyle = "#434a57";
    g.fillText(l.label, l.x + 14, l.y);
  }
  if (!samples.length) {
    g.fillStyle = "#8a909c";
    g.textAlign = "center";
    g.fillText("waiting for samples…", left + pw / 2, top + ph / 2);
  }
}

// niceStep rounds v up to 1, 2, 2.5 or 5 times a power of ten: a grid step.
function niceStep(v) {
  if (!(v > 0)) return 0.25;
  const p = Math.pow(10, Math.floor(Math.log10(v)));
  for (const m of [1, 2, 2.5, 5]) if (v <= m * p + 1e-12) return m * p;
  return 10 * p;
}

let lastStats = null;

function renderStats(st) {
  lastStats = st;
  const win = (st.window * st.interval_ms) / 1000;
  const s = st.samples || [];
  drawChart($("#chart-throughput"), s, win, [
    { key: "reads", name: "reads/s", color: "#2f6fde" },
    { key: "writes", name: "writes/s", color: "#e07b39" },
  ], "rate");
  drawChart($("#chart-latency"), s, win, [
    { key: "read_p50_ms", name: "read p50", color: "#2f6fde" },
    { key: "read_p99_ms", name: "read p99", color: "#2f6fde", dash: [4, 3], width: 1.4 },
    { key: "write_p50_ms", name: "write p50", color: "#e07b39" },
    { key: "write_p99_ms", name: "write p99", color: "#e07b39", dash: [4, 3], width: 1.4 },
  ], "ms");
  drawChart($("#chart-fsync"), s, win, [
    { key: "fsync_p50_ms", name: "p50", color: "#2a9d8f" },
    { key: "fsync_p99_ms", name: "p99", color: "#2a9d8f", dash: [4, 3], width: 1.4 },
  ], "ms");
}

window.addEventListener("resize", () => { if (lastStats) renderStats(lastStats); });

pollCluster();
pollStats();
