// A drawing canvas for mouse, touch and pen (Pointer Events) with a stroke history for
// undo: the draw page's and the home page's try-it canvas.
//
// Strokes are kept in the drawing's own coordinates (280 high, or as high as a page;
// 280 wide for a digit, wider for a number or a page), whatever size the canvas is
// shown at. The canvas's pixel buffer follows its displayed size times
// devicePixelRatio, so lines stay sharp on any screen, and the exported PNG is always
// the drawing's own size.
//
// Events: "strokestart", then "change" with detail.reason "stroke", "undo", "clear" or
// "mode" whenever the drawing itself changed.

export const HEIGHT = 280;
const INK = "#111";
// Points closer than this (in drawing pixels) add nothing but work.
const MIN_STEP = 0.75;

// Pen pressure 0..1 makes the line thinner or thicker; mouse and touch report 0.5.
const widthAt = (stroke, point) => stroke.size * (0.4 + 1.2 * point.pressure);
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

// The leftmost and topmost points any part of the stroke's ink reaches.
const leftEdge = (stroke) => Math.min(...stroke.points.map((p) => p.x - widthAt(stroke, p) / 2));
const topEdge = (stroke) => Math.min(...stroke.points.map((p) => p.y - widthAt(stroke, p) / 2));

export class DrawingPad extends EventTarget {
  // widths, heights: the drawing's size per mode (HEIGHT unless given); sizeTarget: the
  // element whose --logical-width and --logical-height CSS uses to size the canvas (its
  // parent by default).
  constructor(canvas, { widths = { digit: 280 }, heights = {}, mode = "digit", hint = null, sizeTarget = null } = {}) {
    super();
    this.canvas = canvas;
    this.context = canvas.getContext("2d");
    this.widths = widths;
    this.heights = heights;
    this.hint = hint;
    this.sizeTarget = sizeTarget ?? canvas.parentElement;
    this.tool = "pen";
    this.size = 18;
    this.strokes = []; // {tool, size, points: [{x, y, pressure}]}, oldest first
    this.current = null; // the stroke being drawn, and its pointerId
    this._listen();
    new ResizeObserver(() => this.fit()).observe(canvas);
    window.addEventListener("resize", () => this.fit()); // also when zooming changes the pixel ratio
    this.setMode(mode);
  }

  get width() {
    return this.widths[this.mode];
  }

  get height() {
    return this.heights[this.mode] ?? HEIGHT;
  }

  get isEmpty() {
    return this.strokes.length === 0;
  }

  get hasInk() {
    return this.strokes.some((s) => s.tool === "pen");
  }

  // Switch the drawing's size. Strokes wholly beyond a smaller drawing would be hidden yet
  // still undoable: they are removed, and their number returned for a warning.
  setMode(mode) {
    const changed = this.mode !== undefined && mode !== this.mode;
    this.mode = mode;
    const before = this.strokes.length;
    this.strokes = this.strokes.filter((stroke) => leftEdge(stroke) < this.width && topEdge(stroke) < this.height);
    this.sizeTarget.style.setProperty("--logical-width", this.width);
    this.sizeTarget.style.setProperty("--logical-height", this.height);
    this.fit();
    if (changed) this._changed("mode");
    return before - this.strokes.length;
  }

  undo() {
    if (this.current || this.isEmpty) return;
    this.strokes.pop();
    this.redraw();
    this._changed("undo");
  }

  clear() {
    if (this.current) return;
    this.strokes = [];
    this.redraw();
    this._changed("clear");
  }

  // The drawing at its own size, dark ink on white.
  exportCanvas() {
    const ink = document.createElement("canvas");
    ink.width = this.width;
    ink.height = this.height;
    const inkContext = ink.getContext("2d");
    for (const stroke of this.strokes) paintStroke(inkContext, stroke);
    const sheet = document.createElement("canvas");
    sheet.width = ink.width;
    sheet.height = ink.height;
    const sheetContext = sheet.getContext("2d");
    sheetContext.fillStyle = "#fff";
    sheetContext.fillRect(0, 0, sheet.width, sheet.height);
    sheetContext.drawImage(ink, 0, 0);
    return sheet;
  }

  exportPng() {
    return new Promise((resolve) => this.exportCanvas().toBlob(resolve, "image/png"));
  }

  // Match the pixel buffer to the displayed size (which CSS sets from the page width).
  fit() {
    const ratio = window.devicePixelRatio || 1;
    const width = Math.max(1, Math.round(this.canvas.clientWidth * ratio));
    const height = Math.max(1, Math.round(this.canvas.clientHeight * ratio));
    if (this.canvas.width !== width || this.canvas.height !== height) {
      this.canvas.width = width; // resizing clears the canvas: redraw from the strokes
      this.canvas.height = height;
    }
    this.redraw();
  }

  redraw() {
    this.context.setTransform(1, 0, 0, 1, 0, 0);
    this.context.clearRect(0, 0, this.canvas.width, this.canvas.height);
    this._useDrawingCoordinates();
    for (const stroke of this.strokes) paintStroke(this.context, stroke);
    if (this.hint) this.hint.hidden = !this.isEmpty;
  }

  _changed(reason) {
    if (this.hint) this.hint.hidden = !this.isEmpty;
    this.dispatchEvent(new CustomEvent("change", { detail: { reason } }));
  }

  _useDrawingCoordinates() {
    this.context.setTransform(this.canvas.width / this.width, 0, 0, this.canvas.height / this.height, 0, 0);
  }

  // Where the pointer is, in drawing coordinates: the offset inside the canvas's content
  // box (the border excluded), scaled from its displayed size to the drawing's size.
  _pointFrom(event) {
    const canvas = this.canvas;
    const rect = canvas.getBoundingClientRect();
    const x = ((event.clientX - rect.left - canvas.clientLeft) * this.width) / canvas.clientWidth;
    const y = ((event.clientY - rect.top - canvas.clientTop) * this.height) / canvas.clientHeight;
    const pressure = event.pointerType === "pen" && event.pressure > 0 ? event.pressure : 0.5;
    return { x, y, pressure };
  }

  _addPoint(stroke, point) {
    const last = stroke.points[stroke.points.length - 1];
    if (Math.hypot(point.x - last.x, point.y - last.y) < MIN_STEP) return;
    stroke.points.push(point);
    const n = stroke.points.length;
    if (n >= 3) paintCurve(this.context, stroke, n - 2);
  }

  _listen() {
    const canvas = this.canvas;
    canvas.addEventListener("pointerdown", (event) => {
      // One stroke at a time: a second finger (or a palm) is ignored until the first lifts.
      if (this.current || (event.pointerType === "mouse" && event.button !== 0)) return;
      event.preventDefault();
      canvas.setPointerCapture(event.pointerId);
      // A pen's eraser end (button 5) erases whatever tool is selected.
      const tool = event.button === 5 ? "eraser" : this.tool;
      const stroke = { tool, size: this.size, points: [this._pointFrom(event)] };
      this.current = { stroke, pointerId: event.pointerId };
      this.strokes.push(stroke);
      this._useDrawingCoordinates();
      paintDot(this.context, stroke);
      if (this.hint) this.hint.hidden = true;
      this.dispatchEvent(new CustomEvent("strokestart"));
    });
    canvas.addEventListener("pointermove", (event) => {
      if (!this.current || event.pointerId !== this.current.pointerId) return;
      // Coalesced events are the points the browser merged into this one: smoother curves.
      const events = event.getCoalescedEvents?.() ?? [];
      for (const each of events.length ? events : [event]) this._addPoint(this.current.stroke, this._pointFrom(each));
    });
    const end = (event) => {
      if (!this.current || event.pointerId !== this.current.pointerId) return;
      paintTail(this.context, this.current.stroke);
      this.current = null;
      this._changed("stroke");
    };
    canvas.addEventListener("pointerup", end);
    canvas.addEventListener("pointercancel", end);
    canvas.addEventListener("lostpointercapture", end);
  }
}
