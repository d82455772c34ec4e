/* Shared by the dashboard's pages: the language, labels for codes (served whole by
   /dashboard/labels.json, the one label table), local dates and numbers (Intl), readable problems,
   and the session: the pages read /dashboard/api/* with the HttpOnly session cookie the sign-in set
   (no token in any URL, nothing in storage); an expired session goes back to the sign-in page. */
"use strict";
const CRM = (() => {
  let labels = {};
  let lang = localStorage.getItem("crm.lang") === "en" ? "en" : "zh";
  const locale = () => (lang === "zh" ? "zh-CN" : (navigator.language || "en").startsWith("en") ? navigator.language : "en-GB");

  async function loadLabels() {
    const r = await fetch("/dashboard/labels.json");
    if (r.ok) labels = await r.json();
  }

  // The label of a code in the current language (the code itself only if the table has none).
  const label = (vocabulary, code) => (code === null || code === undefined || code === "" ? "" :
    (labels[vocabulary] && labels[vocabulary][code] ? labels[vocabulary][code][lang] : String(code)));

  // A business day ("2026-05-31") is a calendar date: formatted as one, never moved by a time zone.
  function day(value) {
    if (!value) return "";
    const d = new Date(`${String(value).slice(0, 10)}T00:00:00Z`);
    return Number.isNaN(d.getTime()) ? String(value) :
      new Intl.DateTimeFormat(locale(), {year: "numeric", month: "short", day: "numeric", timeZone: "UTC"}).format(d);
  }

  // An instant (ISO 8601, microseconds and offset included) in the reader's own time zone.
  function moment(value) {
    if (!value) return "";
    if (/^\d{4}-\d{2}-\d{2}$/.test(String(value))) return day(value);
    const d = new Date(value);
    return Number.isNaN(d.getTime()) ? String(value) :
      new Intl.DateTimeFormat(locale(), {dateStyle: "medium", timeStyle: "short"}).format(d);
  }

  function money(value) {
    if (value === null || value === undefined || value === "") return "";
    const n = Number(value);
    return Number.isFinite(n) ? new Intl.NumberFormat(locale(), {maximumFractionDigits: 2}).format(n) : String(value);
  }

  const esc = (v) => String(v ?? "").replace(/[&<>"']/g, (c) => ({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;"}[c]));

  class Problem extends Error {}

  // A failed read: to the sign-in page when the session is gone; else a Problem whose message
  // names each field at fault by its label on the page (problem+json `errors`), or the detail.
  async function fail(r, fieldLabel) {
    if (r.status === 401) {
      location.assign("/dashboard/sign-in?note=expired");
      return new Problem("");
    }
    let p = {};
    try { p = await r.json(); } catch (_) { /* not a problem document */ }
    const named = (p.errors || []).map((e) => `${fieldLabel(String(e.field).replace(/^query\./, ""))}: ${e.message}`);
    return new Problem([...new Set(named)].join("; ") || p.detail || p.title || String(r.status));
  }

  async function read(path, fieldLabel) {
    const r = await fetch(path, {credentials: "same-origin", headers: {Accept: "application/json"}});
    if (!r.ok) throw await fail(r, fieldLabel);
    return r.json();
  }

  return {
    get lang() { return lang; },
    set lang(v) { lang = v; localStorage.setItem("crm.lang", v); },
    loadLabels, label, day, moment, money, esc, read, Problem,
  };
})();
