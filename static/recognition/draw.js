// The draw page: the canvas (canvas.js), live answers as you draw (live.js, nothing
// stored), and "Recognize", which sends the drawing to the API, stores it in the history
// and shows the result with feedback buttons.
import { format, gettext, ngettext } from "../digitrec/i18n.js";
import { PredictionsApi } from "./api.js";
import { DrawingPad } from "./canvas.js";
import { LiveAnswer } from "./live.js";
import { clearResult, detailUrlFrom, markStale, recognize, renderResult } from "./result.js";

// A number is drawn three times as wide as a digit; on a phone, twice, so that the canvas
// stays tall enough to write in when it fills the screen's width.
const NARROW = window.matchMedia("(max-width: 575.98px)").matches;
const WIDTHS = { digit: 280, number: NARROW ? 560 : 840 };
const LIVE_NOTE = gettext("Live answer, not saved. Press Recognize to keep it in your history.");

const page = document.getElementById("draw-page");
const canvas = document.getElementById("draw-canvas");
const undoButton = document.getElementById("undo");
const clearButton = document.getElementById("clear");
const recognizeButton = document.getElementById("recognize");
const statusLine = document.getElementById("draw-status");
const resultArea = document.getElementById("result");
const placeholder = resultArea.firstElementChild;
const sizeInput = document.getElementById("brush-size");
const api = new PredictionsApi(page.dataset.apiUrl);
const detailUrl = detailUrlFrom(page.dataset.detailUrl);
let busy = false;

const pad = new DrawingPad(canvas, {
  widths: WIDTHS, hint: document.getElementById("canvas-hint"), sizeTarget: page,
  mode: document.querySelector('input[name="mode"]:checked')?.value ?? "digit",
});
pad.size = Number(sizeInput.value);

const live = new LiveAnswer(page.dataset.previewUrl, {
  read: () => (pad.hasInk ? { image: pad.exportCanvas().toDataURL("image/png"), mode: pad.mode } : null),
  show: (answer, drawing) => {
    renderResult(resultArea, answer, { api, detailUrl, note: LIVE_NOTE, image: drawing.image });
    statusLine.textContent = "";
  },
  // Live answers are a convenience: a busy or throttled server leaves the button to it.
  fail: (error) => {
    statusLine.textContent = error.status === 429 || error.status === 503
      ? gettext("Live answers paused: press Recognize.") : "";
  },
});

function updateControls() {
  undoButton.disabled = pad.isEmpty;
  clearButton.disabled = pad.isEmpty;
  recognizeButton.disabled = busy || !pad.hasInk;
}

pad.addEventListener("strokestart", () => markStale(resultArea));
pad.addEventListener("change", (event) => {
  updateControls();
  if (!pad.hasInk || event.detail.reason === "clear") {
    live.cancel();
    clearResult(resultArea, placeholder);
    statusLine.textContent = "";
    return;
  }
  markStale(resultArea);
  live.schedule();
});

undoButton.addEventListener("click", () => pad.undo());
clearButton.addEventListener("click", () => pad.clear());
document.addEventListener("keydown", (event) => {
  const typing = event.target.closest?.("input[type=text], input:not([type]), textarea");
  if ((event.ctrlKey || event.metaKey) && !event.shiftKey && event.key.toLowerCase() === "z" && !typing) {
    event.preventDefault();
    pad.undo();
  }
});

sizeInput.addEventListener("input", () => {
  pad.size = Number(sizeInput.value);
});

for (const radio of document.querySelectorAll('input[name="tool"]')) {
  radio.addEventListener("change", () => {
    pad.tool = radio.value;
    canvas.style.cursor = radio.value === "eraser" ? "cell" : "";
  });
}

function describeMode(mode) {
  canvas.setAttribute("aria-label", mode === "number"
    ? gettext("Drawing area: write a number here, digits left to right")
    : gettext("Drawing area: draw one digit here"));
  document.getElementById("canvas-hint").textContent = mode === "number"
    ? gettext("Write a number here, e.g. 2025") : gettext("Draw a digit here");
}

for (const radio of document.querySelectorAll('input[name="mode"]')) {
  radio.addEventListener("change", () => {
    describeMode(radio.value);
    // The drawing keeps its strokes: a digit drawn first stays at the left of a number.
    const removed = pad.setMode(radio.value);
    if (removed) {
      statusLine.textContent = format(ngettext("%(count)s stroke outside the square was removed.",
        "%(count)s strokes outside the square were removed.", removed), { count: removed });
    }
  });
}
describeMode(pad.mode);
updateControls();

async function recognizeDrawing(image, mode) {
  live.cancel(); // the stored answer replaces any live one still to come
  busy = true;
  updateControls();
  renderResult(resultArea, { status: "pending" }, { api, detailUrl });
  statusLine.textContent = gettext("Recognising…");
  try {
    const prediction = await recognize(resultArea, await image, {
      api, detailUrl, mode, source: "draw", filename: "drawing.png", readAsNumber,
    });
    statusLine.textContent = prediction?.status === "done" ? gettext("Saved in your history.") : "";
    resultArea.scrollIntoView({ block: "nearest", behavior: "smooth" });
  } finally {
    busy = false;
    updateControls();
  }
}

// The hint "This looks like a number": the same picture read as a number (the one the hint
// read), and Number mode from now on (the strokes stay; the canvas widens).
function readAsNumber() {
  const image = pad.exportPng();
  const radio = document.getElementById("mode-number");
  radio.checked = true;
  radio.dispatchEvent(new Event("change"));
  recognizeDrawing(image, "number");
}

recognizeButton.addEventListener("click", () => recognizeDrawing(pad.exportPng(), pad.mode));
