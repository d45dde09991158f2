// Lightbox's own script: starts the NHS.UK frontend components. Loaded as a module (no inline scripts).
import { initAll } from "../vendor/nhsuk-frontend/nhsuk-frontend.min.js";

document.body.classList.add("js-enabled", "nhsuk-frontend-supported");
initAll();

// Components inside content that htmx swaps in need starting too.
document.body.addEventListener("htmx:afterSwap", (event) => {
  initAll({ scope: event.detail.target.parentElement || document });
});
