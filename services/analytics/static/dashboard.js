/* CRM ops dashboard: reads /dashboard/api/reports/* with the session cookie (common.js) and draws
   them with Chart.js (vendored). Codes are shown by their labels, dates in the reader's format. */
"use strict";
const I18N = {
  zh: {title: "CRM 运营看板", from: "起", to: "止", consultant: "销售顾问", channel: "渠道",
       campaign: "活动", apply: "应用", funnel: "漏斗", grades: "有望客户级别分布", daily: "营业日报 (每日活动)",
       overdue: "逾期工作 (按顾问)", complaints: "投诉时限达成", pyramid: "顾客金字塔", pareto: "二八法则 (帕累托曲线)",
       top: "利润最高客户 → 360", decline: "衰退期客户", footer: "数据来自报表接口 /v1/reports/*（本页以登录会话读取）。",
       prospects: "潜在客户", overdue_open: "逾期未完成", open_tasks: "未完成任务", ack: "受理及时率",
       resolve: "解决及时率", customers: "客户数", profit_share: "累计利润占比", revenue_share: "累计营收占比",
       customer: "客户", deals: "成交", gross_profit: "毛利", top20: "前20%客户贡献利润", loading: "加载中…",
       loaded: "已更新", last_deal: "最近成交", find: "客户ID", lang: "English", tier: "金字塔层级",
       signals: "衰退信号", sign_out: "退出", no_name: "（未留姓名）", limit: "条数", cursor: "页"},
  en: {title: "CRM ops dashboard", from: "From", to: "To", consultant: "Consultant", channel: "Channel",
       campaign: "Campaign", apply: "Apply", funnel: "Funnel", grades: "Intent grade distribution", daily: "Daily activity",
       overdue: "Overdue work by consultant", complaints: "Complaints against deadlines", pyramid: "Value pyramid",
       pareto: "Pareto curve", top: "Most profitable customers → 360", decline: "Customers in decline",
       footer: "Data from the /v1/reports/* API (read with your signed-in session).",
       prospects: "Prospects", overdue_open: "Overdue open", open_tasks: "Open tasks", ack: "Acknowledged on time",
       resolve: "Resolved on time", customers: "Customers", profit_share: "Cumulative profit share",
       revenue_share: "Cumulative revenue share", customer: "Customer", deals: "Deals", gross_profit: "Gross profit",
       top20: "Top 20% customers' profit share", loading: "Loading…", loaded: "Updated", last_deal: "Last deal",
       find: "Customer id", lang: "中文", tier: "Tier", signals: "Decline signals", sign_out: "Sign out",
       no_name: "(no name given)", limit: "Rows", cursor: "Page"},
};
const CHANNELS = ["walk_in", "phone", "web_form", "call_center", "exhibition", "targeted_prospecting", "area_campaign",
  "customer_referral", "vip_informant", "internal_referral", "service_station", "bulk_import"];
const FILTERS = ["from", "to", "consultant", "channel", "campaign"];
const charts = {};
window.dashboard = {loaded: false, points: {}, errors: []};
const t = (k) => (I18N[CRM.lang][k] || k);
const L = CRM.label;
const $ = (id) => document.getElementById(id);

function applyLanguage() {
  document.documentElement.lang = CRM.lang === "zh" ? "zh-CN" : "en";
  document.querySelectorAll("[data-i18n]").forEach((el) => { el.textContent = t(el.dataset.i18n); });
  $("lang").textContent = t("lang");
  $("channel").querySelectorAll("option[value]").forEach((o) => { o.textContent = L("channel", o.value); });
}

function query() {
  const q = new URLSearchParams();
  FILTERS.forEach((f) => { if ($(f).value) q.set(f, $(f).value); });
  return q;
}

function fetchReport(name, extra = {}) {
  const q = query();
  Object.entries(extra).forEach(([k, v]) => q.set(k, v));
  return CRM.read(`/dashboard/api/reports/${name}?${q}`, t);
}

// A report whose row list is paged (daily): every page, rows joined.
async function fetchAllRows(name) {
  const first = await fetchReport(name, {limit: 5000});
  let page = first;
  while (page.has_more) {
    page = await fetchReport(name, {limit: 5000, cursor: page.next_cursor});
    first.rows.push(...page.rows);
  }
  return first;
}

function draw(id, type, labels, datasets, options = {}) {
  if (charts[id]) charts[id].destroy();
  charts[id] = new Chart($(id), {type, data: {labels, datasets}, options: {animation: false, responsive: true, maintainAspectRatio: false, ...options}});
  const value = (v) => (v !== null && typeof v === "object" ? v.y : v);
  const points = datasets.filter((d) => !d.guide).reduce((n, d) => n + d.data.filter((v) => value(v) !== null && value(v) !== 0).length, 0);
  window.dashboard.points[id] = points;
  $(id).dataset.points = String(points);
}

// A customer by name (masked by the server where the reader may not see it), linked to their 360.
const customerLink = (r) => `<a href="/dashboard/customers/${encodeURIComponent(r.customer_id)}" data-customer="${CRM.esc(r.customer_id)}">` +
  `${CRM.esc(r.customer_name || t("no_name"))}</a>`;

function table(id, head, rows) {
  $(id).innerHTML = `<tr>${head.map((h) => `<th>${CRM.esc(h)}</th>`).join("")}</tr>` +
    rows.map((r) => `<tr>${r.map((c) => `<td>${c ?? ""}</td>`).join("")}</tr>`).join("");
}

function showProblem(err) {
  window.dashboard.errors.push(err.message);
  $("status").textContent = err.message;
  $("status").classList.add("problem");
}

async function load() {
  $("status").textContent = t("loading");
  $("status").classList.remove("problem");
  window.dashboard.loaded = false;
  try {
    // the Pareto curve comes whole in `curve`; only the top customers' and the declining rows are listed
    const [funnel, grades, daily, workload, complaints, pyramid, pareto, lifecycle] = await Promise.all([
      fetchReport("funnel"), fetchReport("grades"), fetchAllRows("daily"), fetchReport("workload"),
      fetchReport("complaints"), fetchReport("pyramid"), fetchReport("pareto", {limit: 10}),
      fetchReport("lifecycle", {limit: 20})]);
    const stages = funnel.stages;
    draw("chart-funnel", "bar", stages.map((s) => L("funnel_stage", s)), [{label: t("prospects"),
      data: stages.map((s) => funnel.total[s]), backgroundColor: "#2f6fa7"}], {indexAxis: "y"});
    draw("chart-grades", "bar", grades.rows.map((r) => L("grade", r.grade)), [{label: t("prospects"),
      data: grades.rows.map((r) => r.prospects), backgroundColor: ["#b8202f", "#e4572e", "#f3a712", "#6aa84f", "#8aa1b1"]}]);
    const days = [...new Set(daily.rows.map((r) => r.date))];
    const sum = (col) => days.map((d) => daily.rows.filter((r) => r.date === d).reduce((n, r) => n + r[col], 0));
    draw("chart-daily", "bar", days.map(CRM.day), ["walk_ins", "calls", "followups_done", "followups_overdue", "deliveries"].map(
      (col, i) => ({label: L("daily_column", col), data: sum(col), backgroundColor: ["#2f6fa7", "#6aa84f", "#f3a712", "#b8202f", "#7b4fa0"][i]})),
      {scales: {x: {stacked: true}, y: {stacked: true}}});
    draw("chart-overdue", "bar", workload.rows.map((r) => r.consultant_id), [
      {label: t("overdue_open"), data: workload.rows.map((r) => r.overdue_open), backgroundColor: "#b8202f"},
      {label: t("open_tasks"), data: workload.rows.map((r) => r.open_tasks), backgroundColor: "#8aa1b1"}]);
    draw("chart-complaints", "bar", complaints.rows.map((r) =>
      `${L("complaint_category", r.category)} · ${L("complaint_severity", r.severity)}`), [
      {label: t("ack"), data: complaints.rows.map((r) => r.acknowledge_on_time_rate), backgroundColor: "#2f6fa7"},
      {label: t("resolve"), data: complaints.rows.map((r) => r.resolve_on_time_rate), backgroundColor: "#6aa84f"}],
      {scales: {y: {min: 0, max: 1}}});
    // Tiers as grading published them; customers not valued yet in their own (last) bar.
    draw("chart-pyramid", "bar", pyramid.rows.map((r) => L("pyramid_tier", r.tier)), [
      {label: t("customers"), data: pyramid.rows.map((r) => r.customers),
       backgroundColor: pyramid.rows.map((r) => ({platinum: "#9aa5b1", gold: "#d4a017", iron: "#5f6b73",
         lead: "#3b3b3b", not_yet_valued: "#d9dde2"}[r.tier] || "#7b4fa0"))}], {indexAxis: "y"});
    const curve = (key) => [{x: 0, y: 0}, ...(pareto.curve || pareto.rows).map((r) => ({x: r.customer_share, y: r[key]}))];
    draw("chart-pareto", "line", [], [
      {label: t("profit_share"), data: curve("cumulative_profit_share"), borderColor: "#b8202f", pointRadius: 0},
      {label: t("revenue_share"), data: curve("cumulative_revenue_share"), borderColor: "#2f6fa7", pointRadius: 0},
      {label: "20% / 80%", data: [{x: 0.2, y: 0}, {x: 0.2, y: 0.8}, {x: 0, y: 0.8}], borderColor: "#999",
       borderDash: [4, 4], pointRadius: 0, guide: true}],
      {scales: {x: {type: "linear", min: 0, max: 1}, y: {min: 0, max: 1}}});
    $("pareto-summary").textContent = `${t("top20")}: ${pareto.top20_profit_share === null ? "-" :
      new Intl.NumberFormat(document.documentElement.lang, {style: "percent", maximumFractionDigits: 1}).format(pareto.top20_profit_share)}`;
    table("top-customers", [t("customer"), t("consultant"), t("tier"), t("deals"), t("gross_profit")],
      pareto.rows.slice(0, 10).map((r) => [customerLink(r), CRM.esc(r.consultant_id), CRM.esc(L("pyramid_tier", r.pyramid_tier)),
        r.deals, CRM.esc(CRM.money(r.gross_profit))]));
    table("decline-customers", [t("customer"), t("consultant"), t("tier"), t("signals"), t("deals"), t("last_deal")],
      lifecycle.in_decline.slice(0, 20).map((r) => [customerLink(r), CRM.esc(r.consultant_id),
        CRM.esc(L("pyramid_tier", r.pyramid_tier)), CRM.esc(r.decline_signals.map((s) => L("decline_signal", s)).join(", ")),
        r.deals, CRM.esc(CRM.day(r.last_deal_on))]));
    $("status").textContent = `${t("loaded")} ${new Intl.DateTimeFormat(document.documentElement.lang, {timeStyle: "medium"}).format(new Date())}`;
    window.dashboard.loaded = true;
  } catch (err) {
    if (err instanceof CRM.Problem) showProblem(err); else showProblem(new Error(String(err)));
  }
}

async function init() {
  await CRM.loadLabels();
  CHANNELS.forEach((c) => $("channel").insertAdjacentHTML("beforeend", `<option value="${c}"></option>`));
  const params = new URLSearchParams(location.search);
  FILTERS.forEach((f) => { if (params.get(f)) $(f).value = params.get(f); });
  $("filters").addEventListener("submit", (e) => {
    e.preventDefault();
    history.replaceState(null, "", `${location.pathname}?${query()}`);
    load();
  });
  $("open360").addEventListener("click", () => {
    const id = $("customer").value.trim();
    if (/^[0-9a-fA-F-]{36}$/.test(id)) location.href = `/dashboard/customers/${id}`;
  });
  $("lang").addEventListener("click", () => { CRM.lang = CRM.lang === "zh" ? "en" : "zh"; applyLanguage(); load(); });
  applyLanguage();
  load();
}
init();
