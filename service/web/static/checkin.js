// A check-in's private preparation, saved as the person types: plain JavaScript, no build step.
//
// After a pause in typing the form is posted to its own address (the same one its Save button
// uses) as a fragment request, which answers 204 without a page. Only the latest text is sent,
// one save at a time, so the log holds a save per pause, not per keystroke; the same text is
// not saved twice. Without script the Save button does the same.
(() => {
  "use strict";

  const PAUSE = 1200;
  let timer = null;
  let saving = false;
  let pending = false;
  let lastSent = null;

  const form = () => document.querySelector("form[data-autosave]");
  const answers = (f) => [...f.querySelectorAll("textarea[name=answer]")].map((t) => t.value);

  let said = "";

  function say(f, text) {
    said = text;
    const status = (form() || f).querySelector("[data-save-status]");
    if (status) status.textContent = text;
  }

  // A live update redraws the form (live.js keeps what is typed): the last word on saving stays.
  const live = document.getElementById("live");
  if (live) {
    new MutationObserver(() => {
      const status = form() && form().querySelector("[data-save-status]");
      if (status && status.textContent !== said) status.textContent = said;
    }).observe(live, { childList: true, subtree: true });
  }

  async function save() {
    const f = form();
    if (!f) return;
    if (saving) { pending = true; return; }
    const now = JSON.stringify(answers(f));
    if (now === lastSent) return;
    saving = true;
    const data = new FormData(f);
    // Each save is its own command: one key for all of them would be refused as reused.
    data.delete("idempotency_key");
    say(f, "Saving…");
    try {
      const response = await fetch(f.action, {
        method: "POST",
        body: new URLSearchParams(data),
        headers: { "Accord-Fragment": "1" },
        credentials: "same-origin",
      });
      if (response.ok) {
        lastSent = now;
        say(f, "Saved. Only you can see it.");
      } else {
        say(f, (await response.text()) || "Not saved.");
      }
    } catch (error) {
      say(f, "Not saved: offline? It will be tried again as you type.");
    } finally {
      saving = false;
      if (pending) { pending = false; save(); }
    }
  }

  // A new series starts in this browser's own time zone unless the person names another.
  const zone = document.querySelector("form[data-time-zone-form] input[name=time_zone]");
  if (zone && zone.value === zone.defaultValue && zone.value === "UTC") {
    try {
      const here = Intl.DateTimeFormat().resolvedOptions().timeZone;
      if (here) zone.value = here;
    } catch (error) { /* keep UTC */ }
  }

  document.addEventListener("input", (event) => {
    if (!event.target.closest || !event.target.closest("form[data-autosave]")) return;
    window.clearTimeout(timer);
    timer = window.setTimeout(save, PAUSE);
  });

  // Leaving the field saves at once, so nothing typed waits on the pause.
  document.addEventListener("focusout", (event) => {
    if (!event.target.closest || !event.target.closest("form[data-autosave]")) return;
    window.clearTimeout(timer);
    save();
  });
})();
