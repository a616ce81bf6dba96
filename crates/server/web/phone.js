// The agent desktop's softphone and call panel (issue 8): while /api/phone is open this page is
// the agent's phone. A call rings here; answering makes a WebRTC connection to the hotline
// (ICE-lite on the server, G.711 in the call's own law, bridged to the call's RTP unchanged).
// During the call: hang up, mute, one-key transfer to the emergency lines, a unit's remote
// seat, transfer; the caller's history; afterwards the work order of the call and the
// wrap-up countdown. Loaded after common.js and app.js.
"use strict";

const phone = {
  ws: null,        // the signalling socket
  events: null,    // the ACD event stream (own state, wrap-up)
  call: null,      // the ringing or answered call: { call, record, caller, line, ... }
  pc: null,        // RTCPeerConnection of the answered call
  stream: null,    // the microphone
  muted: false,
  retry: 1000,
  replaced: false,
  wrapUntil: 0,    // Date.now() at which the wrap-up ends
  lastRecord: localStorage.getItem("hotline.order.record") || null,
};

function phoneStatus(text, cls) {
  const p = $("phone-status");
  p.textContent = text;
  p.className = "phone-status " + (cls || "");
}

function phoneStart() {
  if (!session || session.role !== "agent" || phone.ws) return;
  phone.replaced = false;
  const proto = location.protocol === "https:" ? "wss" : "ws";
  const ws = new WebSocket(`${proto}://${location.host}/api/phone?access_token=${encodeURIComponent(session.token)}`);
  phone.ws = ws;
  ws.onopen = () => { phone.retry = 1000; };
  ws.onmessage = (m) => {
    let msg;
    try { msg = JSON.parse(m.data); } catch { return; }
    onPhone(msg);
  };
  ws.onclose = () => {
    phone.ws = null;
    if (phone.call) callOver("软电话连接中断，通话已结束");
    if (!session || phone.replaced) { phoneStatus("软电话未连接", "bad"); return; }
    phoneStatus("软电话未连接，正在重连…", "bad");
    setTimeout(phoneStart, phone.retry);
    phone.retry = Math.min(phone.retry * 2, 15000);
  };
  eventsStart();
}

function phoneStop() {
  phone.replaced = true; // no reconnecting after a log-out
  if (phone.call) hangUp();
  if (phone.ws) phone.ws.close();
  if (phone.events) { phone.events.onclose = null; phone.events.close(); phone.events = null; }
}

function phoneSend(msg) {
  if (phone.ws && phone.ws.readyState === WebSocket.OPEN) { phone.ws.send(JSON.stringify(msg)); return true; }
  showError("软电话未连接，无法操作");
  return false;
}

function onPhone(m) {
  switch (m.type) {
    case "attached":
      phoneStatus(`软电话已就绪（坐席 ${m.agent}）`, "ok");
      break;
    case "ring":
      ringing(m);
      break;
    case "answer":
      if (phone.pc && phone.call && phone.call.call === m.call) {
        phone.pc.setRemoteDescription({ type: "answer", sdp: m.sdp })
          .catch((err) => { showError("软电话：无法建立语音：" + err.message); hangUp(); });
      }
      break;
    case "connected":
      if (phone.call && phone.call.call === m.call) {
        phone.call.connectedAt = Date.now();
        $("call-state").textContent = "通话中";
        phoneStatus("通话中", "ok");
      }
      break;
    case "cancelled":
      if (phone.call && phone.call.call === m.call) {
        callOver(phone.call.ending ? "已拒接" : phone.call.answered ? "通话已结束" : "来电已取消（对方挂机或已由其他坐席接听）");
      }
      break;
    case "ended":
      if (phone.call && phone.call.call === m.call) callOver(phone.call.ending ? "通话已结束" : "对方已挂机，通话结束");
      break;
    case "replaced":
      phone.replaced = true;
      showError("软电话：" + m.message);
      break;
    case "error":
      showError("软电话：" + m.message);
      break;
  }
}

function lineText(m) {
  if (!m.line) return "—";
  return m.unit ? `${m.line}（${m.unit}）` : m.line;
}

function ringing(m) {
  phone.call = m;
  $("incoming").hidden = false;
  $("in-call").hidden = true;
  $("answer").hidden = false;
  $("reject").hidden = false;
  $("hangup").hidden = true;
  $("mute").hidden = true;
  $("call-caller").textContent = m.display ? `${m.caller}（${m.display}）` : m.caller;
  $("call-line").textContent = lineText(m);
  $("call-state").textContent = "来电振铃";
  phoneStatus("来电振铃…", "ringing");
  if (m.caller && !$("req-phone").value) { $("req-phone").value = m.caller; keep($("req-phone")); }
  loadHistory(m.caller);
  $("answer").focus();
}

async function answerCall() {
  const c = phone.call;
  if (!c || c.answered) return;
  showError("");
  $("answer").disabled = true;
  try {
    phone.stream = await navigator.mediaDevices.getUserMedia({ audio: true });
    const pc = new RTCPeerConnection({ iceServers: [] });
    phone.pc = pc;
    for (const t of phone.stream.getAudioTracks()) pc.addTrack(t, phone.stream);
    pc.ontrack = (ev) => { $("remote-audio").srcObject = ev.streams[0] || new MediaStream([ev.track]); };
    pc.onconnectionstatechange = () => {
      if (pc.connectionState === "failed" && phone.pc === pc) { showError("软电话：语音连接失败"); hangUp(); }
    };
    // The server is ICE-lite with one host candidate in its answer: no trickling needed, the
    // browser's checks reach it from wherever the browser is.
    await pc.setLocalDescription(await pc.createOffer());
    c.answered = true;
    if (!phoneSend({ type: "answer", call: c.call, sdp: pc.localDescription.sdp })) { callOver("未接通"); return; }
    $("answer").hidden = true;
    $("reject").hidden = true;
    $("hangup").hidden = false;
    $("hold").hidden = false;
    $("mute").hidden = false;
    $("in-call").hidden = false;
    $("call-state").textContent = "接通中…";
    phone.lastRecord = c.record || null;
    if (phone.lastRecord) localStorage.setItem("hotline.order.record", phone.lastRecord);
    $("order-no").textContent = c.record ? `来电记录 ${c.record}` : "";
    $("content").focus();
  } catch (err) {
    showError("软电话：无法接听：" + err.message + "（请允许浏览器使用麦克风）");
    c.answered = false;
  } finally {
    $("answer").disabled = false;
  }
}

function hangUp() {
  if (!phone.call) return;
  phone.call.ending = true; // the end that comes back is ours, not the caller's
  phoneSend({ type: phone.call.answered ? "hangup" : "reject", call: phone.call.call });
}

function callOver(why) {
  if (phone.pc) { try { phone.pc.close(); } catch { /* already closed */ } }
  if (phone.stream) for (const t of phone.stream.getTracks()) t.stop();
  phone.pc = null;
  phone.stream = null;
  phone.muted = false;
  $("mute").setAttribute("aria-pressed", "false");
  $("remote-audio").srcObject = null;
  const was = phone.call;
  phone.call = null;
  $("in-call").hidden = true;
  $("answer").hidden = true;
  $("reject").hidden = true;
  $("hangup").hidden = true;
  $("hold").hidden = true;
  $("hold").setAttribute("aria-pressed", "false");
  $("hold").firstChild.textContent = "保持 ";
  $("mute").hidden = true;
  $("call-state").textContent = why;
  phoneStatus(phone.ws ? "软电话已就绪" : "软电话未连接", phone.ws ? "ok" : "bad");
  if (!was || !was.answered) { $("incoming").hidden = true; }
}

function toggleMute() {
  if (!phone.stream) return;
  phone.muted = !phone.muted;
  for (const t of phone.stream.getAudioTracks()) t.enabled = !phone.muted;
  $("mute").setAttribute("aria-pressed", String(phone.muted));
  $("mute").firstChild.textContent = phone.muted ? "取消静音 " : "静音 ";
}

// Call actions go through the API on the call the agent is talking on; the outcome (or why
// not) is shown, and the caller stays with the agent when a transfer fails.
async function callAction(kind, body, doing) {
  showError("");
  $("call-state").textContent = doing;
  try {
    const d = await api("POST", `/api/acd/agents/${encodeURIComponent(session.user)}/${kind}`, body);
    $("call-state").textContent = kind === "seat" ? `三方通话中（${d.joined}）`
      : kind === "hold" ? "保持中（来电人听等待音乐）"
      : kind === "resume" ? "通话中"
      : `已转接至 ${d.to}`;
    if (kind === "hold" || kind === "resume") {
      const held = kind === "hold";
      $("hold").setAttribute("aria-pressed", String(held));
      $("hold").firstChild.textContent = held ? "取消保持 " : "保持 ";
    }
  } catch (err) {
    showError(`${doing.replace("…", "")}失败：${err.message}`);
    $("call-state").textContent = "通话中";
  }
}

for (const b of document.querySelectorAll("button.emergency")) {
  b.addEventListener("click", () => callAction("emergency",
    { number: b.dataset.number, stay: $("emergency-stay").checked }, `正在转接 ${b.dataset.number}…`));
}
$("seat-form").addEventListener("submit", (ev) => {
  ev.preventDefault();
  const unit = $("seat-unit").value.trim();
  if (!unit) { showError("请填写要邀请的单位或号码"); return; }
  callAction("seat", { unit }, `正在邀请 ${unit}…`);
});
$("transfer-form").addEventListener("submit", (ev) => {
  ev.preventDefault();
  const to = $("transfer-to").value.trim();
  if (!to) { showError("请填写转接目标"); return; }
  callAction("transfer", { to }, `正在转接 ${to}…`);
});
$("answer").addEventListener("click", answerCall);
$("reject").addEventListener("click", hangUp);
$("hangup").addEventListener("click", hangUp);
$("mute").addEventListener("click", toggleMute);
function toggleHold() {
  if (!phone.call || !phone.call.answered) return;
  const held = $("hold").getAttribute("aria-pressed") === "true";
  callAction(held ? "resume" : "hold", undefined, held ? "正在恢复通话…" : "正在保持…");
}
$("hold").addEventListener("click", toggleHold);

// ---- the caller's history -----------------------------------------------------------------

async function loadHistory(number) {
  const list = $("history");
  if (!number) { list.replaceChildren(); return; }
  try {
    const d = await api("GET", `/api/callers/${encodeURIComponent(number)}/history`);
    const items = [];
    for (const o of d.open_orders || []) {
      const li = document.createElement("li");
      li.className = "open-order";
      li.textContent = `未办结 ${o.no} · ${ORDER_STATUS[o.status] || o.status}${o.lead_unit ? " · " + o.lead_unit : ""}`;
      items.push(li);
    }
    for (const c of d.calls || []) {
      const li = document.createElement("li");
      const when = new Date(c.arrived_at).toLocaleString("zh-CN", { hour12: false, timeZone: "Asia/Shanghai" });
      li.textContent = `${when} · ${c.line || "12345"} · ${c.answered_by ? "坐席 " + c.answered_by : "未接通"}${c.order ? " · 工单 " + c.order : ""}`;
      items.push(li);
    }
    if (d.repeat) {
      const li = document.createElement("li");
      li.className = "repeat";
      li.textContent = `重复来电：近 ${d.days} 天来电 ${d.calls.length} 次`;
      items.unshift(li);
    }
    list.replaceChildren(...(items.length ? items : [Object.assign(document.createElement("li"), { textContent: "首次来电" })]));
  } catch (err) {
    list.replaceChildren(Object.assign(document.createElement("li"), { textContent: "历史记录暂不可用：" + err.message }));
  }
}

// ---- the work order of the call -------------------------------------------------------------

// Every field of the form is kept in this browser until the order is sent: a reload, a lost
// connection or a failed step loses nothing typed.
function keep(el) { localStorage.setItem("hotline.order." + el.id, el.value); }
for (const el of document.querySelectorAll("#order-form [data-keep]")) {
  const v = localStorage.getItem("hotline.order." + el.id);
  if (v !== null) el.value = v;
  el.addEventListener("input", () => keep(el));
  el.addEventListener("change", () => keep(el));
}
if (phone.lastRecord) $("order-no").textContent = `来电记录 ${phone.lastRecord}`;

// A suggestion adopted as the basis of the answer: linked to the order when it is sent.
let adopted = JSON.parse(localStorage.getItem("hotline.order.adopted") || "null");
function showAdopted() { $("answer-entry").textContent = adopted ? `答复依据：${adopted.title}` : ""; }
showAdopted();
function adopt(hit) {
  adopted = { id: hit.id, title: hit.title || hit.id };
  localStorage.setItem("hotline.order.adopted", JSON.stringify(adopted));
  if (hit.category && !$("category").value) { $("category").value = hit.category; keep($("category")); }
  if (hit.unit && !$("lead").value && hit.unit !== "12345热线") { $("lead").value = hit.unit; keep($("lead")); }
  showAdopted();
}
document.addEventListener("hotline:adopt", (ev) => adopt(ev.detail));

// The order of the call is drafted by the server when the call record is written (at the end
// of the call): wait for it a little.
async function orderOfRecord(record) {
  for (let i = 0; i < 40; i++) {
    const d = await api("GET", "/api/orders?record=" + encodeURIComponent(record));
    if (d.orders.length) return d.orders[0];
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error(`来电记录 ${record} 的工单尚未生成，请稍后再试`);
}

$("order-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  showError("");
  const record = phone.lastRecord;
  if (!record) { showError("没有可受理的来电：请先接听来电"); return; }
  const btn = $("dispatch");
  btn.disabled = true;
  try {
    const order = await orderOfRecord(record);
    const no = order.no;
    $("order-no").textContent = `工单 ${no}`;
    if (order.status === "draft") {
      const anonymous = !$("req-name").value.trim();
      await api("POST", `/api/orders/${no}/steps`, {
        step: "intake_filled",
        request_type: $("request-type").value,
        category: $("category").value.trim(),
        urgency: $("urgency").value,
        requester: { name: $("req-name").value.trim() || null, phone: $("req-phone").value.trim() || null, anonymous, confidential: false },
        address: $("address").value.trim(),
        area: $("area").value.trim(),
        content: $("content").value.trim(),
      });
    }
    if (adopted) await api("POST", `/api/orders/${no}/answers`, { entry: adopted.id });
    const lead = $("lead").value.trim();
    if (lead) {
      await api("POST", `/api/orders/${no}/steps`, { step: "dispatched", lead, co: [], card: $("card").value.trim() || "请核实处理" });
    }
    // Sent: the form is clean for the next call.
    for (const el of document.querySelectorAll("#order-form [data-keep]")) {
      localStorage.removeItem("hotline.order." + el.id);
      if (el.tagName === "INPUT") el.value = "";
    }
    $("content").value = "";
    localStorage.removeItem(DRAFT_KEY);
    localStorage.removeItem("hotline.order.adopted");
    localStorage.removeItem("hotline.order.record");
    adopted = null;
    phone.lastRecord = null;
    showAdopted();
    $("order-no").textContent = lead ? `工单 ${no} 已转办 ${lead}` : `工单 ${no} 已受理`;
  } catch (err) {
    // Nothing typed is lost: the fields stay, and sending again continues where it stopped.
    showError("工单提交失败：" + err.message);
  } finally {
    btn.disabled = false;
  }
});

// ---- own state and the wrap-up countdown, live over the ACD events ------------------------

function eventsStart() {
  if (phone.events || !session) return;
  const proto = location.protocol === "https:" ? "wss" : "ws";
  const ws = new WebSocket(`${proto}://${location.host}/api/acd/events?access_token=${encodeURIComponent(session.token)}`);
  phone.events = ws;
  ws.onmessage = (m) => {
    let ev;
    try { ev = JSON.parse(m.data); } catch { return; }
    if (ev.type === "snapshot") ownState((ev.snapshot.agents || []).find((a) => a.id === session.user));
    else if (ev.type === "agent_state" && ev.agent === session.user) refreshState();
  };
  ws.onclose = () => { phone.events = null; if (session) setTimeout(eventsStart, 2000); };
}

function ownState(agent) {
  showState(agent);
  if (agent && agent.state === "wrap_up" && agent.wrap_up_left_ms !== undefined) {
    phone.wrapUntil = Date.now() + agent.wrap_up_left_ms;
  } else {
    phone.wrapUntil = 0;
  }
  tickWrap();
}

function tickWrap() {
  const left = Math.ceil((phone.wrapUntil - Date.now()) / 1000);
  $("wrap-up").hidden = !(phone.wrapUntil && left > 0);
  if (left > 0) $("wrap-left").textContent = String(left);
}
setInterval(tickWrap, 500);

$("end-wrap").addEventListener("click", () => seat("end-wrap-up"));

document.addEventListener("keydown", (ev) => {
  if (!session) return;
  if (ev.key === "F2") { ev.preventDefault(); answerCall(); }
  else if (ev.key === "F4") { ev.preventDefault(); hangUp(); }
  else if (ev.key === "F6") { ev.preventDefault(); toggleMute(); }
  else if (ev.key === "F3") { ev.preventDefault(); toggleHold(); }
  else if (ev.altKey && ev.key.toLowerCase() === "s") { ev.preventDefault(); $("order-form").requestSubmit(); }
});

if (session) phoneStart();
