/* The customer 360 page: reads /dashboard/api/customers/{id}/360 with the session cookie (common.js);
   codes shown by their labels, instants and days in the reader's format. */
"use strict";
const $ = (id) => document.getElementById(id);
const L = CRM.label;
const customerId = location.pathname.split("/").filter(Boolean).pop();
const PROFILE = {name: "姓名 Name", phone: "电话 Phone", email: "邮箱 Email", region: "地区 Region"};
const FIELDS = {as_of: "截至 As of"};
const dl = (id, pairs) => { $(id).innerHTML = pairs.map(([k, v]) => `<dt>${CRM.esc(k)}</dt><dd>${CRM.esc(v)}</dd>`).join(""); };
const table = (id, head, rows) => { $(id).innerHTML = `<tr>${head.map((h) => `<th>${CRM.esc(h)}</th>`).join("")}</tr>` +
  rows.map((r) => `<tr>${r.map((c) => `<td>${CRM.esc(c)}</td>`).join("")}</tr>`).join(""); };
const yesNo = (v) => (v === true ? "是 yes" : v === false ? "否 no" : "");

async function load() {
  const q = new URLSearchParams();
  if ($("as_of").value) q.set("as_of", new Date($("as_of").value).toISOString());
  const url = `/dashboard/api/customers/${encodeURIComponent(customerId)}/360?${q}`;
  $("json").href = url;
  $("status").classList.remove("problem");
  let v;
  try {
    v = await CRM.read(url, (f) => FIELDS[f] || f);
  } catch (err) {
    $("status").textContent = err.message;
    $("status").classList.add("problem");
    return;
  }
  dl("profile", [["客户 Customer", v.customer_id],
    ...Object.entries(v.profile || {}).map(([k, val]) => [PROFILE[k] || k, val]),
    ["类型 Kind", L("customer_kind", v.customer_kind)], ["来源渠道 Channel", L("channel", v.origin?.channel)],
    ["活动 Campaign", v.origin?.campaign], ["首次接触 First contact", CRM.moment(v.first_contact_at)],
    ["销售顾问 Consultant", v.consultant_id], ["级别 Grade", L("grade", v.grade)],
    ["营销许可 Marketing allowed", yesNo(v.marketing_allowed)], ["战败 Lost", L("loss_reason", v.lost?.reason)]]);
  dl("value", [["金字塔 Tier", L("pyramid_tier", v.value.pyramid_tier)], ["信用 Credit", L("credit_grade", v.credit_grade)],
    ["忠诚度 Loyalty", L("loyalty_stage", v.loyalty?.loyalty_stage)], ["生命周期 Lifecycle", L("lifecycle_stage", v.lifecycle_stage)],
    ["营收 Revenue", CRM.money(v.value.deals_revenue)], ["毛利 Gross profit", CRM.money(v.value.deals_gross_profit)],
    ["生命周期利润 Lifetime profit", CRM.money(v.lifetime_profit)]]);
  table("grades", ["时间 At", "原级别 From", "新级别 To", "规则 Rule", "调整人 By"], v.grade_history.map(
    (h) => [CRM.moment(h.at), L("grade", h.previous_grade), L("grade", h.grade), L("grade_rule", h.rule), h.overridden_by]));
  table("contacts", ["时间 At", "渠道 Channel", "活动 Campaign", "顾问 Consultant"], v.contacts.map(
    (c) => [CRM.moment(c.at), L("channel", c.channel), c.campaign, c.consultant_id]));
  table("tasks", ["类型 Kind", "负责人 Owner", "到期 Due", "状态 Status", "结果 Outcome", "内容 Content"],
    [...v.open_tasks, ...v.past_tasks].map((t) => [L("task_kind", t.kind), t.owner_id, CRM.moment(t.due_at),
      L("task_status", t.status), L("followup_outcome", t.record?.outcome), t.record?.content]));
  table("deals", ["成交日 Closed on", "金额 Amount", "毛利 Gross profit", "顾问 Consultant"], v.deals.map(
    (d) => [CRM.day(d.closed_on), CRM.money(d.amount), CRM.money(d.gross_profit), d.consultant_id]));
  table("complaints", ["登记 Filed", "严重程度 Severity", "类别 Category", "状态 Status", "满意度 Satisfaction"], v.complaints.map(
    (c) => [CRM.moment(c.filed_at), L("complaint_severity", c.severity), L("complaint_category", c.category),
      L("complaint_status", c.status), c.satisfaction]));
  $("status").textContent = v.profile_masked ? "资料已脱敏 Profile masked" : "";
  document.body.dataset.loaded = "true";
}

async function init() {
  await CRM.loadLabels();
  $("filters").addEventListener("submit", (e) => { e.preventDefault(); load(); });
  load();
}
init();
