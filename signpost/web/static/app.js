// Signpost dashboard: keyboard shortcuts, reply length counter, filter auto-submit. No inline script (strict CSP).
(function () {
  "use strict";
  const cards = () => Array.from(document.querySelectorAll("[data-card]"));
  let current = -1;

  function focusCard(index) {
    const list = cards();
    if (!list.length) return;
    current = Math.max(0, Math.min(index, list.length - 1));
    list.forEach((c, i) => c.classList.toggle("focused", i === current));
    list[current].focus({ preventScroll: true });
    list[current].scrollIntoView({ block: "start", behavior: "smooth" });
  }

  function typing(el) {
    return el && (el.tagName === "INPUT" || el.tagName === "TEXTAREA" || el.tagName === "SELECT" || el.isContentEditable);
  }

  function click(selector) {
    const card = cards()[current];
    const el = card && card.querySelector(selector);
    if (el) el.click();
    return Boolean(el);
  }

  function focusIn(selector) {
    const card = cards()[current];
    const el = card && card.querySelector(selector);
    if (el) { el.focus(); return true; }
    return false;
  }

  document.addEventListener("keydown", (ev) => {
    if (ev.key === "Escape" && typing(document.activeElement)) { document.activeElement.blur(); return; }
    if (typing(document.activeElement) || ev.ctrlKey || ev.metaKey || ev.altKey) return;
    if (!cards().length) return;
    if (current < 0) current = 0;
    const actions = {
      j: () => focusCard(current + 1),
      k: () => focusCard(current - 1),
      a: () => click('button[data-action="approve"]'),
      e: () => focusIn("textarea[name=reply_text]"),
      r: () => focusIn("input[name=reason]"),
      o: () => click("a.sid"),
    };
    const act = actions[ev.key];
    if (act) { ev.preventDefault(); act(); }
  });

  // Ctrl/Cmd+Enter in a reply approves it; Enter in the reason field rejects (the browser requires a reason).
  document.addEventListener("keydown", (ev) => {
    if (ev.key === "Enter" && (ev.ctrlKey || ev.metaKey) && ev.target.name === "reply_text") {
      const btn = ev.target.form.querySelector('button[data-action="approve"]');
      if (btn) { ev.preventDefault(); btn.click(); }
    }
  });

  // Reply length as the network counts it (every link is 23 characters on X).
  function updateCounter(area) {
    const counter = area.form.querySelector("[data-counter]");
    if (!counter) return;
    const limit = Number(area.dataset.limit || 0);
    let text = area.value.trim();
    if (area.dataset.network === "twitter") text = text.replace(/https?:\/\/\S+/g, "x".repeat(23));
    const n = Array.from(text).length;
    counter.textContent = n + " / " + limit;
    counter.classList.toggle("over", limit > 0 && n > limit);
  }
  document.querySelectorAll("textarea[name=reply_text]").forEach((area) => {
    area.addEventListener("input", () => updateCounter(area));
  });

  document.querySelectorAll("select[data-autosubmit]").forEach((sel) => {
    sel.addEventListener("change", () => sel.form.submit());
  });

  // Start on the card named in the URL (after an action the server points at the next one).
  window.addEventListener("DOMContentLoaded", () => {
    const list = cards();
    const target = location.hash ? document.getElementById(location.hash.slice(1)) : null;
    const index = target ? list.indexOf(target) : -1;
    if (index >= 0) focusCard(index);
    else if (list.length && document.body.classList.contains("page-queue")) {
      current = 0;
      list[0].classList.add("focused");
    }
  });
})();
