// Lightbox's own script: starts the NHS.UK frontend components. Loaded as a module (no inline scripts).
import { initAll } from "../vendor/nhsuk-frontend/nhsuk-frontend.min.js";

document.body.classList.add("js-enabled", "nhsuk-frontend-supported");
initAll();

// Components inside content that htmx swaps in need starting too.
document.body.addEventListener("htmx:afterSwap", (event) => {
  initAll({ scope: event.detail.target.parentElement || document });
});

// A form answered in place (an action moved, refused or added) marks what to read out next with
// data-focus-now: focus goes there, so a screen reader says it and the keyboard carries on from it.
document.body.addEventListener("htmx:afterSettle", () => {
  const spot = document.querySelector("[data-focus-now]");
  if (!spot) return;
  spot.removeAttribute("data-focus-now");
  spot.focus();
});
