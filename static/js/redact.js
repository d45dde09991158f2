// Drawing black boxes over text burned into a key image. The browser only collects the boxes;
// the server burns them into the stored image, so nothing here decides what the room sees.

function setUp(canvas) {
  if (canvas.dataset.ready) return;
  canvas.dataset.ready = "1";
  const image = canvas.querySelector("img");
  const form = document.getElementById(canvas.dataset.form);
  let start = null;
  let marquee = null;

  const point = (event) => {
    const rect = image.getBoundingClientRect();
    return {
      x: Math.min(Math.max(event.clientX - rect.left, 0), rect.width),
      y: Math.min(Math.max(event.clientY - rect.top, 0), rect.height),
      rect,
    };
  };
  const place = (a, b) => {
    marquee.style.left = `${Math.min(a.x, b.x)}px`;
    marquee.style.top = `${Math.min(a.y, b.y)}px`;
    marquee.style.width = `${Math.abs(a.x - b.x)}px`;
    marquee.style.height = `${Math.abs(a.y - b.y)}px`;
  };

  canvas.addEventListener("pointerdown", (event) => {
    if (event.button !== 0) return;
    event.preventDefault();
    canvas.setPointerCapture(event.pointerId);
    start = point(event);
    marquee = document.createElement("div");
    marquee.className = "lb-redact__marquee";
    canvas.appendChild(marquee);
    place(start, start);
  });
  canvas.addEventListener("pointermove", (event) => {
    if (start) place(start, point(event));
  });
  canvas.addEventListener("pointerup", (event) => {
    if (!start) return;
    const end = point(event);
    const scale = Number(canvas.dataset.width) / start.rect.width;
    const box = [Math.min(start.x, end.x), Math.min(start.y, end.y), Math.abs(start.x - end.x), Math.abs(start.y - end.y)]
      .map((value) => Math.round(value * scale));
    start = null;
    if (box[2] < 3 || box[3] < 3) {
      marquee.remove();
      return;
    }
    const boxes = JSON.parse(canvas.dataset.boxes || "[]");
    boxes.push(box);
    form.elements.boxes.value = JSON.stringify(boxes);
    form.requestSubmit();
  });
}

const setUpAll = () => document.querySelectorAll("[data-redact]").forEach(setUp);
setUpAll();
document.body.addEventListener("htmx:afterSettle", setUpAll);
