// Live answers: the drawing is read a moment after each change, through the preview
// endpoint (POST /api/v1/recognize/), which stores nothing. Only the newest drawing's
// answer is shown: a newer change cancels the request in flight and drops its answer.
import { format, gettext } from "../digitrec/i18n.js";
import { ApiError } from "./api.js";

// Long enough to let a quick second stroke (the bar of a 4, the dot of a 7) join the
// first, short enough to feel immediate.
const DEBOUNCE_MS = 180;

function csrfToken() {
  return document.querySelector('meta[name="csrf-token"]')?.content ?? "";
}

export class LiveAnswer {
  // url: the preview endpoint; read(): {image (data URL), mode}, or null when there is
  // nothing to read; show(answer, drawing) and fail(error) put the answer on the page.
  constructor(url, { read, show, fail = () => {} }) {
    Object.assign(this, { url, read, show, fail });
    this.timer = null;
    this.inFlight = null;
    this.generation = 0;
  }

  // The drawing changed: read it again soon.
  schedule() {
    this.cancel();
    const generation = this.generation;
    this.timer = setTimeout(() => this._send(generation), DEBOUNCE_MS);
  }

  // Forget any answer still to come (the drawing changed, was cleared, or was saved).
  cancel() {
    this.generation += 1;
    clearTimeout(this.timer);
    this.inFlight?.abort();
    this.inFlight = null;
  }

  async _send(generation) {
    const drawing = this.read();
    if (!drawing) return;
    const controller = new AbortController();
    this.inFlight = controller;
    let answer;
    try {
      const response = await fetch(this.url, {
        method: "POST",
        credentials: "same-origin",
        signal: controller.signal,
        headers: { "Content-Type": "application/json", Accept: "application/json", "X-CSRFToken": csrfToken() },
        body: JSON.stringify(drawing),
      });
      const body = await response.json().catch(() => null);
      if (!response.ok) {
        throw new ApiError(body?.error?.message
          || format(gettext("The request failed (HTTP %(status)s)."), { status: response.status }),
          { status: response.status, code: body?.error?.code ?? "error" });
      }
      answer = body;
    } catch (error) {
      if (generation === this.generation && error.name !== "AbortError") this.fail(error);
      return;
    } finally {
      if (this.inFlight === controller) this.inFlight = null;
    }
    if (generation === this.generation) this.show(answer, drawing);
  }
}
