// The home page's try-it canvas for visitors without an account: a digit read live as it
// is drawn, through the preview endpoint, which stores nothing.
import { gettext } from "./i18n.js";
import { DrawingPad } from "../recognition/canvas.js";
import { LiveAnswer } from "../recognition/live.js";
import { clearResult, markStale, renderResult } from "../recognition/result.js";

const root = document.getElementById("try-it");
const canvas = root.querySelector('[data-testid="try-canvas"]');
const clearButton = root.querySelector('[data-testid="try-clear"]');
const result = root.querySelector('[data-testid="try-result"]');
const placeholder = result.firstElementChild;

const pad = new DrawingPad(canvas, { hint: root.querySelector(".canvas-hint") });
const live = new LiveAnswer(root.dataset.previewUrl, {
  read: () => (pad.hasInk ? { image: pad.exportCanvas().toDataURL("image/png"), mode: "digit" } : null),
  show: (answer) => renderResult(result, answer, { note: gettext("Not saved.") }),
  fail: (error) => {
    const message = document.createElement("p");
    message.className = "small text-body-secondary";
    message.dataset.testid = "try-error";
    message.textContent = error.message;
    result.replaceChildren(message);
  },
});

pad.addEventListener("strokestart", () => markStale(result));
pad.addEventListener("change", (event) => {
  clearButton.disabled = pad.isEmpty;
  if (!pad.hasInk || event.detail.reason === "clear") {
    live.cancel();
    clearResult(result, placeholder);
    return;
  }
  markStale(result);
  live.schedule();
});
clearButton.addEventListener("click", () => pad.clear());
