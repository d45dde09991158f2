// Live pages: running clocks, and the projector's keyboard shortcuts for the chair.

// Clocks count on from the seconds the server rendered, timed from when this browser received them,
// so a clock that disagrees with the server's does not matter.
const seen = new WeakMap();

function clock(seconds) {
  const h = Math.floor(seconds / 3600), m = Math.floor((seconds % 3600) / 60), s = seconds % 60;
  const mm = h ? String(m).padStart(2, "0") : String(m);
  return (h ? `${h}:` : "") + `${mm}:${String(s).padStart(2, "0")}`;
}

function tick() {
  const now = Date.now();
  for (const timer of document.querySelectorAll("[data-elapsed]")) {
    if (!seen.has(timer)) seen.set(timer, now);
    const seconds = Number(timer.dataset.elapsed) + Math.floor((now - seen.get(timer)) / 1000);
    timer.textContent = clock(seconds);
    if (timer.dataset.allowance) timer.classList.toggle("lb-timer--over", seconds > Number(timer.dataset.allowance));
  }
}
setInterval(tick, 1000);
tick();

// Notes save themselves 0.8 s after typing stops. When the room moves to another case the notes panel is
// replaced; a note still waiting to save is sent first, so nothing typed is dropped.
document.body.addEventListener("input", (event) => {
  const form = event.target.closest("form[data-autosave]");
  if (form) form.dataset.unsaved = "true";
});
document.body.addEventListener("htmx:beforeRequest", (event) => {
  if (event.detail.elt.dataset) delete event.detail.elt.dataset.unsaved;
});
document.body.addEventListener("htmx:beforeSwap", (event) => {
  if (event.detail.target.id !== "console-notes") return;
  for (const form of event.detail.target.querySelectorAll("form[data-autosave][data-unsaved]")) {
    htmx.trigger(form, "submit");
  }
});

// The action form's "For" follows the room to the case on screen, until something is typed into the form.
document.body.addEventListener("lightbox:case-changed", (event) => {
  const menu = document.getElementById("action-case_id");
  const text = document.getElementById("action-description");
  if (!menu || !text || text.value.trim()) return;
  const onScreen = String(event.detail?.case ?? "");
  if ([...menu.options].some((option) => option.value === onScreen)) menu.value = onScreen;
});

// The projector: arrows and Space move between cases, 1-4 choose the stage, F goes full screen. Single
// keys can be turned off (WCAG 2.1.4), for a chair whose speech software types letters.
const commandUrl = document.body.dataset.commandUrl;
if (commandUrl) {
  const token = JSON.parse(document.body.getAttribute("hx-headers"))["X-CSRFToken"];
  const toggle = document.querySelector("[data-keys-toggle]");
  const status = document.querySelector("[data-keys-status]");
  let shortcuts = true;
  toggle?.addEventListener("click", () => {
    shortcuts = !shortcuts;
    toggle.setAttribute("aria-pressed", String(shortcuts));
    toggle.textContent = shortcuts ? "Keyboard shortcuts on" : "Keyboard shortcuts off";
    document.querySelector("[data-keys-help]").hidden = !shortcuts;
  });

  async function send(command, fields = {}) {
    const response = await fetch(commandUrl.replace("COMMAND", command), {
      method: "POST",
      headers: { "X-CSRFToken": token, "HX-Request": "true" },
      body: new URLSearchParams(fields),
    });
    if (response.ok) {
      status.textContent = "";
      document.body.dispatchEvent(new Event("lightbox:refresh"));
    } else {
      // The console's panel carries the reason ("That was the last case"); say it here too.
      const reason = new DOMParser().parseFromString(await response.text(), "text/html").querySelector("[role=alert]");
      status.textContent = reason ? reason.textContent.trim() : "That did not work; try again.";
    }
  }

  document.addEventListener("keydown", (event) => {
    if (!shortcuts || event.repeat || event.altKey || event.ctrlKey || event.metaKey) return;
    if (event.target.closest("input, textarea, select, button")) return;
    const keys = {
      ArrowRight: () => send("next"), PageDown: () => send("next"), " ": () => send("next"),
      ArrowLeft: () => send("previous"), PageUp: () => send("previous"),
      f: () => (document.fullscreenElement ? document.exitFullscreen() : document.documentElement.requestFullscreen()),
    };
    const action = keys[event.key] || (/^[1-4]$/.test(event.key) ? () => send("stage", { stage: event.key }) : null);
    if (action) {
      event.preventDefault();
      action();
    }
  });
}
