// The web view's small scripts: sign-in by link, projector mode, printing. No external code.
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  signInFromLink();
  // A link opened on this very page changes only the fragment: no new page load.
  window.addEventListener("hashchange", signInFromLink);
  projector();
  const print = document.getElementById("print-button");
  if (print) print.addEventListener("click", () => window.print());
});

// The link's token is in the URL fragment, which is never sent to the server: move it into the
// form, take it out of the address bar and history, and sign in.
function signInFromLink() {
  const form = document.getElementById("signin-form");
  const token = window.location.hash.slice(1);
  if (!form || !token) return;
  history.replaceState(null, "", window.location.pathname);
  document.getElementById("signin-token").value = token;
  document.getElementById("signin-ready").hidden = false;
  document.getElementById("signin-button").hidden = false;
  form.submit();
}

// One item per screen in large type; ← → move between items (↑ ↓ and the space bar still scroll a
// long answer), Esc returns to the list.
function projector() {
  const toggle = document.getElementById("projector-toggle");
  const items = Array.from(document.querySelectorAll("#deck article.item"));
  if (!toggle || items.length === 0) return;
  let current = 0;
  const show = (index) => {
    current = Math.max(0, Math.min(items.length - 1, index));
    items.forEach((item, i) => item.classList.toggle("current", i === current));
    window.scrollTo(0, 0);
  };
  const enter = () => {
    document.body.classList.add("projector");
    const fromHash = items.findIndex((item) => "#" + item.id === window.location.hash);
    show(fromHash >= 0 ? fromHash : current);
  };
  const leave = () => {
    document.body.classList.remove("projector");
    items[current].scrollIntoView();
  };
  toggle.addEventListener("click", enter);
  document.addEventListener("keydown", (event) => {
    if (!document.body.classList.contains("projector")) return;
    if (event.key === "ArrowRight" || event.key === "PageDown") { show(current + 1); event.preventDefault(); }
    else if (event.key === "ArrowLeft" || event.key === "PageUp") { show(current - 1); event.preventDefault(); }
    else if (event.key === "Home") { show(0); event.preventDefault(); }
    else if (event.key === "End") { show(items.length - 1); event.preventDefault(); }
    else if (event.key === "Escape") { leave(); }
  });
  if (new URLSearchParams(window.location.search).get("view") === "projector") enter();
}
