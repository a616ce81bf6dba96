// The handling units' portal (issue 8, first part): the unit's open orders with due-date
// lights, an order's details, sign-for and the reply, the order's attachments (listed,
// downloaded, uploaded). The unit sees only its own orders, the caller's numbers masked (the
// API does both).
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

// Deadlines end at 24:00 Beijing time: shown in Beijing time wherever the browser is.
// A deadline at Beijing midnight is said the notice's way: the day before, 24时.
function when(t) {
  if (!t) return "—";
  const d = new Date(t);
  const fmt = (x) => x.toLocaleString("zh-CN", { hour12: false, timeZone: "Asia/Shanghai" });
  const text = fmt(d);
  if (text.endsWith(" 00:00:00")) {
    return fmt(new Date(d.getTime() - 1000)).replace(" 23:59:59", " 24:00");
  }
  return text;
}

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
  if (!current || current.no !== no) {
    // Another order: none of the last one's files stay on show while this one's load.
    $("att-list").tBodies[0].replaceChildren();
    $("att-status").textContent = "";
  }
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
    if (o.extension_requested) facts.push(["延期申请", `待审批：延至 ${when(o.extension_requested)}`]);
    showFacts($("facts"), facts);
    $("sign").hidden = o.status !== "dispatched";
    $("reply").hidden = o.status !== "handling";
    $("return").hidden = !["dispatched", "handling"].includes(o.status);
    const asked = o.extension_requested;
    $("extend").hidden = o.status !== "handling" || !!asked || session.role === "unit_head";
    // Only the unit's head decides an extension (the notice, §7).
    $("decide").hidden = !(asked && session.role === "unit_head");
    if (asked) {
      // The order holds the date asked for; the reason and basis are in the request's event.
      const ev = [...(d.events || [])].reverse().find((e) => e.kind && e.kind.step === "extension_requested");
      const k = ev ? ev.kind : {};
      $("decide-what").textContent = `申请延至 ${when(asked)}；理由：${k.reason || "—"}；依据：${k.basis || "—"}`;
    }
    $("detail").hidden = false;
  } catch (err) {
    showError("工单打开失败：" + err.message);
    return;
  }
  await loadAttachments(no);
}

// ---- attachments ---------------------------------------------------------------------------

// The server's limit (crates/server/src/attachments_api.rs), only to explain a connection the
// server cut while a far larger file was still being sent; the server says why otherwise.
const ATTACHMENT_MAX = 10 * 1024 * 1024;

function fileSize(n) {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KB`;
  return `${(n / 1024 / 1024).toFixed(1)} MB`;
}

function attachmentsPath(no) {
  return `/api/orders/${encodeURIComponent(no)}/attachments`;
}

async function loadAttachments(no) {
  try {
    const d = await api("GET", attachmentsPath(no));
    if (!current || current.no !== no) return;
    const rows = d.attachments.map((a) => {
      const tr = document.createElement("tr");
      tr.dataset.id = a.id;
      const name = document.createElement("td");
      const link = document.createElement("a");
      link.href = `${attachmentsPath(no)}/${encodeURIComponent(a.id)}`;
      link.textContent = a.name;
      link.setAttribute("aria-label", `下载附件 ${a.name}`);
      link.addEventListener("click", (ev) => { ev.preventDefault(); download(no, a); });
      name.append(link);
      tr.append(name);
      for (const text of [fileSize(a.size), a.uploaded_by, when(a.uploaded_at)]) {
        const c = document.createElement("td");
        c.textContent = text;
        tr.append(c);
      }
      return tr;
    });
    $("att-list").tBodies[0].replaceChildren(...rows);
    $("att-none").hidden = rows.length > 0;
  } catch (err) {
    showError("附件列表加载失败：" + err.message);
  }
}

// The server's error in its own words (JSON {"error"}), or the status.
async function failure(res) {
  const text = await res.text();
  try { return JSON.parse(text).error || text; } catch { return text || `请求失败（${res.status}）`; }
}

// A download needs the bearer token, so a plain link would not do: the bytes are fetched,
// handed to a temporary <a download> as an object URL, and the URL released.
async function download(no, a) {
  showError("");
  try {
    const res = await fetch(`${attachmentsPath(no)}/${encodeURIComponent(a.id)}`, {
      headers: { authorization: "Bearer " + session.token },
    });
    if (!res.ok) throw new Error(await failure(res));
    const blob = await res.blob();
    const url = URL.createObjectURL(blob);
    const tmp = document.createElement("a");
    tmp.href = url;
    tmp.download = a.name;
    tmp.hidden = true;
    document.body.append(tmp);
    tmp.click();
    tmp.remove();
    setTimeout(() => URL.revokeObjectURL(url), 60 * 1000);
  } catch (err) {
    showError(`附件“${a.name}”下载失败：${err.message}`);
  }
}

async function upload(file) {
  const no = current.no;
  showError("");
  $("att-status").textContent = `正在上传“${file.name}”（${fileSize(file.size)}）…`;
  try {
    let res;
    try {
      res = await fetch(`${attachmentsPath(no)}?name=${encodeURIComponent(file.name)}`, {
        method: "POST",
        headers: {
          authorization: "Bearer " + session.token,
          "content-type": file.type || "application/octet-stream",
        },
        body: file,
      });
    } catch (err) {
      throw new Error(file.size > ATTACHMENT_MAX
        ? `文件超过 ${ATTACHMENT_MAX / 1024 / 1024} MiB 上限，服务器已中断上传`
        : "无法连接服务器：" + err.message);
    }
    if (!res.ok) throw new Error(await failure(res));
    $("att-status").textContent = `已上传“${file.name}”`;
    await loadAttachments(no);
  } catch (err) {
    $("att-status").textContent = "";
    showError(`附件“${file.name}”上传失败：${err.message}`);
  }
}

$("att-file").addEventListener("change", async (ev) => {
  const input = ev.target;
  const files = [...input.files];
  for (const f of files) await upload(f);
  // The same file can be chosen again (after fixing it, or on another order).
  input.value = "";
});

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

$("return").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const ok = await step({ step: "return_requested", reasons: $("return-reasons").value.trim(), basis: $("return-basis").value.trim() }, "退回");
  if (ok) { $("return-reasons").value = ""; $("return-basis").value = ""; }
});

$("extend").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  // The new limit ends at 24:00 Beijing time of the day asked for.
  const day = $("extend-date").value;
  const newDue = new Date(`${day}T00:00:00+08:00`).getTime() + 24 * 3600 * 1000;
  const ok = await step({
    step: "extension_requested", new_due: new Date(newDue).toISOString(),
    reason: $("extend-reason").value.trim(), basis: $("extend-basis").value.trim(),
  }, "延期申请");
  if (ok) { $("extend-reason").value = ""; $("extend-basis").value = ""; }
});

$("decide").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const approved = ev.submitter ? ev.submitter.value === "yes" : false;
  const ok = await step({
    step: "extension_decided", approved, note: $("decide-note").value.trim(),
    caller_informed: $("decide-informed").checked,
  }, approved ? "同意延期" : "不同意延期");
  if (ok) $("decide-note").value = "";
});

if (!session) {
  showError("请先登录");
} else {
  $("who").textContent = `${session.name || session.user}（${session.user}）`;
  loadList();
}
