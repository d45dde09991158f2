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

// Something sent in place that fails (a refusal, an outage, no connection) swaps nothing, so what was typed
// stays where it was. Say so, with the server's reason when it gave one, until something sent succeeds (not
// a poll: the console's would clear it before it was read).
const requestError = document.getElementById("request-error");
function requestFailed(reason) {
  if (requestError) requestError.textContent = `${reason} Nothing you typed has been lost: try again.`;
}
document.body.addEventListener("htmx:responseError", (event) => {
  const page = new DOMParser().parseFromString(event.detail.xhr.responseText || "", "text/html");
  const title = page.querySelector(".lb-error h1")?.textContent.trim();
  const advice = page.querySelector(".lb-error p")?.textContent.trim();
  requestFailed([title, advice].filter(Boolean).join(": ") || "Lightbox could not do that just now.");
});
document.body.addEventListener("htmx:sendError", () => {
  requestFailed("Lightbox cannot be reached just now: check the connection.");
});
document.body.addEventListener("htmx:afterRequest", (event) => {
  const sent = event.detail.requestConfig?.verb !== "get";
  if (sent && event.detail.successful && requestError) requestError.textContent = "";
});
