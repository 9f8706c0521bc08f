// Haven — small enhancements; every page works without this file.
"use strict";
// Tells the page (and the tests) that scripts run.
document.documentElement.dataset.js = "on";
document.addEventListener("focusin", (event) => {
  const el = event.target;
  if (el instanceof HTMLInputElement && el.hasAttribute("data-select-on-focus")) {
    el.select();
  }
});
document.addEventListener("DOMContentLoaded", () => {
  const summary = document.getElementById("error-summary");
  if (summary) summary.focus();
});
// The hotline desk's intake screen: drafts saved on the server every few seconds and after every
// field, the duration kept running, earlier contacts from a phone number looked up while typing.
// Without this script the same form works by its buttons (save, save draft, look up).
document.addEventListener("DOMContentLoaded", () => {
  const form = document.getElementById("intake");
  if (!form || !form.dataset.autosave) return;
  const status = document.getElementById("autosave-status");
  const body = () => new URLSearchParams(new FormData(form));
  let dirty = false;
  let last = "";
  const save = async () => {
    const data = body();
    data.delete("do");
    const text = data.toString();
    if (text === last) return;
    try {
      const res = await fetch(form.dataset.autosave, {
        method: "POST",
        body: data,
        credentials: "same-origin",
        headers: { "Content-Type": "application/x-www-form-urlencoded" },
      });
      if (res.ok) {
        last = text;
        dirty = false;
        if (status) status.textContent = status.dataset.saved || "✓";
      }
    } catch (_) {
      if (status) status.textContent = "…";
    }
  };
  form.addEventListener("change", save);
  form.addEventListener("input", () => { dirty = true; });
  setInterval(() => { if (dirty) save(); }, Number(form.dataset.autosaveMs) || 5000);
  // The duration runs from the moment the screen opened until the contact is saved.
  const duration = document.getElementById("duration");
  const opened = Date.now();
  let typed = false;
  if (duration) {
    duration.addEventListener("input", () => { typed = true; });
    setInterval(() => {
      if (typed) return;
      const s = Math.floor((Date.now() - opened) / 1000);
      duration.value = Math.floor(s / 60) + ":" + String(s % 60).padStart(2, "0");
    }, 1000);
  }
  // Phone lookup while typing.
  const phone = document.getElementById("phone");
  const panel = document.getElementById("lookup");
  let timer = null;
  const lookup = async () => {
    const digits = phone.value.replace(/\D/g, "");
    if (digits.length < 6) return;
    const data = new URLSearchParams();
    data.set("csrf", form.querySelector("input[name=csrf]").value);
    data.set("phone", phone.value);
    // The person already chosen stays chosen when the list is drawn again.
    const chosen = form.querySelector("input[name=person_id]:checked, input[type=hidden][name=person_id]");
    if (chosen) data.set("person_id", chosen.value);
    try {
      const res = await fetch(form.dataset.lookup, {
        method: "POST",
        body: data,
        credentials: "same-origin",
        headers: { "Content-Type": "application/x-www-form-urlencoded" },
      });
      if (res.ok) panel.innerHTML = await res.text();
    } catch (_) { /* the button still works */ }
  };
  if (phone && panel) {
    phone.addEventListener("input", () => {
      clearTimeout(timer);
      timer = setTimeout(lookup, 400);
    });
  }
});
