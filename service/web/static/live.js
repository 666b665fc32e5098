// Live updates for Accord's pages: plain JavaScript, no build step.
//
// The page names the part that changes (#live), the URL that renders it
// afresh, which pushed keys concern it, and the log position it was rendered
// at. This script follows /api/live (the session cookie authenticates it),
// asks for the part again when a change concerns the page, and swaps it in
// without losing what the person is typing. A clause being edited is never
// overwritten: the person keeps their text and the revision it is based on,
// and sees the other party's version beside it.
(() => {
  "use strict";

  // A link to a closed <details> (say, "add a clause") opens it.
  document.addEventListener("click", (event) => {
    const link = event.target.closest && event.target.closest('a[href^="#"]');
    const target = link && document.getElementById(link.getAttribute("href").slice(1));
    if (target && target.tagName === "DETAILS") target.open = true;
  });

  const root = document.getElementById("live");
  // The count of what waits, in the navigation of every signed-in page (the `inbox` key's view).
  const counter = document.getElementById("inbox-count");
  if (!root && !counter) return;
  const source = root ? root.dataset.liveSrc : null;
  const keys = root ? (root.dataset.liveKeys || "*").split(" ") : [];
  const status = document.getElementById("live-status");
  // A page without a live part resumes from nothing: the first frame brings its count afresh.
  let position = root ? Number(root.dataset.position || 0) : null;
  let socket = null;
  let attempts = 0;
  let fetching = false;
  let again = false;
  let pinger = null;
  let quiet = null;

  const concerns = (key) => keys.includes("*") || keys.includes(key);

  // Signals that reached this person (the `signals` key): a new one is announced on whatever page is open.
  const loadedAt = Date.now();
  let received = null;
  function arrived(view) {
    if (!view || !Array.isArray(view.received)) return;
    view.received
      .filter((s) => (received ? !received.has(s.signal_id) : Date.parse(s.sent_at) > loadedAt - 5000))
      .forEach((s) => announce(`${s.label} — from ${s.sender.name}`));
    received = new Set(view.received.map((s) => s.signal_id));
  }

  function count(view) {
    if (!counter || !view || typeof view.count !== "number") return;
    counter.textContent = String(view.count);
    counter.dataset.count = String(view.count);
    counter.setAttribute("aria-label", `${view.count} waiting`);
    counter.hidden = view.count === 0;
  }

  // The notice floats over the bottom of the window. A live page keeps room free at its end
  // (accord.css), so scrolled to the bottom nothing, the footer included, is under it; a
  // notice taller than that room (long words on a narrow screen) widens it.
  function reserveRoom() {
    const room = status.textContent ? window.innerHeight - status.getBoundingClientRect().top + 8 : 0;
    document.documentElement.style.setProperty("--live-status-room", `${Math.ceil(room)}px`);
  }

  function announce(message) {
    if (!status) return;
    status.textContent = "";
    // A fresh text node after a tick, so screen readers announce repeats too.
    window.setTimeout(() => { status.textContent = message; reserveRoom(); }, 50);
    window.clearTimeout(quiet);
    quiet = window.setTimeout(() => { status.textContent = ""; reserveRoom(); }, 6000);
  }

  function connect() {
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    socket = new WebSocket(`${scheme}//${location.host}/api/live`);
    socket.addEventListener("open", () => {
      socket.send(JSON.stringify({ type: "auth", token: "", since: position }));
    });
    socket.addEventListener("message", (event) => receive(JSON.parse(event.data)));
    socket.addEventListener("close", (event) => {
      window.clearInterval(pinger);
      document.documentElement.dataset.live = "off";
      if (event.code === 4401) {
        announce("You are signed out, so this page no longer updates.");
        return;
      }
      attempts = Math.min(attempts + 1, 6);
      window.setTimeout(connect, 400 * 2 ** attempts * (0.5 + Math.random() / 2));
    });
  }

  function receive(frame) {
    switch (frame.type) {
      case "ready":
        attempts = 0;
        window.clearInterval(pinger);
        pinger = window.setInterval(() => socket.send('{"type":"ping"}'), 25000);
        break;
      case "update":
        position = frame.position;
        frame.changes.forEach((change) => { if (change.key === "inbox") count(change.view); });
        frame.changes.forEach((change) => { if (change.key === "signals") arrived(change.view); });
        if (root && frame.changes.some((change) => concerns(change.key))) refresh();
        break;
      case "resync":
        // Everything is sent again (the page was older than the server's memory): render afresh.
        position = frame.position;
        frame.views.forEach((view) => { if (view.key === "inbox") count(view.view); });
        frame.views.forEach((view) => { if (view.key === "signals") arrived(view.view); });
        if (root) refresh();
        break;
      case "synced":
        position = Math.max(position || 0, frame.position);
        document.documentElement.dataset.live = "synced";
        break;
      case "reconnect":
        socket.close();
        break;
      default:
        break;
    }
  }

  async function refresh() {
    if (fetching) { again = true; return; }
    fetching = true;
    try {
      const response = await fetch(source, {
        headers: { "Accord-Fragment": "1" },
        credentials: "same-origin",
        cache: "no-store",
      });
      if (response.status === 404) gone();
      else if (response.status === 401) announce("You are signed out, so this page no longer updates.");
      else if (response.ok) swap(await response.text());
    } catch (error) {
      // Offline for a moment: the next update or reconnect tries again.
    } finally {
      fetching = false;
      if (again) { again = false; refresh(); }
    }
  }

  function gone() {
    const notice = document.createElement("p");
    notice.className = "notice";
    notice.textContent = root.dataset.gone || "You can no longer see this.";
    root.replaceChildren(notice);
    announce(notice.textContent);
  }

  function swap(html) {
    const template = document.createElement("template");
    template.innerHTML = html.trim();
    const fresh = template.content.firstElementChild;
    const current = root.firstElementChild;
    if (fresh && current && fresh.dataset.kind !== current.dataset.kind && current.dataset.kind) {
      // What this person may see of it changed in kind (they joined, or left): a new page.
      location.reload();
      return;
    }
    const kept = keepWhatIsBeingEdited();
    const focus = rememberFocus();
    const open = [...root.querySelectorAll("details[open][id]")].map((details) => details.id);
    root.replaceChildren(...template.content.childNodes);
    open.forEach((id) => { const details = document.getElementById(id); if (details) details.open = true; });
    const conflicts = restore(kept);
    restoreFocus(focus);
    root.dataset.position = String(position);
    // Each clause says who last changed it, named as this person may see them.
    announce(conflicts.length ? [...new Set(conflicts)].join(" ") : "Updated just now.");
  }

  const isChoice = (el) => el.type === "checkbox" || el.type === "radio";
  const keyOf = (el) => (isChoice(el) ? `${el.name}\u0000${el.value}` : el.name);

  function isDirty(form) {
    return [...form.elements].some((el) => {
      if (isChoice(el)) return el.checked !== el.defaultChecked;
      if (el.tagName === "SELECT") {
        const initial = [...el.options].find((o) => o.defaultSelected) || el.options[0];
        return el.value !== (initial ? initial.value : "");
      }
      if (el.type === "hidden" || !("defaultValue" in el)) return false;
      return el.value !== el.defaultValue;
    });
  }

  function isEditing(form) {
    const details = form.closest("details");
    const openEdit = "clauseEdit" in form.dataset && details && details.open;
    return openEdit || isDirty(form) || form.contains(document.activeElement);
  }

  function keepWhatIsBeingEdited() {
    const kept = [];
    for (const form of root.querySelectorAll("form[id]")) {
      if (!isEditing(form)) continue;
      const values = {};
      for (const el of form.elements) {
        if (!el.name || (el.type === "hidden" && !("keep" in el.dataset))) continue;
        values[keyOf(el)] = isChoice(el) ? el.checked : el.value;
      }
      kept.push({ id: form.id, values });
    }
    return kept;
  }

  function restore(kept) {
    const conflicts = [];
    for (const { id, values } of kept) {
      const form = document.getElementById(id);
      if (!form) continue;
      for (const el of form.elements) {
        const key = keyOf(el);
        if (!el.name || !(key in values)) continue;
        if (isChoice(el)) el.checked = values[key]; else el.value = values[key];
      }
      const details = form.closest("details");
      if (details) details.open = true;
      const based = values.based_on_revision;
      if ("clauseEdit" in form.dataset && based !== undefined && based !== form.dataset.currentRevision) {
        // The edit keeps the revision it was based on, so saving cannot silently overwrite theirs.
        const theirs = form.querySelector("[data-their-version]");
        if (theirs) theirs.hidden = false;
        const text = form.querySelector("textarea[name=text]");
        const label = text && form.querySelector(`label[for="${text.id}"]`);
        if (label) label.textContent = "Your version";
        // The address says the revision kept too (see _clause.html).
        const action = new URL(form.action, location.href);
        action.searchParams.set("revision", based);
        form.action = action.pathname + action.search;
        const clause = form.closest("[data-conflict-message]");
        conflicts.push(clause ? clause.dataset.conflictMessage
          : "Another party changed this clause while you were editing. Their version is shown beside yours; your text is kept.");
      }
    }
    return conflicts;
  }

  function rememberFocus() {
    const el = document.activeElement;
    if (!el || !el.id || !root.contains(el)) return null;
    let start = null;
    let end = null;
    try { start = el.selectionStart; end = el.selectionEnd; } catch (error) { /* not a text field */ }
    return { id: el.id, start, end };
  }

  function restoreFocus(focus) {
    if (!focus) return;
    const el = document.getElementById(focus.id);
    if (!el) return;
    el.focus({ preventScroll: true });
    if (focus.start !== null && typeof el.setSelectionRange === "function") {
      try { el.setSelectionRange(focus.start, focus.end); } catch (error) { /* not a text field */ }
    }
  }

  connect();
})();
