// The center's review queue and callback list (issue 8): replies from the units waiting for a
// supervisor's review, and orders waiting for the 100% callback (回访), each opened beside the
// list with its reply; the steps go through the same API as everywhere, refusals shown.
"use strict";

const TYPES = {
  consultation: "咨询", help: "求助", complaint: "投诉", report: "举报", suggestion: "建议",
  praise: "表扬", other: "其他",
};
// Deadlines end at 24:00 Beijing time: shown in Beijing time wherever the browser is.
const when = (t) => (t ? new Date(t).toLocaleString("zh-CN", { hour12: false, timeZone: "Asia/Shanghai" }) : "—");
let current = null;

function row(o, cells) {
  const tr = document.createElement("tr");
  tr.dataset.no = o.no;
  tr.tabIndex = 0;
  for (const text of cells) {
    const td = document.createElement("td");
    td.textContent = text;
    tr.append(td);
  }
  tr.addEventListener("click", () => openOrder(o.no));
  tr.addEventListener("keydown", (ev) => { if (ev.key === "Enter") openOrder(o.no); });
  return tr;
}

async function loadLists() {
  try {
    const review = await api("GET", "/api/orders?status=replied&limit=200");
    $("review").tBodies[0].replaceChildren(...review.orders.map((o) =>
      row(o, [o.no, o.lead_unit || "—", TYPES[o.request_type] || "—", when(o.updated_at)])));
    const cb = await api("GET", "/api/orders?status=awaiting_callback,callback_unsatisfied&limit=200");
    $("callbacks").tBodies[0].replaceChildren(...cb.orders.map((o) =>
      row(o, [o.no, o.lead_unit || "—", TYPES[o.request_type] || "—", ORDER_STATUS[o.status] || o.status])));
  } catch (err) {
    showError("列表加载失败：" + err.message);
  }
}

async function openOrder(no) {
  showError("");
  try {
    const d = await api("GET", `/api/orders/${encodeURIComponent(no)}`);
    const o = d.order;
    current = { no, order: o };
    const i = o.intake || {};
    const reply = [...(d.events || [])].reverse().find((e) => e.kind && e.kind.step === "replied");
    const facts = [
      ["工单号", no], ["状态", ORDER_STATUS[o.status] || o.status], ["来电号码", o.caller],
      ["承办单位", o.lead], ["诉求内容", i.content],
      ["答复来电人", reply ? reply.kind.public : "—"], ["内部说明", reply ? reply.kind.internal : "—"],
      ["已联系来电人", reply ? (reply.kind.contacted_caller ? "是" : "否") : "—"],
      ["回访次数", String(o.callback_attempts || 0)],
    ];
    showFacts($("facts"), facts);
    const supervisor = session.role === "supervisor" || session.role === "admin";
    $("review-form").hidden = !(o.status === "replied" && supervisor);
    $("callback-form").hidden = o.status !== "awaiting_callback";
    $("detail").hidden = false;
  } catch (err) {
    showError("工单打开失败：" + err.message);
  }
}

async function step(body, what) {
  showError("");
  try {
    await api("POST", `/api/orders/${encodeURIComponent(current.no)}/steps`, body);
    await openOrder(current.no);
    await loadLists();
    return true;
  } catch (err) {
    showError(`${what}失败：${err.message}`);
    return false;
  }
}

$("review-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const passed = ev.submitter ? ev.submitter.value === "yes" : true;
  if (await step({ step: "reviewed", passed, note: $("review-note").value.trim() }, "审核")) $("review-note").value = "";
});

$("callback-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const reached = $("reached").checked;
  await step({
    step: "callback_attempt", reached,
    solved: reached ? $("cb-solved").checked : null,
    satisfaction: reached ? $("satisfaction").value : null,
    unit_at_fault: reached && $("at-fault").checked,
  }, "回访");
});

if (!session) {
  showError("请先在工作台登录");
} else {
  $("who").textContent = `${session.name || session.user}（${session.user}）`;
  loadLists();
}
