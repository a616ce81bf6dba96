// The handling units' portal (issue 8, first part): the unit's open orders with due-date
// lights, an order's details, sign-for and the reply. The unit sees only its own orders, the
// caller's numbers masked (the API does both).
"use strict";

const TYPES = {
  consultation: "咨询", help: "求助", complaint: "投诉", report: "举报", suggestion: "建议",
  praise: "表扬", other: "其他",
};
let current = null;


// Green: more than a day left; yellow: due within 24 hours; red: past the deadline.
function light(dueAt) {
  if (!dueAt) return "green";
  const left = new Date(dueAt).getTime() - Date.now();
  return left < 0 ? "red" : left < 24 * 3600 * 1000 ? "yellow" : "green";
}

const when = (t) => (t ? new Date(t).toLocaleString("zh-CN", { hour12: false }) : "—");

async function loadList() {
  try {
    const d = await api("GET", "/api/orders?limit=200");
    const open = d.orders.filter((o) => ["dispatched", "handling", "return_pending"].includes(o.status));
    $("orders").tBodies[0].replaceChildren(...open.map((o) => {
      const tr = document.createElement("tr");
      tr.dataset.no = o.no;
      tr.tabIndex = 0;
      const l = light(o.due_at);
      const td = document.createElement("td");
      const dot = document.createElement("span");
      dot.className = "light " + l;
      dot.setAttribute("aria-label", { green: "未到期", yellow: "24小时内到期", red: "已超期" }[l]);
      td.append(dot);
      tr.append(td);
      for (const text of [o.no, TYPES[o.request_type] || o.request_type || "—", ORDER_STATUS[o.status] || o.status, when(o.due_at)]) {
        const c = document.createElement("td");
        c.textContent = text;
        tr.append(c);
      }
      tr.addEventListener("click", () => open_(o.no));
      tr.addEventListener("keydown", (ev) => { if (ev.key === "Enter") open_(o.no); });
      return tr;
    }));
  } catch (err) {
    showError("工单列表加载失败：" + err.message);
  }
}

async function open_(no) {
  showError("");
  try {
    const d = await api("GET", `/api/orders/${encodeURIComponent(no)}`);
    current = d.order;
    current.no = no;
    const o = d.order;
    const i = o.intake || {};
    const facts = [
      ["工单号", no], ["状态", ORDER_STATUS[o.status] || o.status], ["来电号码", o.caller],
      ["区域", i.area], ["地址", i.address], ["诉求内容", i.content], ["办结时限", when(o.due_at)],
    ];
    $("facts").replaceChildren(...facts.flatMap(([k, v]) => {
      const dt = document.createElement("dt");
      dt.textContent = k;
      const dd = document.createElement("dd");
      dd.textContent = v || "—";
      return [dt, dd];
    }));
    $("sign").hidden = o.status !== "dispatched";
    $("reply").hidden = o.status !== "handling";
    $("detail").hidden = false;
  } catch (err) {
    showError("工单打开失败：" + err.message);
  }
}

async function step(body, what) {
  showError("");
  try {
    await api("POST", `/api/orders/${encodeURIComponent(current.no)}/steps`, body);
    await open_(current.no);
    await loadList();
    return true;
  } catch (err) {
    showError(`${what}失败：${err.message}`);
    return false;
  }
}

$("sign").addEventListener("click", () => step({ step: "signed_for" }, "签收"));
$("reply").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const ok = await step({
    step: "replied", public: $("public").value, internal: $("internal").value,
    contacted_caller: $("contacted").checked, solved: $("solved").checked,
  }, "回复");
  // The typed reply stays until the server took it.
  if (ok) { $("public").value = ""; $("internal").value = ""; }
});

if (!session) {
  showError("请先登录");
} else {
  $("who").textContent = `${session.name || session.user}（${session.user}）`;
  loadList();
}
