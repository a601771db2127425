// The drawing canvas: Pointer Events for mouse, touch and pen, a stroke history for undo,
// and "Recognize", which sends the drawing to the API and shows the result.
//
// Strokes are kept in the drawing's own coordinates (280 high; 280 wide for a digit, 840
// for a number), whatever size the canvas is shown at. The canvas's pixel buffer follows
// its displayed size times devicePixelRatio, so lines stay sharp on any screen, and the
// exported PNG is always the drawing's own size.
import { PredictionsApi } from "./api.js";
import { detailUrlFrom, recognize } from "./result.js";

const HEIGHT = 280;
const WIDTHS = { digit: 280, number: 840 };
const INK = "#111";
// Points closer than this (in drawing pixels) add nothing but work.
const MIN_STEP = 0.75;

const page = document.getElementById("draw-page");
const canvas = document.getElementById("draw-canvas");
const hint = document.getElementById("canvas-hint");
const undoButton = document.getElementById("undo");
const clearButton = document.getElementById("clear");
const recognizeButton = document.getElementById("recognize");
const statusLine = document.getElementById("draw-status");
const resultArea = document.getElementById("result");
const sizeInput = document.getElementById("brush-size");
const context = canvas.getContext("2d");
const api = new PredictionsApi(page.dataset.apiUrl);
const detailUrl = detailUrlFrom(page.dataset.detailUrl);

const state = {
  mode: "digit",
  tool: "pen",
  size: Number(sizeInput.value),
  strokes: [], // {tool, size, points: [{x, y, pressure}]}, oldest first
  current: null, // the stroke being drawn, and its pointerId
  busy: false,
};

const drawingWidth = () => WIDTHS[state.mode];

// --- Painting --------------------------------------------------------------------------

function widthAt(stroke, point) {
  // Pen pressure 0..1 makes the line thinner or thicker; mouse and touch report 0.5.
  return stroke.size * (0.4 + 1.2 * point.pressure);
}

const mid = (a, b) => ({ x: (a.x + b.x) / 2, y: (a.y + b.y) / 2 });

function begin(target, stroke) {
  target.globalCompositeOperation = stroke.tool === "eraser" ? "destination-out" : "source-over";
  target.strokeStyle = INK;
  target.fillStyle = INK;
  target.lineCap = "round";
  target.lineJoin = "round";
}

// A stroke is drawn in parts as its points arrive: a dot for the first point, then one
// quadratic curve per point through the midpoints of its neighbours (smooth, no corners),
// and a straight tail to the last point when the stroke ends.
function paintDot(target, stroke) {
  const p = stroke.points[0];
  begin(target, stroke);
  target.beginPath();
  target.arc(p.x, p.y, widthAt(stroke, p) / 2, 0, 2 * Math.PI);
  target.fill();
}

function paintCurve(target, stroke, k) {
  const points = stroke.points;
  const from = k === 1 ? points[0] : mid(points[k - 1], points[k]);
  const to = mid(points[k], points[k + 1]);
  begin(target, stroke);
  target.lineWidth = widthAt(stroke, points[k]);
  target.beginPath();
  target.moveTo(from.x, from.y);
  target.quadraticCurveTo(points[k].x, points[k].y, to.x, to.y);
  target.stroke();
}

function paintTail(target, stroke) {
  const points = stroke.points;
  const n = points.length;
  if (n < 2) return;
  const from = n === 2 ? points[0] : mid(points[n - 2], points[n - 1]);
  begin(target, stroke);
  target.lineWidth = widthAt(stroke, points[n - 1]);
  target.beginPath();
  target.moveTo(from.x, from.y);
  target.lineTo(points[n - 1].x, points[n - 1].y);
  target.stroke();
}

function paintStroke(target, stroke) {
  paintDot(target, stroke);
  for (let k = 1; k < stroke.points.length - 1; k += 1) paintCurve(target, stroke, k);
  paintTail(target, stroke);
}

function useDrawingCoordinates() {
  context.setTransform(canvas.width / drawingWidth(), 0, 0, canvas.height / HEIGHT, 0, 0);
}

function redraw() {
  context.setTransform(1, 0, 0, 1, 0, 0);
  context.clearRect(0, 0, canvas.width, canvas.height);
  useDrawingCoordinates();
  for (const stroke of state.strokes) paintStroke(context, stroke);
  updateControls();
}

// Match the pixel buffer to the displayed size (which CSS sets from the page width).
function fitCanvas() {
  const ratio = window.devicePixelRatio || 1;
  const width = Math.max(1, Math.round(canvas.clientWidth * ratio));
  const height = Math.max(1, Math.round(canvas.clientHeight * ratio));
  if (canvas.width !== width || canvas.height !== height) {
    canvas.width = width; // resizing clears the canvas: redraw from the strokes
    canvas.height = height;
  }
  redraw();
}

function updateControls() {
  const empty = state.strokes.length === 0;
  undoButton.disabled = empty;
  clearButton.disabled = empty;
  recognizeButton.disabled = state.busy || !state.strokes.some((s) => s.tool === "pen");
  hint.hidden = !empty;
}

// --- Pointer input -----------------------------------------------------------------------

// Where the pointer is, in drawing coordinates: the offset inside the canvas's content box
// (the border excluded), scaled from its displayed size to the drawing's size.
function pointFrom(event) {
  const rect = canvas.getBoundingClientRect();
  const x = ((event.clientX - rect.left - canvas.clientLeft) * drawingWidth()) / canvas.clientWidth;
  const y = ((event.clientY - rect.top - canvas.clientTop) * HEIGHT) / canvas.clientHeight;
  const pressure = event.pointerType === "pen" && event.pressure > 0 ? event.pressure : 0.5;
  return { x, y, pressure };
}

function addPoint(stroke, point) {
  const last = stroke.points[stroke.points.length - 1];
  if (Math.hypot(point.x - last.x, point.y - last.y) < MIN_STEP) return;
  stroke.points.push(point);
  const n = stroke.points.length;
  if (n >= 3) paintCurve(context, stroke, n - 2);
}

canvas.addEventListener("pointerdown", (event) => {
  // One stroke at a time: a second finger (or a palm) is ignored until the first lifts.
  if (state.current || (event.pointerType === "mouse" && event.button !== 0)) return;
  event.preventDefault();
  canvas.setPointerCapture(event.pointerId);
  // A pen's eraser end (button 5) erases whatever tool is selected.
  const tool = event.button === 5 ? "eraser" : state.tool;
  const stroke = { tool, size: state.size, points: [pointFrom(event)] };
  state.current = { stroke, pointerId: event.pointerId };
  state.strokes.push(stroke);
  useDrawingCoordinates();
  paintDot(context, stroke);
  updateControls();
});

canvas.addEventListener("pointermove", (event) => {
  if (!state.current || event.pointerId !== state.current.pointerId) return;
  // Coalesced events are the points the browser merged into this one: smoother curves.
  const events = event.getCoalescedEvents?.() ?? [];
  for (const each of events.length ? events : [event]) addPoint(state.current.stroke, pointFrom(each));
});

function endStroke(event) {
  if (!state.current || event.pointerId !== state.current.pointerId) return;
  paintTail(context, state.current.stroke);
  state.current = null;
  updateControls();
}

canvas.addEventListener("pointerup", endStroke);
canvas.addEventListener("pointercancel", endStroke);
canvas.addEventListener("lostpointercapture", endStroke);

// --- Controls --------------------------------------------------------------------------------

function undo() {
  if (state.current || !state.strokes.length) return;
  state.strokes.pop();
  redraw();
}

undoButton.addEventListener("click", undo);
clearButton.addEventListener("click", () => {
  state.strokes = [];
  redraw();
});
document.addEventListener("keydown", (event) => {
  const typing = event.target.closest?.("input[type=text], input:not([type]), textarea");
  if ((event.ctrlKey || event.metaKey) && !event.shiftKey && event.key.toLowerCase() === "z" && !typing) {
    event.preventDefault();
    undo();
  }
});

sizeInput.addEventListener("input", () => {
  state.size = Number(sizeInput.value);
});

for (const radio of document.querySelectorAll('input[name="tool"]')) {
  radio.addEventListener("change", () => {
    state.tool = radio.value;
    canvas.style.cursor = radio.value === "eraser" ? "cell" : "";
  });
}

function setMode(mode) {
  state.mode = mode;
  // The drawing keeps its strokes: a digit drawn first stays at the left of a number.
  // CSS sizes the canvas, its frame and the layout from this.
  page.style.setProperty("--logical-width", drawingWidth());
  canvas.setAttribute("aria-label", mode === "number"
    ? "Drawing area: write a number here, digits left to right"
    : "Drawing area: draw one digit here");
  hint.textContent = mode === "number" ? "Write a number here, e.g. 2025" : "Draw a digit here";
  fitCanvas();
}

for (const radio of document.querySelectorAll('input[name="mode"]')) {
  radio.addEventListener("change", () => setMode(radio.value));
}

// --- Recognition ---------------------------------------------------------------------------

// The drawing at its own size, dark ink on white.
function exportPng() {
  const ink = document.createElement("canvas");
  ink.width = drawingWidth();
  ink.height = HEIGHT;
  const inkContext = ink.getContext("2d");
  for (const stroke of state.strokes) paintStroke(inkContext, stroke);
  const sheet = document.createElement("canvas");
  sheet.width = ink.width;
  sheet.height = ink.height;
  const sheetContext = sheet.getContext("2d");
  sheetContext.fillStyle = "#fff";
  sheetContext.fillRect(0, 0, sheet.width, sheet.height);
  sheetContext.drawImage(ink, 0, 0);
  return new Promise((resolve) => sheet.toBlob(resolve, "image/png"));
}

async function recognizeDrawing(image, mode) {
  state.busy = true;
  updateControls();
  statusLine.textContent = "Recognising…";
  try {
    const prediction = await recognize(resultArea, await image, {
      api, detailUrl, mode, source: "draw", filename: "drawing.png", readAsNumber,
    });
    statusLine.textContent = prediction?.status === "done" ? "Done." : "";
    resultArea.scrollIntoView({ block: "nearest", behavior: "smooth" });
  } finally {
    state.busy = false;
    updateControls();
  }
}

// The hint "This looks like a number": the same picture read as a number (the one the hint
// read), and Number mode from now on (the strokes stay; the canvas widens).
function readAsNumber() {
  const image = exportPng();
  document.getElementById("mode-number").checked = true;
  setMode("number");
  recognizeDrawing(image, "number");
}

recognizeButton.addEventListener("click", () => recognizeDrawing(exportPng(), state.mode));

new ResizeObserver(fitCanvas).observe(canvas);
window.addEventListener("resize", fitCanvas); // also fires when zooming changes the pixel ratio
setMode(document.querySelector('input[name="mode"]:checked')?.value ?? "digit");
