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

// Something a person sends in place that fails (a refusal, an outage, no connection) swaps nothing, so what
// was typed stays where it was. Say so, with the server's reason when it gave one, until the same request
// succeeds (the form may have been redrawn meanwhile, so it is known by where it is sent) or the message is
// dismissed. Polls (GETs) are left out: they retry by themselves, and a message
// rewritten every two seconds would be read out every two seconds.
const requestError = document.getElementById("request-error");
const requestErrorText = requestError?.querySelector("[data-message]");
const requestErrorDismiss = requestError?.querySelector("[data-dismiss]");
let failedRequest = null;

const requestOf = (event) => `${event.detail.requestConfig?.verb} ${event.detail.requestConfig?.path}`;

function showRequestError(reason, event) {
  const text = `${reason} Nothing you typed has been lost: try again.`;
  failedRequest = requestOf(event);
  if (requestErrorText.textContent !== text) requestErrorText.textContent = text;
  requestError.classList.add("lb-request-error--shown");
  requestErrorDismiss.hidden = false;
}

function clearRequestError() {
  failedRequest = null;
  requestErrorText.textContent = "";
  requestError.classList.remove("lb-request-error--shown");
  requestErrorDismiss.hidden = true;
}

const sentByPerson = (event) => requestError && event.detail.requestConfig?.verb !== "get";

requestErrorDismiss?.addEventListener("click", clearRequestError);
document.body.addEventListener("htmx:responseError", (event) => {
  if (!sentByPerson(event)) return;
  const page = new DOMParser().parseFromString(event.detail.xhr.responseText || "", "text/html");
  const title = page.querySelector(".lb-error h1")?.textContent.trim();
  const advice = page.querySelector(".lb-error p")?.textContent.trim();
  showRequestError([title, advice].filter(Boolean).join(": ") || "Lightbox could not do that just now.", event);
});
document.body.addEventListener("htmx:sendError", (event) => {
  if (!sentByPerson(event)) return;
  showRequestError("Lightbox cannot be reached just now: check the connection.", event);
});
document.body.addEventListener("htmx:afterRequest", (event) => {
  if (failedRequest && event.detail.successful && requestOf(event) === failedRequest) clearRequestError();
});
