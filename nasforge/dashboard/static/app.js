/* nasforge dashboard: pages built from the JSON API under /api/.
 * Every string that came from the store is put in the page with textContent or an attribute
 * setter (never innerHTML), so experiment names, errors and architectures show as text. */
"use strict";

const POLL_MS = 1000;
const INSIGHTS_MS = 5000;
const MAX_ROWS = 500;
const COLORS = ["#5778a4", "#e49444", "#d1615d", "#85b6b2", "#6a9f58", "#e7ca60", "#a87c9f", "#f1a2a9",
                "#967662", "#b8b0ac", "#2a5783", "#b9742d"];

let page = { timers: [], charts: [] };

/* ------------------------------------------------------------------ DOM helpers */
function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === "class") el.className = v;
    else if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else if (k === "text") el.textContent = v;
    else el.setAttribute(k, v);
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

function svg(tag, attrs, text) {
  const el = document.createElementNS("http://www.w3.org/2000/svg", tag);
  for (const [k, v] of Object.entries(attrs || {})) el.setAttribute(k, v);
  if (text !== undefined) el.textContent = text;
  return el;
}

function fmt(v, digits) {
  if (v === null || v === undefined) return "–";
  if (typeof v === "number") {
    if (!Number.isFinite(v)) return "–";
    if (Number.isInteger(v)) return String(v);
    return v.toFixed(digits === undefined ? 3 : digits);
  }
  return String(v);
}

function when(t) {
  if (!t) return "–";
  const d = new Date(t * 1000);
  const pad = (n) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

function statusBadge(s) { return h("span", { class: "status status-" + String(s).replace(/[^a-z_-]/gi, "") }, s); }

function budgetText(b) {
  const parts = [];
  if (b.trials) parts.push(b.trials + " trials");
  if (b.epochs) parts.push(b.epochs + " epochs");
  if (b.seconds) parts.push(b.seconds + " charged s");
  if (b.wall_seconds) parts.push(b.wall_seconds + " wall s");
  return parts.join(", ") || "–";
}

function expLink(name) { return "#/exp/" + encodeURIComponent(name); }

function trialLink(name, number) { return "#/exp/" + encodeURIComponent(name) + "/trial/" + number; }

async function api(path) {
  const res = await fetch(path, { headers: { Accept: "application/json" }, cache: "no-store" });
  const body = await res.json();
  if (!res.ok) throw new Error(body.error || res.statusText);
  return body;
}

function setLive(ok, text) {
  const el = document.getElementById("live");
  el.textContent = text || (ok ? "live · " + new Date().toLocaleTimeString() : "not reachable");
  el.className = ok ? "" : "error";
}

/* ------------------------------------------------------------------ page life cycle */
function every(ms, fn) {
  let busy = false;
  const tick = async () => {
    if (busy) return;
    busy = true;
    try {
      await fn();
      setLive(true);
      const shown = document.getElementById("page-error");
      if (shown) shown.remove();
    } catch (e) {
      setLive(false, "error");
      let shown = document.getElementById("page-error");
      if (!shown) {
        shown = h("p", { class: "error", id: "page-error" });
        document.getElementById("main").prepend(shown);
      }
      shown.textContent = "error: " + e.message;
    } finally { busy = false; }
  };
  page.timers.push(setInterval(tick, ms));
  return tick;
}

function leave() {
  page.timers.forEach(clearInterval);
  page.charts.forEach((c) => c.destroy());
  page = { timers: [], charts: [] };
  hideTip();
}

function route() {
  leave();
  const main = document.getElementById("main");
  main.replaceChildren();
  const hash = location.hash.replace(/^#/, "") || "/";
  let m;
  try {
    if ((m = hash.match(/^\/exp\/([^/]*)\/trial\/(\d+)$/))) {
      return trialPage(main, decodeURIComponent(m[1]), +m[2]).catch((e) => {
        main.append(h("p", { class: "error", id: "page-error" }, "error: " + e.message));
        setLive(false, "error");
      });
    }
    if ((m = hash.match(/^\/exp\/([^/]*)$/))) return experimentPage(main, decodeURIComponent(m[1]));
    if ((m = hash.match(/^\/compare\?(.*)$/))) {
      return comparePage(main, new URLSearchParams(m[1]).getAll("name"));
    }
    return experimentsPage(main);
  } catch (e) {
    main.append(h("p", { class: "error" }, "error: " + e.message));
  }
}

/* ------------------------------------------------------------------ charts and tooltip */
function showTip(ev, text) {
  const tip = document.getElementById("tooltip");
  tip.textContent = text;
  tip.hidden = false;
  tip.style.left = Math.min(ev.clientX + 14, window.innerWidth - 380) + "px";
  tip.style.top = ev.clientY + 14 + "px";
}

function hideTip() { const t = document.getElementById("tooltip"); if (t) t.hidden = true; }

function pointSeries(label, color, size) {
  return { label, stroke: color, fill: color, paths: () => null, spanGaps: false,
           points: { show: true, size: size || 4, fill: color, stroke: color } };
}

function lineSeries(label, color, width) { return { label, stroke: color, width: width || 2, spanGaps: true, points: { show: false } }; }

/* A uPlot chart in `box`; `tip(i)` gives the hover text of point index i (or null). The box gets
 * data-rendered once uPlot has drawn it, which the browser tests read. */
function makeChart(box, { series, data, xLabel, yLabel, tip, bands }) {
  box.replaceChildren();
  const width = Math.max(320, box.clientWidth || 560);
  let lastEvent = null;
  box.addEventListener("mousemove", (e) => { lastEvent = e; });
  box.addEventListener("mouseleave", hideTip);
  const opts = {
    width, height: 280,
    scales: { x: { time: false } },
    axes: [{ label: xLabel }, { label: yLabel, size: 60 }],
    series: [{ label: xLabel }, ...series],
    bands: bands || [],
    legend: { live: false },
    cursor: { drag: { x: true, y: false } },
    hooks: {
      draw: [(u) => { box.dataset.rendered = String(+(box.dataset.rendered || 0) + 1); }],
      setCursor: [(u) => {
        const i = u.cursor.idx;
        const text = i === null || i === undefined || !tip ? null : tip(i);
        if (text && lastEvent) showTip(lastEvent, text); else hideTip();
      }],
    },
  };
  const chart = new uPlot(opts, data, box);
  // follow the card's width (cards are laid out in a grid that changes as cards are added)
  const observer = new ResizeObserver(() => {
    const w = Math.max(320, box.clientWidth);
    if (Math.abs(w - chart.width) > 2) chart.setSize({ width: w, height: opts.height });
  });
  observer.observe(box);
  const destroy = chart.destroy.bind(chart);
  chart.destroy = () => { observer.disconnect(); destroy(); };
  page.charts.push(chart);
  return chart;
}

function chartCard(title, id, note) {
  const box = h("div", { class: "chart", id });
  return { card: h("div", { class: "card" }, h("h2", {}, title), note ? h("p", { class: "muted" }, note) : null, box), box };
}

/* ------------------------------------------------------------------ Experiments page */
function experimentsPage(main) {
  const selected = new Set();
  const tbody = h("tbody");
  const compareBtn = h("button", { id: "compare-btn", disabled: "", onclick: () => {
    location.hash = "#/compare?" + [...selected].map((n) => "name=" + encodeURIComponent(n)).join("&");
  } }, "Compare selected");
  const count = h("span", { id: "experiment-count" }, "");
  main.append(h("h1", {}, "Experiments"),
    h("div", { class: "controls" }, compareBtn, count, h("span", { class: "muted" }, "tick experiments to compare their best-so-far curves")),
    h("div", { class: "card" }, h("table", { id: "experiments" },
      h("thead", {}, h("tr", {}, ["", "name", "kind", "space", "strategy / method", "evaluator", "status",
        "trials / budget", "best", "started", "updated"].map((t) => h("th", {}, t)))), tbody)));

  const refresh = every(POLL_MS, async () => {
    const { experiments } = await api("/api/experiments");
    count.textContent = experiments.length + " experiment" + (experiments.length === 1 ? "" : "s");
    tbody.replaceChildren(...experiments.map((e) => {
      const box = h("input", { type: "checkbox", onchange: (ev) => {
        if (ev.target.checked) selected.add(e.name); else selected.delete(e.name);
        compareBtn.disabled = selected.size < 1;
      } });
      box.checked = selected.has(e.name);
      const budget = budgetText(e.budget);
      const tr = h("tr", {},
        h("td", {}, box),
        h("td", {}, h("a", { href: expLink(e.name), class: "exp-name" }, e.name)),
        h("td", {}, e.kind), h("td", {}, e.space), h("td", {}, e.method), h("td", {}, e.evaluator),
        h("td", {}, statusBadge(e.status)),
        h("td", { class: "num trials" }, `${e.trials}${e.failed ? " (" + e.failed + " failed)" : ""} / ${budget}`),
        h("td", { class: "num" }, e.best ? `${fmt(e.best.value)} ${e.best.metric}` : "–"),
        h("td", {}, when(e.created)), h("td", {}, when(e.updated)));
      tr.dataset.name = e.name;
      tr.dataset.trials = e.trials;
      return tr;
    }));
    compareBtn.disabled = selected.size < 1;
  });
  refresh();
}

/* ------------------------------------------------------------------ Experiment page */
function objectiveOf(text) { const [metric, dir] = String(text).split(":"); return { metric, dir: dir || "max" }; }

function betterThan(a, b, dir) { return dir === "min" ? a < b : a > b; }

function paretoFront(points, d1, d2) {
  const s1 = (v) => (d1 === "min" ? -v : v), s2 = (v) => (d2 === "min" ? -v : v);
  const order = [...points].sort((a, b) => s1(b.x) - s1(a.x) || s2(b.y) - s2(a.y));
  const front = new Set();
  let best = -Infinity;
  for (const p of order) if (s2(p.y) > best) { front.add(p); best = s2(p.y); }
  return front;
}

function experimentPage(main, name) {
  const state = { trials: [], last: -1, exp: null, sort: { key: "order", asc: true }, filter: "", tableDirty: true,
                  lastTable: 0, insightsAt: 0, insightsCount: -1, weightEdge: null, insights: null };
  const title = h("h1", { id: "exp-title" }, name);
  const summary = h("div", { class: "summary", id: "exp-summary" });
  const grid = h("div", { class: "grid" });
  const c1 = chartCard("Best so far vs trials", "chart-trials", "every trial is a point; failed trials are red dots at the bottom (hover for the error)");
  const c2 = chartCard("Best so far vs charged seconds", "chart-seconds");
  grid.append(c1.card, c2.card);
  const extra = h("div", { class: "grid" });
  const table = h("table", { id: "trials" });
  const filter = h("input", { type: "search", placeholder: "filter: architecture, status, error, number…",
                              oninput: (e) => { state.filter = e.target.value.toLowerCase(); state.tableDirty = true; drawTable(true); } });
  const tableNote = h("span", { class: "muted" });
  main.append(title, summary, grid, extra,
    h("h2", {}, "Trials"), h("div", { class: "controls" }, filter, tableNote),
    h("div", { class: "card scroll" }, table));
  let charts = {};

  function objectives() { return (state.exp ? state.exp.objectives : ["val_acc:max"]).map(objectiveOf); }

  function drawSummary() {
    const e = state.exp;
    const budget = budgetText(e.budget);
    const item = (k, ...v) => h("span", {}, h("b", {}, k + ": "), ...v);
    summary.replaceChildren(...[
      item("status", statusBadge(e.status)),
      item("trials", h("span", { id: "trial-count" }, String(e.trials)), " / " + budget + (e.failed ? ` (${e.failed} failed)` : "")),
      item("best", e.best ? h("a", { href: trialLink(e.name, e.best.number) }, `${fmt(e.best.value)} ${e.best.metric} (trial ${e.best.number})`) : "–"),
      item(e.kind === "oneshot" ? "method" : "strategy", e.method), item("space", e.space), item("evaluator", e.evaluator),
      item("objectives", e.objectives.join(", ")), item("charged", fmt(e.charged_seconds, 1) + " s"),
      e.device ? item("device", e.device + (e.precision ? " · " + e.precision : "")) : null,
      item("started", when(e.created)), item("updated", when(e.updated))].filter(Boolean));
  }

  function curveData() {
    const obj = objectives()[0];
    const xs = [], ys = [], best = [], fail = [], cost = [];
    let b = null, cum = 0, floor = null;
    for (const t of state.trials) {
      const v = t.status === "ok" ? t.metrics[obj.metric] : null;
      if (typeof v === "number") floor = floor === null ? v : Math.min(floor, v);
    }
    state.trials.forEach((t, i) => {
      const v = t.status === "ok" && typeof t.metrics[obj.metric] === "number" ? t.metrics[obj.metric] : null;
      if (v !== null && (b === null || betterThan(v, b, obj.dir))) b = v;
      cum += t.cost || 0;
      xs.push(i + 1); ys.push(v); best.push(b); fail.push(t.status === "ok" ? null : (floor === null ? 0 : floor)); cost.push(cum);
    });
    return { xs, ys, best, fail, cost, metric: obj.metric };
  }

  function trialTip(t) {
    if (!t) return null;
    const lines = [`trial ${t.number} · ${t.status}`, t.arch];
    if (t.error) lines.push("error: " + t.error);
    for (const [k, v] of Object.entries(t.metrics || {})) lines.push(`${k} = ${fmt(v)}`);
    return lines.join("\n");
  }

  function drawCharts() {
    const d = curveData();
    const series = [pointSeries("trial", COLORS[0], 4), lineSeries("best so far", COLORS[1], 2), pointSeries("failed", COLORS[2], 7)];
    const tip = (i) => trialTip(state.trials[i]);
    if (!charts.trials) {
      charts.trials = makeChart(c1.box, { series, data: [d.xs, d.ys, d.best, d.fail], xLabel: "trial", yLabel: d.metric, tip });
      charts.seconds = makeChart(c2.box, { series: series.map((s) => ({ ...s })), data: [d.cost, d.ys, d.best, d.fail],
                                           xLabel: "charged seconds", yLabel: d.metric, tip });
    } else {
      charts.trials.setData([d.xs, d.ys, d.best, d.fail]);
      charts.seconds.setData([d.cost, d.ys, d.best, d.fail]);
    }
    const objs = objectives();
    if (objs.length >= 2) {
      const pts = [];
      for (const t of state.trials) {
        const x = t.metrics[objs[0].metric], y = t.metrics[objs[1].metric];
        if (t.status === "ok" && typeof x === "number" && typeof y === "number") pts.push({ x, y, t });
      }
      pts.sort((a, b) => a.x - b.x);
      const front = paretoFront(pts, objs[0].dir, objs[1].dir);
      const data = [pts.map((p) => p.x), pts.map((p) => p.y), pts.map((p) => (front.has(p) ? p.y : null))];
      if (!charts.pareto) {
        const c = chartCard(`Pareto front: ${objs[0].metric} (${objs[0].dir}) vs ${objs[1].metric} (${objs[1].dir})`, "chart-pareto");
        extra.prepend(c.card);
        charts.paretoPts = pts;
        charts.pareto = makeChart(c.box, { series: [pointSeries("trial", COLORS[0], 4),
          { ...lineSeries("Pareto front", COLORS[2], 1.5), points: { show: true, size: 7, fill: COLORS[2] } }],
          data, xLabel: objs[0].metric, yLabel: objs[1].metric, tip: (i) => trialTip(charts.paretoPts[i] && charts.paretoPts[i].t) });
      } else {
        charts.paretoPts = pts;
        charts.pareto.setData(data);
      }
    }
  }

  function drawInsights(ins) {
    state.insights = ins;
    for (const key of ["curves", "weights"]) { if (charts[key]) { charts[key].destroy(); page.charts = page.charts.filter((c) => c !== charts[key]); charts[key] = null; } }
    extra.querySelectorAll(".insight").forEach((el) => el.remove());
    const opsCard = h("div", { class: "card insight", id: "op-frequency" }, h("h2", {}, `Op frequency among the top ${ins.top} trials`));
    const rows = [];
    for (const { label, counts } of ins.ops) {
      const total = counts.reduce((s, c) => s + c[1], 0);
      counts.forEach(([value, n], j) => rows.push(h("tr", {}, h("td", {}, j === 0 ? label : ""), h("td", { class: "arch" }, value),
        h("td", { class: "num" }, String(n)), h("td", { class: "barcell" }, (() => { const b = h("div", { class: "bar" }); b.style.width = Math.round(100 * n / total) + "%"; return b; })()))));
    }
    opsCard.append(rows.length ? h("div", { class: "scroll" }, h("table", {}, h("thead", {}, h("tr", {}, ["choice", "value", "count", "share"].map((t) => h("th", {}, t)))), h("tbody", {}, rows)))
      : h("p", { class: "muted" }, "no successful trials yet"));
    extra.append(opsCard);
    if (ins.curves.length) {
      const c = chartCard(`Learning curves of the top ${ins.curves.length} trials`, "chart-curves", "validation accuracy per epoch (training accuracy where no validation was stored)");
      c.card.classList.add("insight");
      extra.append(c.card);
      const epochs = Math.max(...ins.curves.map((k) => k.curve.length));
      const xs = Array.from({ length: epochs }, (_, i) => i + 1);
      const data = [xs, ...ins.curves.map((k) => xs.map((e) => {
        const p = k.curve.find((q) => q.epoch === e) || k.curve[e - 1];
        if (!p) return null;
        return p.val_acc !== null && p.val_acc !== undefined ? p.val_acc : (p.train_acc !== undefined ? p.train_acc : null);
      }))];
      charts.curves = makeChart(c.box, { series: ins.curves.map((k, i) => lineSeries("#" + k.number, COLORS[i % COLORS.length], 1.5)),
        data, xLabel: "epoch", yLabel: "accuracy %", tip: null });
    }
    if (ins.arch_weights.length) {
      const edges = Object.keys(ins.arch_weights[ins.arch_weights.length - 1].weights);
      if (!state.weightEdge || !edges.includes(state.weightEdge)) state.weightEdge = edges[0];
      const select = h("select", { id: "weight-edge", onchange: (e) => { state.weightEdge = e.target.value; drawInsights(state.insights); } },
        edges.map((e) => { const o = h("option", { value: e }, e); o.selected = e === state.weightEdge; return o; }));
      const c = chartCard("Architecture-weight history", "chart-weights");
      c.card.classList.add("insight");
      c.card.insertBefore(h("div", { class: "controls" }, "edge ", select), c.box);
      extra.append(c.card);
      const hist = ins.arch_weights;
      const ops = Object.keys(hist[hist.length - 1].weights[state.weightEdge] || {});
      const xs = hist.map((p) => p.epoch);
      const data = [xs, ...ops.map((op) => hist.map((p) => { const w = p.weights[state.weightEdge]; return w && typeof w[op] === "number" ? w[op] : null; }))];
      charts.weights = makeChart(c.box, { series: ops.map((op, i) => lineSeries(op, COLORS[i % COLORS.length], 2)),
        data, xLabel: "epoch", yLabel: "weight (probability)", tip: null });
    }
  }

  const columns = () => {
    const objs = objectives().map((o) => o.metric);
    const metricKeys = new Set(objs), hiddenKeys = new Set();
    for (const t of state.trials.slice(-50)) {
      Object.keys(t.metrics || {}).forEach((k) => metricKeys.add(k));
      Object.keys(t.hidden || {}).forEach((k) => hiddenKeys.add(k));
    }
    return [
      { key: "number", label: "#", get: (t) => t.number, num: true },
      { key: "arch", label: "architecture", get: (t) => t.arch, cls: "arch" },
      { key: "status", label: "status", get: (t) => t.status },
      ...[...metricKeys].map((k) => ({ key: "m:" + k, label: k, get: (t) => t.metrics[k], num: true })),
      ...[...hiddenKeys].filter((k) => !metricKeys.has(k)).map((k) => ({ key: "h:" + k, label: k + " (report)", get: (t) => t.hidden[k], num: true })),
      { key: "cost", label: "cost s", get: (t) => t.cost, num: true },
      { key: "fidelity", label: "fidelity", get: (t) => t.fidelity, num: true },
      { key: "error", label: "error", get: (t) => t.error, cls: "err" },
    ];
  };

  function drawTable(force) {
    if (!state.tableDirty) return;
    const now = Date.now();
    if (!force && now - state.lastTable < 2000) return;
    state.lastTable = now;
    state.tableDirty = false;
    const cols = columns();
    const col = cols.find((c) => c.key === state.sort.key) || cols[0];
    let rows = state.trials;
    if (state.filter) {
      rows = rows.filter((t) => [t.number, t.arch, t.status, t.error || ""].join(" ").toLowerCase().includes(state.filter));
    }
    rows = [...rows].sort((a, b) => {
      const x = col.get(a), y = col.get(b);
      const nx = x === null || x === undefined, ny = y === null || y === undefined;
      if (nx || ny) return nx === ny ? 0 : nx ? 1 : -1;
      const r = typeof x === "number" && typeof y === "number" ? x - y : String(x).localeCompare(String(y));
      return state.sort.asc ? r : -r;
    });
    tableNote.textContent = `${rows.length} of ${state.trials.length} trials` + (rows.length > MAX_ROWS ? ` (first ${MAX_ROWS} shown)` : "");
    const head = h("tr", {}, cols.map((c) => h("th", { class: "sortable", title: "sort", onclick: () => {
      state.sort = { key: c.key, asc: state.sort.key === c.key ? !state.sort.asc : c.key === "number" };
      state.tableDirty = true; drawTable(true);
    } }, c.label + (c.key === state.sort.key ? (state.sort.asc ? " ▲" : " ▼") : ""))));
    const body = rows.slice(0, MAX_ROWS).map((t) => h("tr", {}, cols.map((c) => {
      const v = c.get(t);
      if (c.key === "number") return h("td", { class: "num" }, h("a", { href: trialLink(name, t.number) }, String(v)));
      if (c.key === "status") return h("td", {}, statusBadge(v));
      return h("td", { class: (c.num ? "num " : "") + (c.cls || "") }, c.num ? fmt(v) : (v === null || v === undefined ? "" : String(v)));
    })));
    table.replaceChildren(h("thead", {}, head), h("tbody", {}, body));
  }

  const refresh = every(POLL_MS, async () => {
    const res = await api(`/api/experiments/${encodeURIComponent(name)}/trials?after=${state.last}`);
    state.exp = res.experiment;
    if (res.trials.length) {
      state.trials.push(...res.trials);
      state.last = res.trials[res.trials.length - 1].order;
      state.tableDirty = true;
    }
    drawSummary();
    if (res.trials.length || !charts.trials) drawCharts();
    drawTable(false);
    const now = Date.now();
    if (state.insightsCount !== state.trials.length && now - state.insightsAt >= INSIGHTS_MS) {
      state.insightsAt = now;
      state.insightsCount = state.trials.length;
      drawInsights(await api(`/api/experiments/${encodeURIComponent(name)}/insights`));
    }
  });
  refresh();
}

/* ------------------------------------------------------------------ Trial page */
function drawCell(cell) {
  const n = cell.nodes.length, gap = 150, w = 60 + gap * (n - 1) + 60;
  const maxSpan = Math.max(1, ...cell.edges.map((e) => e.dst - e.src));
  const height = 90 + 42 * maxSpan, base = height - 40;
  const root = svg("svg", { width: w, height, viewBox: `0 0 ${w} ${height}`, class: "cell", role: "img" });
  root.append(svg("title", {}, cell.name));
  const x = (i) => 60 + gap * i;
  for (const e of cell.edges) {
    const x1 = x(e.src), x2 = x(e.dst), span = e.dst - e.src, lift = 28 + 42 * (span - 1);
    const cls = "edge" + (e.op === "none" ? " edge-none" : "") + (e.op === "" ? " out" : "");
    root.append(svg("path", { d: `M ${x1} ${base} Q ${(x1 + x2) / 2} ${base - 2 * lift} ${x2} ${base}`, class: cls }));
    if (e.op) root.append(svg("text", { x: (x1 + x2) / 2, y: base - lift - 4, "text-anchor": "middle" }, e.op));
  }
  cell.nodes.forEach((label, i) => {
    root.append(svg("circle", { cx: x(i), cy: base, r: 16, class: "node" }));
    root.append(svg("text", { x: x(i), y: base + 32, "text-anchor": "middle" }, label));
  });
  return root;
}

function kvTable(obj, id) {
  const entries = Object.entries(obj || {});
  if (!entries.length) return h("p", { class: "muted" }, "none");
  return h("table", { id }, h("tbody", {}, entries.map(([k, v]) => h("tr", {}, h("th", {}, k),
    h("td", { class: typeof v === "number" ? "num" : "arch" }, typeof v === "object" && v !== null ? JSON.stringify(v) : fmt(v))))));
}

async function trialPage(main, name, number) {
  const t = await api(`/api/experiments/${encodeURIComponent(name)}/trials/${number}`);
  main.append(...[h("p", {}, h("a", { href: expLink(name) }, "← " + name)),
    h("h1", { id: "trial-title" }, `Trial ${t.number}`), h("p", { class: "arch", id: "trial-arch" }, t.arch),
    h("div", { class: "summary" }, h("span", {}, h("b", {}, "status: "), statusBadge(t.status)),
      h("span", {}, h("b", {}, "cost: "), fmt(t.cost, 1) + " s"), h("span", {}, h("b", {}, "fidelity: "), fmt(t.fidelity)),
      h("span", {}, h("b", {}, "params: "), fmt(t.params)), h("span", {}, h("b", {}, "finished: "), when(t.finished))),
    t.error ? h("pre", { id: "trial-error" }, t.error) : null].filter(Boolean));
  const arch = h("div", { class: "card", id: "arch-drawing" }, h("h2", {}, "Architecture"));
  if (t.drawing.kind === "cells") {
    for (const cell of t.drawing.cells) arch.append(h("h3", {}, cell.name), drawCell(cell));
  } else {
    arch.append(h("ol", { class: "layers" }, t.drawing.layers.map((l) => h("li", {}, h("b", {}, l.name + ": "),
      l.values.map(([k, v]) => `${k}=${typeof v === "string" ? v : JSON.stringify(v)}`).join(", ")))));
  }
  main.append(arch);
  const grid = h("div", { class: "grid" });
  grid.append(h("div", { class: "card" }, h("h2", {}, "Metrics (seen by the strategy)"), kvTable(t.metrics, "trial-metrics"),
                h("h2", {}, "Report metrics (never seen by the strategy)"), kvTable(t.hidden, "trial-hidden")),
              h("div", { class: "card" }, h("h2", {}, "Recipe"), kvTable(t.recipe, "trial-recipe"),
                h("h2", {}, "Commands"), ...t.commands.map((c) => [h("p", { class: "muted" }, c.what), h("pre", { class: "command" }, c.command)])));
  main.append(grid);
  if (t.curve.length) {
    const c = chartCard("Learning curve", "chart-trial-curve");
    main.append(h("div", { class: "grid" }, c.card));
    const xs = t.curve.map((p) => p.epoch), pick = (k) => t.curve.map((p) => (typeof p[k] === "number" ? p[k] : null));
    makeChart(c.box, { series: [lineSeries("train acc", COLORS[0]), lineSeries("val acc", COLORS[1]),
      lineSeries("train loss", COLORS[2], 1), lineSeries("val loss", COLORS[3], 1)],
      data: [xs, pick("train_acc"), pick("val_acc"), pick("train_loss"), pick("val_loss")], xLabel: "epoch", yLabel: "acc % / loss", tip: null });
  }
  const info = Object.fromEntries(Object.entries(t.info).filter(([k]) => !["arch_weights"].includes(k)));
  main.append(h("h2", {}, "Info"), kvTable(info, "trial-info"), h("h2", {}, "Log"), t.log ? h("pre", { id: "trial-log" }, t.log) : h("p", { class: "muted" }, "no log stored"));
  setLive(true, "trial " + t.number);
}

/* ------------------------------------------------------------------ Compare page */
function comparePage(main, names) {
  main.append(h("h1", {}, "Compare"), h("p", { class: "muted" }, names.join(" · ")));
  const c1 = chartCard("Best so far vs trials", "chart-compare-trials", "thin lines: runs; thick line and band: mean ± one standard deviation over the seeds of one setting");
  const c2 = chartCard("Best so far vs charged seconds", "chart-compare-seconds");
  main.append(h("div", { class: "grid" }, c1.card, c2.card));
  const charts = {};
  const draw = (box, axis, res, xLabel) => {
    const a = res[axis];
    const series = [], data = [a.x], bands = [];
    a.series.forEach((s, i) => { series.push(lineSeries(s.name, COLORS[i % COLORS.length], a.groups.length ? 1 : 2)); data.push(s.y); });
    a.groups.forEach((g, j) => {
      const color = COLORS[(a.series.length + j) % COLORS.length];
      series.push(lineSeries(g.label, color, 3)); data.push(g.mean);
      series.push({ label: g.label + " +1 sd", stroke: color, width: 0.5, dash: [4, 4], points: { show: false } }); data.push(g.hi);
      series.push({ label: g.label + " -1 sd", stroke: color, width: 0.5, dash: [4, 4], points: { show: false } }); data.push(g.lo);
      bands.push({ series: [data.length - 2, data.length - 1], fill: color + "33" });
    });
    if (!charts[axis]) charts[axis] = makeChart(box, { series, data, xLabel, yLabel: res.metric, tip: null, bands });
    else charts[axis].setData(data);
  };
  const refresh = every(POLL_MS * 2, async () => {
    const res = await api("/api/compare?" + names.map((n) => "name=" + encodeURIComponent(n)).join("&"));
    draw(c1.box, "trials", res, "trial");
    draw(c2.box, "seconds", res, "charged seconds");
  });
  refresh();
}

window.addEventListener("hashchange", route);
window.addEventListener("DOMContentLoaded", route);
