// What every screen shares: the session kept in the tab, the error banner, and the API call
// that answers JSON and turns a failure into the server's own words. Loaded before each
// screen's script (classic scripts share these top-level names).
"use strict";

const $ = (id) => document.getElementById(id);
// The ACD agent states as the center says them.
const STATE_NAMES = {
  logged_out: "未签入", ready: "空闲", not_ready: "示忙", reserved: "振铃",
  talking: "通话中", wrap_up: "话后整理",
};
// Work-order statuses as the center and the units say them.
const ORDER_STATUS = {
  draft: "草稿", missed_call: "漏接待回拨", closed: "已办结", dispatched: "待签收", handling: "办理中",
  return_pending: "退回待审", replied: "已回复", awaiting_callback: "待回访",
  callback_unsatisfied: "不满意", called_back: "已回访", unreachable: "联系不上", archived: "已归档",
  merged: "已合并",
};
let session = JSON.parse(sessionStorage.getItem("hotline.session") || "null");

// An order's facts as a definition list: [label, value] pairs, "—" for what is not known.
function showFacts(dl, pairs) {
  dl.replaceChildren(...pairs.flatMap(([k, v]) => {
    const dt = document.createElement("dt");
    dt.textContent = k;
    const dd = document.createElement("dd");
    dd.textContent = v || "—";
    return [dt, dd];
  }));
}

function showError(msg) {
  const e = $("error");
  e.textContent = msg;
  e.hidden = !msg;
}

// A screen that can log in again defines `onUnauthorized()`; it is called on a 401.
async function api(method, path, body) {
  const headers = { "content-type": "application/json" };
  if (session) headers.authorization = "Bearer " + session.token;
  let res;
  try {
    res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  } catch (err) {
    throw new Error("无法连接服务器：" + err.message);
  }
  const text = await res.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch { data = text; }
  if (res.status === 401 && session && typeof onUnauthorized === "function") {
    onUnauthorized();
    throw new Error("登录已过期");
  }
  if (!res.ok) throw new Error((data && data.error) || `请求失败（${res.status}）`);
  return data;
}
