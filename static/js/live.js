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

// The projector: arrows and Space move between cases, 1-4 choose the stage, F goes full screen.
const commandUrl = document.body.dataset.commandUrl;
if (commandUrl) {
  const token = JSON.parse(document.body.getAttribute("hx-headers"))["X-CSRFToken"];

  async function send(command, fields = {}) {
    const response = await fetch(commandUrl.replace("COMMAND", command), {
      method: "POST",
      headers: { "X-CSRFToken": token, "HX-Request": "true" },
      body: new URLSearchParams(fields),
    });
    if (response.ok) document.body.dispatchEvent(new Event("lightbox:refresh"));
  }

  document.addEventListener("keydown", (event) => {
    if (event.altKey || event.ctrlKey || event.metaKey || event.target.closest("input, textarea, select")) return;
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
