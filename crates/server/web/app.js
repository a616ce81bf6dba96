// The agent desktop (issue 8, first part): log-in, the seat's state, the order's description
// with live knowledge-base suggestions, knowledge-base search. Plain browser JavaScript, no
// build step: the hotline serves this file itself.
"use strict";

const DRAFT_KEY = "hotline.draft.content";

function onUnauthorized() {
  logOut("登录已过期，请重新登录");
}

function logOut(msg) {
  if (typeof phoneStop === "function") phoneStop();
  session = null;
  sessionStorage.removeItem("hotline.session");
  render();
  showError(msg || "");
}

function render() {
  const inDesk = !!session;
  $("login-view").hidden = inDesk;
  $("desk").hidden = !inDesk;
  $("logout").hidden = !inDesk;
  $("to-wall").hidden = !(inDesk && (session.role === "supervisor" || session.role === "admin"));
  $("to-center").hidden = !inDesk;
  $("to-dash").hidden = !(inDesk && (session.role === "supervisor" || session.role === "admin"));
  $("who").textContent = inDesk ? `${session.name || session.user}（${session.user}）` : "";
  if (inDesk) refreshState(); else { $("state").textContent = ""; $("state").className = "badge"; }
}

$("login").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  showError("");
  try {
    const d = await api("POST", "/api/auth/login", { user: $("user").value, password: $("password").value });
    session = { token: d.token, user: d.user, name: d.name, role: d.role };
    sessionStorage.setItem("hotline.session", JSON.stringify(session));
    $("password").value = "";
    // A handling unit's staff work in their own portal.
    if (d.role === "unit_staff" || d.role === "unit_head") { location.href = "/units"; return; }
    render();
    loadReasons();
    if (typeof phoneStart === "function") phoneStart();
  } catch (err) {
    showError("登录失败：" + err.message);
  }
});

$("logout").addEventListener("click", async () => {
  try { await api("POST", "/api/auth/logout"); } catch { /* the token is dropped anyway */ }
  logOut();
});

// ---- the seat ---------------------------------------------------------------------------

function showState(agent) {
  const s = agent ? agent.state : "logged_out";
  const badge = $("state");
  badge.className = "badge " + s;
  badge.textContent = (STATE_NAMES[s] || s) + (agent && agent.reason ? `（${agent.reason}）` : "");
}

async function refreshState() {
  try {
    const snap = await api("GET", "/api/acd");
    const me = (snap.agents || []).find((a) => a.id === session.user);
    // The call panel (phone.js) also runs the wrap-up countdown from the same view.
    if (typeof ownState === "function") ownState(me); else showState(me);
  } catch (err) {
    $("state").textContent = "状态未知";
  }
}

async function loadReasons() {
  try {
    const d = await api("GET", "/api/acd/reasons");
    $("reason").replaceChildren(...d.reasons.map((r) => new Option(r, r)));
  } catch { /* the select stays empty; not-ready then says why */ }
}

async function seat(action, body) {
  showError("");
  try {
    await api("POST", `/api/acd/agents/${encodeURIComponent(session.user)}/${action}`, body);
  } catch (err) {
    showError("坐席操作失败：" + err.message);
  }
  refreshState();
}

$("acd-login").addEventListener("click", () => seat("login"));
$("acd-ready").addEventListener("click", () => seat("ready"));
$("acd-not-ready").addEventListener("click", () => seat("not-ready", { reason: $("reason").value }));
$("acd-logout").addEventListener("click", () => seat("logout"));

// ---- knowledge base -----------------------------------------------------------------------

// The server escapes the snippets and marks the matched words with <mark>; nothing else is
// taken as HTML.
function hitItem(h, adoptable) {
  const li = document.createElement("li");
  li.dataset.id = h.id;
  const title = document.createElement("div");
  title.className = "title";
  title.innerHTML = h.title_html;
  const meta = document.createElement("div");
  meta.className = "meta";
  meta.textContent = `${h.kind_name} · ${h.unit} · ${h.category}`;
  const snippet = document.createElement("div");
  snippet.className = "snippet";
  snippet.innerHTML = h.snippet_html;
  const why = document.createElement("div");
  why.className = "why";
  why.setAttribute("aria-label", "匹配词");
  for (const w of h.matched || []) {
    const s = document.createElement("span");
    s.textContent = w;
    why.append(s);
  }
  li.append(title, meta, snippet, why);
  if (adoptable) {
    // 采用: this entry becomes the basis of the order's answer (linked when the order is sent).
    const plain = title.textContent;
    const use = document.createElement("button");
    use.type = "button";
    use.className = "use";
    use.textContent = "采用";
    use.setAttribute("aria-label", "采用为答复依据：" + plain);
    use.addEventListener("click", () => document.dispatchEvent(new CustomEvent("hotline:adopt", {
      detail: { id: h.id, title: plain, category: h.category, unit: h.unit },
    })));
    title.append(use);
  }
  return li;
}

let suggestTimer = null;
let suggestSeq = 0;
function suggestSoon() {
  clearTimeout(suggestTimer);
  suggestTimer = setTimeout(suggestNow, 250);
}

async function suggestNow() {
  const text = $("content").value.trim();
  const seq = ++suggestSeq;
  if (!text) { $("suggestions").replaceChildren(); return; }
  try {
    const d = await api("POST", "/api/kb/suggest", { text });
    if (seq !== suggestSeq) return; // a newer keystroke's answer wins
    $("suggestions").replaceChildren(...d.suggestions.map((h) => hitItem(h, true)));
    if ($("error").textContent.startsWith("知识库推荐失败")) showError("");
  } catch (err) {
    if (seq !== suggestSeq) return;
    // The knowledge base may be starting or the network away: say so, and try again on the
    // same text without waiting for another keystroke.
    showError("知识库推荐失败：" + err.message + "（稍后自动重试）");
    clearTimeout(suggestTimer);
    suggestTimer = setTimeout(suggestNow, 2000);
  }
}

$("content").value = localStorage.getItem(DRAFT_KEY) || "";
$("content").addEventListener("input", () => {
  localStorage.setItem(DRAFT_KEY, $("content").value);
  suggestSoon();
});

$("kb-search").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  showError("");
  const q = $("q").value.trim();
  if (!q) return;
  try {
    const d = await api("GET", "/api/kb/search?q=" + encodeURIComponent(q));
    $("results").replaceChildren(...d.hits.map((h) => hitItem(h, true)));
    if (!d.hits.length) $("results").replaceChildren(Object.assign(document.createElement("li"), { textContent: "没有找到相关条目" }));
  } catch (err) {
    showError("知识库检索失败：" + err.message);
  }
});

// ---- keyboard -----------------------------------------------------------------------------

document.addEventListener("keydown", (ev) => {
  if (!session) return;
  if (ev.altKey && ev.key.toLowerCase() === "k") { ev.preventDefault(); $("q").focus(); }
  else if (ev.altKey && ev.key.toLowerCase() === "d") { ev.preventDefault(); $("content").focus(); }
  else if (ev.key === "F7") { ev.preventDefault(); seat("ready"); }
  else if (ev.key === "F8") { ev.preventDefault(); seat("not-ready", { reason: $("reason").value }); }
});

render();
if (session) { loadReasons(); if ($("content").value) suggestSoon(); }
