// The meeting's case queue: drag and drop with SortableJS. Move up / Move down buttons do the same
// without a mouse, and without JavaScript the forms post as usual.
function initQueue() {
  const list = document.querySelector("[data-queue-sortable]");
  if (!list || list.dataset.sortableReady) return;
  list.dataset.sortableReady = "true";
  window.Sortable.create(list, {
    handle: ".lb-drag-handle",
    animation: 150,
    onEnd() {
      const form = document.getElementById("queue-order-form");
      form.querySelectorAll("input[name=case]").forEach((input) => input.remove());
      list.querySelectorAll("[data-case-id]").forEach((item) => {
        const input = document.createElement("input");
        input.type = "hidden";
        input.name = "case";
        input.value = item.dataset.caseId;
        form.appendChild(input);
      });
      window.htmx.trigger(form, "submit");
    },
  });
}

window.htmx.onLoad(initQueue);
