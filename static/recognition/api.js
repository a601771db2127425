// The prediction API as the pages use it: the session cookie authenticates, and the CSRF
// token comes from the page's <meta name="csrf-token"> (the CSRF cookie is HttpOnly).
import { format, gettext } from "../digitrec/i18n.js";

// How long the server may hold a new prediction before answering 202 pending.
const SERVER_WAIT_SECONDS = 3;
// After that, poll with a growing delay, and give up after this long.
const POLL_FIRST_MS = 300;
const POLL_MAX_MS = 3000;
const POLL_GIVE_UP_MS = 30000;

export class ApiError extends Error {
  constructor(message, { status = 0, code = "error" } = {}) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

function csrfToken() {
  return document.querySelector('meta[name="csrf-token"]')?.content ?? "";
}

// What went wrong, in words for a person; the server's own message when it has one.
function messageFor(status, body) {
  const message = body?.error?.message;
  switch (status) {
    case 400: return message || gettext("The server could not use this image.");
    case 401:
    case 403: return gettext("Your session has expired. Log in again in another tab, then try again here.");
    case 404: return gettext("This prediction no longer exists.");
    case 413: return message || gettext("This image is too large.");
    case 415: return message || gettext("This file is not an image we can read (PNG, JPEG, GIF, BMP or WebP).");
    case 429: return gettext("Too many requests at once. Wait a few seconds and try again.");
    case 503: return message || gettext("The service is briefly unavailable. Try again in a few seconds.");
    default:
      return status >= 500
        ? gettext("Something went wrong on the server. Please try again.")
        : message || format(gettext("The request failed (HTTP %(status)s)."), { status });
  }
}

async function call(url, { method = "GET", body = null, json = undefined } = {}) {
  const headers = { Accept: "application/json", "X-CSRFToken": csrfToken() };
  if (json !== undefined) {
    headers["Content-Type"] = "application/json";
    body = JSON.stringify(json);
  }
  let response;
  try {
    response = await fetch(url, { method, body, headers, credentials: "same-origin" });
  } catch {
    throw new ApiError(gettext("The server could not be reached. Check your connection and try again."),
      { code: "network" });
  }
  if (response.status === 204) return null;
  let data = null;
  try {
    data = await response.json();
  } catch {
    // A proxy's HTML error page, say: the status alone must do.
  }
  if (!response.ok) {
    throw new ApiError(messageFor(response.status, data),
      { status: response.status, code: data?.error?.code ?? "error" });
  }
  return data;
}

export class PredictionsApi {
  // listUrl: the collection, e.g. /api/v1/predictions/ (one prediction is listUrl + id + "/").
  constructor(listUrl) {
    this.listUrl = listUrl;
  }

  urlOf(id) {
    return `${this.listUrl}${id}/`;
  }

  // Submit an image (a Blob or File); resolves with the prediction, finished or pending.
  create(image, { mode = "digit", source = "api", filename = "image.png" } = {}) {
    const form = new FormData();
    form.append("image", image, filename);
    form.append("mode", mode);
    form.append("source", source);
    return call(`${this.listUrl}?wait=${SERVER_WAIT_SECONDS}`, { method: "POST", body: form });
  }

  get(id) {
    return call(this.urlOf(id));
  }

  // Poll a pending prediction until it is finished; rejects with code "timeout" after ~30 s.
  async finish(prediction, { signal } = {}) {
    const started = Date.now();
    let delay = POLL_FIRST_MS;
    while (prediction.status === "pending") {
      if (Date.now() - started > POLL_GIVE_UP_MS) {
        throw new ApiError(
          gettext("This is taking longer than it should. The result will appear in your history when it is ready."),
          { code: "timeout" });
      }
      await new Promise((resolve) => setTimeout(resolve, delay));
      if (signal?.aborted) throw new ApiError(gettext("Cancelled."), { code: "aborted" });
      delay = Math.min(delay * 1.5, POLL_MAX_MS);
      try {
        prediction = await this.get(prediction.id);
      } catch (error) {
        // A dropped connection or a server restart is worth another try; a 404 is not.
        const transient = error.code === "network" || error.status >= 500 || error.status === 429;
        if (!transient) throw error;
      }
    }
    return prediction;
  }

  // Record the right answer ("" clears it); resolves with the updated prediction.
  feedback(id, label) {
    return call(`${this.urlOf(id)}feedback/`, { method: "POST", json: { label } });
  }
}
