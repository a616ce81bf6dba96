// The leaders' dashboard (issue 9): the period's total with 环比 / 同比, the daily trend
// against the period before, bars by unit, a map-like grid of the 13 counties and districts,
// hot words, alerts and clusters; any number opens the orders behind it. Charts are plain
// SVG drawn here (no library, nothing fetched from elsewhere). The open alerts arrive live
// over /api/insight/events.
"use strict";

const SVG = "http://www.w3.org/2000/svg";
const TYPES = {
  consultation: "咨询", help: "求助", complaint: "投诉", report: "举报", suggestion: "建议",
  praise: "表扬", other: "其他",
};
const pct = (r) => (r === null || r === undefined ? "—" : (r >= 0 ? "+" : "") + (r * 100).toFixed(1) + "%");
const change = (now, before) => (before > 0 ? (now - before) / before : null);

function el(tag, attrs, text) {
  const e = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
  if (text !== undefined) e.textContent = text;
  return e;
}

// The orders behind a count come from the drill-down route (the dashboard's counts carry none).
async function drillBy(by, key, what) {
  try {
    const d = await api("GET", `/api/insight/orders?${query()}&by=${by}&key=${encodeURIComponent(key)}&limit=50`);
    drill(what, d.orders);
  } catch (err) {
    showError("工单明细加载失败：" + err.message);
  }
}

function drill(what, orders) {
  $("drill-box").hidden = false;
  $("drill-what").textContent = `${what}（前 ${orders.length} 件）`;
  $("drill").replaceChildren(...orders.map((no) => {
    const li = document.createElement("li");
    li.textContent = no;
    return li;
  }));
}

function drawTrend(now, before) {
  const svg = $("trend");
  const W = 600, H = 180, L = 36, B = 22, T = 8;
  const max = Math.max(1, ...now.map((p) => p.count), ...before.map((p) => p.count));
  const n = Math.max(now.length, before.length, 2);
  const x = (i) => L + (i * (W - L - 8)) / (n - 1);
  const y = (v) => H - B - ((H - B - T) * v) / max;
  const path = (pts) => pts.map((p, i) => `${i ? "L" : "M"}${x(i).toFixed(1)},${y(p.count).toFixed(1)}`).join(" ");
  const kids = [
    el("line", { x1: L, y1: H - B, x2: W - 4, y2: H - B, stroke: "#999" }),
    el("text", { x: 2, y: T + 8, "font-size": 10 }, String(max)),
    el("text", { x: 2, y: H - B, "font-size": 10 }, "0"),
    el("path", { d: path(before), fill: "none", stroke: "#9aa7b5", "stroke-dasharray": "4 3", "stroke-width": 1.5 }),
    el("path", { d: path(now), fill: "none", stroke: "#0b4f8a", "stroke-width": 2 }),
  ];
  now.forEach((p, i) => {
    const c = el("circle", { cx: x(i), cy: y(p.count), r: 3, fill: "#0b4f8a" });
    c.append(el("title", {}, `${p.label}：${p.count} 件`));
    kids.push(c);
    if (i % 5 === 0) kids.push(el("text", { x: x(i) - 14, y: H - 6, "font-size": 10 }, p.label.slice(5)));
  });
  svg.replaceChildren(...kids);
}

function drawBars(svg, cells, name, by) {
  const W = 420, row = 22, L = 150;
  const max = Math.max(1, ...cells.map((c) => c.count));
  svg.setAttribute("viewBox", `0 0 ${W} ${Math.max(row * cells.length + 4, 40)}`);
  svg.replaceChildren(...cells.flatMap((c, i) => {
    const w = ((W - L - 60) * c.count) / max;
    const bar = el("rect", { x: L, y: i * row + 3, width: Math.max(w, 1), height: row - 6, fill: "#0b4f8a", tabindex: 0, role: "button" });
    bar.append(el("title", {}, `${name(c.key)}：${c.count} 件，环比 ${pct(change(c.count, c.previous))}`));
    bar.addEventListener("click", () => drillBy(by, c.key, name(c.key)));
    return [
      el("text", { x: L - 6, y: i * row + 16, "font-size": 12, "text-anchor": "end" }, name(c.key)),
      bar,
      el("text", { x: L + w + 4, y: i * row + 16, "font-size": 11 }, `${c.count}`),
    ];
  }));
}

function drawAreas(cells) {
  const max = Math.max(1, ...cells.map((c) => c.count));
  $("areas").replaceChildren(...cells.map((c) => {
    const tile = document.createElement("button");
    tile.type = "button";
    tile.className = "tile";
    tile.setAttribute("role", "listitem");
    // Darker for more requests: the eye finds the hot spots first.
    const a = 0.12 + 0.88 * (c.count / max);
    tile.style.background = `rgba(179, 38, 30, ${a.toFixed(2)})`;
    tile.style.color = a > 0.5 ? "#fff" : "#1d2733";
    tile.innerHTML = "";
    const n = document.createElement("b");
    n.textContent = c.key;
    const v = document.createElement("span");
    v.textContent = `${c.count} 件 ${pct(change(c.count, c.previous))}`;
    tile.append(n, document.createElement("br"), v);
    tile.setAttribute("aria-label", `${c.key} ${c.count} 件，环比 ${pct(change(c.count, c.previous))}`);
    tile.addEventListener("click", () => drillBy("area", c.key, c.key));
    return tile;
  }));
}

function drawHot(terms) {
  const max = Math.max(1, ...terms.map((t) => t.score));
  $("hot").replaceChildren(...terms.map((t) => {
    const b = document.createElement("button");
    b.type = "button";
    b.className = "word";
    b.style.fontSize = `${12 + 16 * (t.score / max)}px`;
    b.textContent = t.term;
    b.title = `${t.docs} 件，增长 ${pct(t.growth)}`;
    b.addEventListener("click", () => drill(`热词“${t.term}”`, t.orders));
    return b;
  }));
}

// The period's first and last Beijing days, for the KPI route.
function daysOf(p) {
  const iso = (d) => d.toISOString().slice(0, 10);
  if (p.kind === "day") return [p.day, p.day];
  if (p.kind === "week") {
    const a = new Date(p.monday + "T00:00:00Z");
    return [p.monday, iso(new Date(a.getTime() + 6 * 86400000))];
  }
  const last = new Date(Date.UTC(p.year, p.month, 0));
  return [`${p.year}-${String(p.month).padStart(2, "0")}-01`, iso(last)];
}

const KPI_NAMES = [
  ["on_time_sign_for", "按时签收率"], ["on_time_completion", "按时办结率"], ["callback_rate", "回访率"],
  ["satisfaction_rate", "满意率"], ["solved_rate", "解决率"], ["return_rate", "退单率"],
];

async function loadKpis(period) {
  const [from, to] = daysOf(period);
  try {
    const k = await api("GET", `/api/kpis?from=${from}&to=${to}`);
    const rate = (v) => (v === null || v === undefined ? "—" : (v * 100).toFixed(1) + "%");
    const rows = KPI_NAMES.map(([key, name]) => [name, rate(k.center[key])]);
    if (k.knowledge) rows.push(["直办率", rate(k.knowledge.direct_answer_rate)]);
    showFacts($("kpis"), rows);
  } catch (err) {
    showFacts($("kpis"), [["考核指标", "暂不可用：" + err.message]]);
  }
}

function render(d) {
  loadKpis(d.period);
  $("label").textContent = d.label;
  $("total").textContent = String(d.total);
  $("pop").textContent = pct(change(d.total, d.previous));
  $("yoy").textContent = pct(change(d.total, d.year_before));
  $("types").replaceChildren(...d.types.map((c) => {
    const li = document.createElement("li");
    li.textContent = `${TYPES[c.key] || c.key} ${c.count}（${(c.share * 100).toFixed(1)}%）`;
    li.tabIndex = 0;
    li.addEventListener("click", () => drillBy("request_type", c.key, TYPES[c.key] || c.key));
    return li;
  }));
  drawTrend(d.trend, d.trend_previous);
  drawBars($("units"), d.units, (k) => k || "（未转办）", "unit");
  drawAreas(d.areas);
  drawHot(d.hot);
  $("alerts").replaceChildren(...d.alerts.map(alertItem));
  $("clusters").replaceChildren(...d.clusters.map((c) => {
    const li = document.createElement("li");
    li.textContent = `集中反映：${c.address || c.area} · ${c.words.slice(0, 4).join("、")} · ${c.orders.length} 件`;
    li.tabIndex = 0;
    li.addEventListener("click", () => drill(c.address || c.area, c.orders));
    return li;
  }));
}

function alertItem(a) {
  const li = document.createElement("li");
  li.className = "alert " + a.level;
  li.textContent = a.title;
  li.tabIndex = 0;
  li.addEventListener("click", () => drill(a.rule, a.orders));
  return li;
}

function query() {
  return `granularity=${$("granularity").value}&date=${$("date").value}`;
}

async function load() {
  showError("");
  try {
    const d = await api("GET", "/api/insight/dashboard?" + query());
    render(d);
    $("brief").href = "/api/insight/brief?" + query() + "&access_token=" + encodeURIComponent(session.token);
  } catch (err) {
    showError("驾驶舱数据加载失败：" + err.message);
  }
}

$("pick").addEventListener("submit", (ev) => { ev.preventDefault(); load(); });

function live() {
  const proto = location.protocol === "https:" ? "wss" : "ws";
  const ws = new WebSocket(`${proto}://${location.host}/api/insight/events?access_token=${encodeURIComponent(session.token)}`);
  ws.onmessage = (m) => {
    let ev;
    try { ev = JSON.parse(m.data); } catch { return; }
    if (ev.type === "alert") $("alerts").prepend(alertItem(ev.alert));
  };
  ws.onclose = () => setTimeout(live, 3000);
}

if (!session) {
  showError("请先在工作台登录（班长或管理员账号）");
} else {
  const params = new URLSearchParams(location.search);
  $("date").value = params.get("date") || new Date().toISOString().slice(0, 10);
  if (params.get("granularity")) $("granularity").value = params.get("granularity");
  load();
  live();
}
