// The supervisor wallboard (issue 8): queues, agents with time in state, live calls, and forcing
// an agent's state. Live over the ACD's WebSocket event stream: the snapshot it sends first,
// the queue figures it pushes, and a fresh snapshot after any other event (asked once per burst).
"use strict";

const CALL_STATES = { waiting: "排队", offered: "振铃", connected: "通话", callback: "待回拨" };
const MONITOR_MODES = [["listen", "监听"], ["whisper", "密语"], ["barge", "强插"]];
const MODE_NAMES = Object.fromEntries(MONITOR_MODES);
// The call this supervisor monitors, and how: { record, mode }.
let monitoring = null;

$("my-phone").value = localStorage.getItem("hotline.wall.phone") || "";
$("my-phone").addEventListener("input", () => localStorage.setItem("hotline.wall.phone", $("my-phone").value));
$("monitor-phone").addEventListener("submit", (ev) => ev.preventDefault());

// The supervisor's phone is rung and mixed into the call; another mode on the same call only
// changes how (no new ring). The answer comes once the phone joined (or why not).
async function monitor(record, mode) {
  showError("");
  const phone = $("my-phone").value.trim();
  try {
    if (monitoring && monitoring.record === record) {
      await api("POST", `/api/acd/supervisor/monitor/${encodeURIComponent(record)}/mode`, { mode });
    } else {
      if (!phone) { showError("请先填写“我的话机”：监听时呼叫的分机号或 SIP 地址"); $("my-phone").focus(); return; }
      $("monitor-state").textContent = `正在呼叫 ${phone}…`;
      await api("POST", `/api/acd/supervisor/monitor/${encodeURIComponent(record)}`, { phone, mode });
    }
    monitoring = { record, mode };
    $("monitor-state").textContent = `${MODE_NAMES[mode]}中`;
    for (const b of document.querySelectorAll(`#calls tr[data-record='${CSS.escape(record)}'] button.monitor`)) {
      b.setAttribute("aria-pressed", String(b.dataset.mode === mode));
    }
  } catch (err) {
    $("monitor-state").textContent = "";
    showError(`${MODE_NAMES[mode]}失败：${err.message}`);
  }
}


const pct = (v) => (v === null || v === undefined ? "—" : (v * 100).toFixed(1) + "%");
const secs = (ms) => {
  const s = Math.floor(ms / 1000);
  if (s < 60) return `${s}秒`;
  if (s < 3600) return `${Math.floor(s / 60)}分${s % 60}秒`;
  return `${Math.floor(s / 3600)}时${Math.floor((s % 3600) / 60)}分`;
};

function cell(tr, text) {
  const td = document.createElement("td");
  td.textContent = text;
  tr.append(td);
  return td;
}

let agents = [];
let shownAt = performance.now();

function renderQueues(queues) {
  $("queues").tBodies[0].replaceChildren(...queues.map((q) => {
    const tr = document.createElement("tr");
    tr.dataset.queue = q.queue;
    cell(tr, q.queue);
    cell(tr, String(q.waiting));
    cell(tr, secs(q.longest_wait_ms));
    cell(tr, pct(q.service_level));
    cell(tr, pct(q.abandon_rate));
    const a = q.agents;
    cell(tr, String(a.ready + a.not_ready + a.reserved + a.talking + a.wrap_up));
    return tr;
  }));
}

// Time in state runs on between events: only those cells tick (the rows, their buttons and the
// keyboard focus stay), and the server is not asked.
function tick() {
  const since = performance.now() - shownAt;
  for (const td of document.querySelectorAll("#agents td.dur")) {
    td.textContent = secs(Number(td.dataset.ms) + since);
  }
}

function renderAgents() {
  const since = performance.now() - shownAt;
  $("agents").tBodies[0].replaceChildren(...agents.map((a) => {
    const tr = document.createElement("tr");
    tr.dataset.agent = a.id;
    cell(tr, a.id);
    cell(tr, a.name);
    cell(tr, (STATE_NAMES[a.state] || a.state) + (a.reason ? `（${a.reason}）` : "")).className = "state " + a.state;
    const dur = cell(tr, secs(a.in_state_ms + since));
    dur.className = "dur";
    dur.dataset.ms = a.in_state_ms;
    cell(tr, String(a.calls_answered));
    const td = cell(tr, "");
    for (const [label, body] of [["强制示闲", { state: "ready" }], ["强制示忙", { state: "not_ready", reason: "班长调整" }], ["强制签出", { state: "logged_out" }]]) {
      const b = document.createElement("button");
      b.type = "button";
      b.textContent = label;
      b.setAttribute("aria-label", `${label} ${a.id}`);
      b.addEventListener("click", async () => {
        showError("");
        try { await api("POST", `/api/acd/supervisor/agents/${encodeURIComponent(a.id)}/state`, body); }
        catch (err) { showError(`${label}失败：${err.message}`); }
      });
      td.append(b);
    }
    return tr;
  }));
}

function renderCalls(calls) {
  if (monitoring && !calls.some((c) => c.tag === monitoring.record)) {
    monitoring = null; // the call ended, and the supervisor's phone with it
    $("monitor-state").textContent = "";
  }
  $("calls").tBodies[0].replaceChildren(...calls.map((c) => {
    const tr = document.createElement("tr");
    cell(tr, c.caller);
    cell(tr, c.queue);
    cell(tr, CALL_STATES[c.state] || c.state);
    cell(tr, (c.agents || []).join("、"));
    cell(tr, secs(c.waited_ms));
    const td = cell(tr, "");
    tr.dataset.record = c.tag;
    if (c.state === "connected") {
      for (const [mode, label] of MONITOR_MODES) {
        const b = document.createElement("button");
        b.type = "button";
        b.className = "monitor";
        b.dataset.mode = mode;
        b.textContent = label;
        b.setAttribute("aria-label", `${label}：${c.caller}`);
        b.setAttribute("aria-pressed", String(monitoring && monitoring.record === c.tag && monitoring.mode === mode));
        b.addEventListener("click", () => monitor(c.tag, mode));
        td.append(b);
      }
    }
    return tr;
  }));
}

function renderSnapshot(s) {
  agents = s.agents || [];
  shownAt = performance.now();
  renderAgents();
  renderCalls(s.calls || []);
  renderQueues(s.queues || []);
}

let refreshing = null;
function refreshSoon() {
  if (refreshing) return;
  refreshing = setTimeout(async () => {
    refreshing = null;
    try { renderSnapshot(await api("GET", "/api/acd")); }
    catch (err) { showError("刷新失败：" + err.message); }
  }, 150);
}

function connect() {
  const proto = location.protocol === "https:" ? "wss" : "ws";
  const ws = new WebSocket(`${proto}://${location.host}/api/acd/events?access_token=${encodeURIComponent(session.token)}`);
  ws.onopen = () => { $("live").textContent = "实时"; $("live").className = "badge ready"; };
  ws.onmessage = (m) => {
    let ev;
    try { ev = JSON.parse(m.data); } catch { return; }
    if (ev.type === "snapshot") renderSnapshot(ev.snapshot);
    else if (ev.type === "queue_stats") renderQueues(ev.queues || []);
    else refreshSoon();
  };
  ws.onclose = () => {
    $("live").textContent = "已断开，重连中…";
    $("live").className = "badge busy";
    setTimeout(connect, 2000);
  };
}

if (!session) {
  showError("请先在工作台登录（班长账号）");
} else {
  connect();
  setInterval(tick, 1000);
}
