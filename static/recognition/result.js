// Shows a prediction as the API returns it: the answer, its confidence, ten probability
// bars and the 28x28 image the model saw for each digit, the boxes over the submitted
// image, a link to the detail page and correct / wrong feedback; when the model is not
// sure, its alternatives as buttons; when one digit was asked for and the image holds a
// number, an offer to read it as one; a page's lines (page_result.js). Shared by the draw
// and upload pages. Everything from the server goes in as text, never as HTML.
import { format, gettext, ngettext } from "../digitrec/i18n.js";
import { digitBox, el, leftOutBox, percent, placeBoxes } from "./dom.js";
import { pageImage, pageLines } from "./page_result.js";

export { placeBoxes };

// A bar's value printed under it, so phones (no hover) can read it: whole percent.
function shortPercent(value) {
  const p = value * 100;
  if (p >= 99.5) return "100";
  if (p >= 1) return String(Math.round(p));
  return p >= 0.05 ? "<1" : "0";
}

function probabilityChart(digit) {
  const description = digit.probabilities.map((p, index) => `${index}: ${percent(p)}`).join(", ");
  const chart = el("div", { class: "prob-chart", role: "img", "aria-label": `${gettext("Probabilities:")} ${description}`,
    "data-testid": "prob-chart" });
  digit.probabilities.forEach((p, index) => {
    const fill = el("div", { class: "prob-fill" });
    fill.style.height = `${Math.round(p * 100)}%`;
    chart.append(el("div", {
      class: index === digit.digit ? "prob prob-top" : "prob", title: `${index}: ${percent(p)}`,
      "data-testid": "prob-bar",
    }, el("div", { class: "prob-track" }, fill), el("span", { class: "prob-label", text: String(index) }),
    el("span", { class: "prob-value", "aria-hidden": "true", "data-testid": "prob-value", text: shortPercent(p) })));
  });
  return chart;
}

function digitCard(digit, index, count) {
  const alt = count > 1
    ? format(gettext("Digit %(n)s as the model saw it, 28 by 28 pixels"), { n: index + 1 })
    : gettext("The digit as the model saw it, 28 by 28 pixels");
  // "Read as <strong>7</strong>, 99.1%": the words around the digit come from the translation.
  const [before, after] = gettext("Read as %(digit)s, %(confidence)s").split("%(digit)s");
  return el("figure", { class: "digit-card", "data-testid": "digit-card" },
    el("img", { class: "model-input", src: digit.input_url, width: 84, height: 84, alt }),
    probabilityChart(digit),
    el("figcaption", {}, before, el("strong", { text: String(digit.digit) }),
      format(after ?? "", { confidence: percent(digit.confidence) }),
      digit.doubtful ? el("span", { class: "d-block small text-warning-emphasis", "data-testid": "digit-doubtful",
        text: gettext("Maybe not a digit: check it") }) : null));
}

function boxedImage(prediction, image) {
  const frame = el("div", { class: "boxed-image" },
    el("img", { src: prediction.image_url ?? image, alt: gettext("The submitted image, with a box around each digit found") }));
  for (const digit of prediction.digits) frame.append(digitBox(digit));
  for (const box of prediction.left_out ?? []) { // marks read as no digit, left out of the number
    frame.append(leftOutBox(box));
  }
  placeBoxes(frame);
  return frame;
}

function feedbackControls(prediction, api) {
  // A label is digits only: a page's lines run together.
  const answer = (prediction.number ?? String(prediction.digit)).replaceAll("\n", "");
  const page = prediction.mode === "page";
  const status = el("span", { class: "small", role: "status", "data-testid": "feedback-status" });
  const showStatus = (text, ok = true) => {
    status.textContent = text;
    status.className = ok ? "small text-success" : "small text-danger";
  };
  if (prediction.feedback_label) showStatus(format(gettext("You said: %(label)s"), { label: prediction.feedback_label }));

  const correct = el("button", { type: "button", class: "btn btn-sm btn-outline-success",
    "data-testid": "feedback-correct", text: gettext("Correct") });
  const wrong = el("button", { type: "button", class: "btn btn-sm btn-outline-danger",
    "data-testid": "feedback-wrong", text: gettext("Wrong") });

  const inputId = `label-${prediction.id}`;
  const input = el("input", { id: inputId, class: "form-control form-control-sm", inputmode: "numeric",
    autocomplete: "off", pattern: prediction.mode === "digit" ? "[0-9]" : page ? null : "[0-9]+",
    maxlength: prediction.mode === "digit" ? 1 : page ? null : 64, required: true, "data-testid": "feedback-label" });
  // Not d-flex on the form itself: Bootstrap's !important display would beat [hidden].
  const form = el("form", { class: "feedback-form", hidden: true, novalidate: true }, el("div",
    { class: "d-flex flex-wrap align-items-center gap-2" },
    el("label", { class: "small", for: inputId, text: prediction.mode === "digit" ? gettext("The right digit:")
      : page ? gettext("The right digits, line after line:") : gettext("The right number:") }),
    el("div", { style: "width: 8rem" }, input),
    el("button", { type: "submit", class: "btn btn-sm btn-primary", "data-testid": "feedback-save", text: gettext("Save") })));

  const send = async (label) => {
    correct.disabled = wrong.disabled = true;
    try {
      const updated = await api.feedback(prediction.id, label);
      form.hidden = true;
      showStatus(updated.feedback_label === answer ? gettext("Thank you: marked as correct.")
        : format(gettext("Thank you: recorded %(label)s as the right answer."), { label: updated.feedback_label }));
    } catch (error) {
      showStatus(error.message, false);
    } finally {
      correct.disabled = wrong.disabled = false;
    }
  };
  correct.addEventListener("click", () => send(answer));
  wrong.addEventListener("click", () => {
    form.hidden = false;
    input.focus();
  });
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const label = page ? input.value.replace(/\s+/g, "") : input.value.trim();
    if (!/^[0-9]+$/.test(label) || (prediction.mode === "digit" && label.length !== 1)) {
      showStatus(prediction.mode === "digit" ? gettext("Enter one digit, 0-9.") : gettext("Enter digits only."), false);
      return;
    }
    send(label);
  });

  return el("div", { class: "d-flex flex-column gap-2" },
    el("div", { class: "d-flex flex-wrap align-items-center gap-2" },
      el("span", { class: "small", text: gettext("Was it right?") }), correct, wrong, status),
    form);
}

// The answers to offer when the model is not sure: a digit's top alternatives (at least two,
// a third if it is not negligible); for a number, the answer with its least sure digit
// replaced by that digit's alternatives.
const ALTERNATIVE_FLOOR = 0.05;

function choicesFor(prediction) {
  const digits = prediction.digits;
  const weakest = digits.reduce((low, d, i) => (d.confidence < digits[low].confidence ? i : low), 0);
  const options = digits[weakest].alternatives.filter((a, k) => k < 2 || a.probability >= ALTERNATIVE_FLOOR);
  return options.map((a) => digits.map((d, i) => (i === weakest ? a.digit : d.digit)).join(""));
}

// "Not sure: 4 or 9?", each a button that records that answer as feedback.
function notSureControls(prediction, api) {
  const choices = choicesFor(prediction);
  const words = format(gettext("%(some)s or %(last)s"),
    { some: choices.slice(0, -1).join(", "), last: choices[choices.length - 1] });
  const status = el("span", { class: "small", role: "status", "data-testid": "not-sure-status" });
  const buttons = choices.map((choice) => el("button", { type: "button", class: "btn btn-sm btn-outline-primary",
    "data-testid": "not-sure-choice", "data-choice": choice, text: choice }));
  buttons.forEach((button, index) => button.addEventListener("click", async () => {
    buttons.forEach((b) => { b.disabled = true; });
    try {
      await api.feedback(prediction.id, choices[index]);
      buttons.forEach((b) => b.classList.toggle("active", b === button));
      status.textContent = format(gettext("Thank you: recorded %(label)s as the right answer."), { label: choices[index] });
      status.className = "small text-success";
    } catch (error) {
      status.textContent = error.message;
      status.className = "small text-danger";
    } finally {
      buttons.forEach((b) => { b.disabled = false; });
    }
  }));
  return el("div", { class: "alert alert-info d-flex flex-wrap align-items-center gap-2 mb-3",
    "data-testid": "not-sure" },
  el("strong", { "data-testid": "not-sure-text", text: format(gettext("Not sure: %(choices)s?"), { choices: words }) }),
  el("span", { class: "small", text: gettext("Which is it?") }), ...buttons, status);
}

// "This looks like a number: 90210", with a button to read it in Number mode.
function hintControls(prediction, readAsNumber) {
  const hint = prediction.hint;
  const button = readAsNumber ? el("button", { type: "button", class: "btn btn-sm btn-primary",
    "data-testid": "hint-read-as-number", text: gettext("Read it as a number") }) : null;
  button?.addEventListener("click", () => readAsNumber(hint.number));
  return el("div", { class: "alert alert-info d-flex flex-wrap align-items-center gap-2 mb-3",
    "data-testid": "hint" }, el("span", { "data-testid": "hint-text", text: hint.message }), button);
}

// Replace the content of `container` with `prediction` (finished or pending).
// options: api (PredictionsApi, for feedback), detailUrl (id => URL of the detail page).
// A preview (no id: nothing was stored) gets `note` in place of the feedback and the link,
// and shows `image` (the drawing it read) in place of the stored one. readAsNumber
// (optional) is called when the person asks to read the image as a number.
export function renderResult(container, prediction, { api, detailUrl, note = "", image = null, readAsNumber }) {
  const stored = Boolean(prediction.id);
  const link = () => (stored ? el("a", { href: detailUrl(prediction.id), "data-testid": "result-detail-link",
    text: gettext("Details and history") }) : el("span", { class: "small text-body-secondary", "data-testid": "result-note",
    text: note }));
  container.replaceChildren();
  container.dataset.status = prediction.status;
  container.classList.remove("is-stale");

  if (prediction.status === "pending") {
    container.append(el("div", { class: "result d-flex align-items-center gap-2", "data-testid": "result" },
      el("span", { class: "spinner-border spinner-border-sm", "aria-hidden": "true" }),
      el("span", { text: gettext("Recognising…") })));
    return;
  }
  if (prediction.status === "failed") {
    const noDigit = ["no_digit", "not_a_digit"].includes(prediction.error_code);
    container.append(el("div", { class: "result", "data-testid": "result" },
      el("div", { class: `alert ${noDigit ? "alert-secondary" : "alert-warning"} mb-2`, role: "alert",
        "data-testid": "result-error", "data-error-code": prediction.error_code,
        text: prediction.error || gettext("This image could not be recognised.") }),
      prediction.hint ? hintControls(prediction, readAsNumber) : null,
      link()));
    return;
  }

  const answer = prediction.number ?? String(prediction.digit);
  const count = prediction.digits.length;
  const page = prediction.mode === "page";
  container.append(el("div", { class: "result", "data-testid": "result" },
    el("div", { class: "result-summary mb-3" },
      el("div", {},
        el("div", { class: "small text-body-secondary",
          text: page ? format(ngettext("%(count)s line", "%(count)s lines", prediction.lines.length),
            { count: prediction.lines.length }) : count > 1 ? gettext("Number") : gettext("Digit") }),
        page ? pageLines(prediction)
          : el("output", { class: "result-answer", "data-testid": "result-digit", text: answer })),
      el("div", {},
        el("div", { class: "small text-body-secondary",
          text: page ? gettext("Confidence, all lines") : gettext("Confidence") }),
        el("span", { class: "fs-4", "data-testid": "result-confidence", text: percent(prediction.confidence) })),
      page ? pageImage(prediction, image) : prediction.mode === "number" ? boxedImage(prediction, image) : null),
    prediction.hint ? hintControls(prediction, readAsNumber) : null,
    // The buttons record feedback on a stored prediction; a live preview has none. A page's
    // choices would be whole pages: its lines' confidences say where to look instead.
    prediction.not_sure && stored && !page ? notSureControls(prediction, api) : null,
    el("div", { class: "small text-body-secondary mb-1",
      text: count > 1 ? gettext("What the model saw for each digit, and how sure it was of each answer:")
        : gettext("What the model saw, and how sure it was of each answer:") }),
    el("div", { class: "digit-cards mb-3" }, ...prediction.digits.map((d, i) => digitCard(d, i, count))),
    stored ? feedbackControls(prediction, api) : null,
    el("p", { class: stored ? "mt-3 mb-0" : "mb-0" }, link())));
}

// The drawing changed since this answer: grey it out and say so, until a new one comes.
export function markStale(container) {
  if (!container.querySelector('[data-testid="result"]') || container.classList.contains("is-stale")) return;
  container.classList.add("is-stale");
  container.prepend(el("p", { class: "stale-note small mb-2", "data-testid": "result-stale",
    text: gettext("Out of date: the drawing has changed.") }));
}

// No answer to show (the canvas was cleared): put `placeholder` back, or nothing.
export function clearResult(container, placeholder = null) {
  container.replaceChildren(...(placeholder ? [placeholder.cloneNode(true)] : []));
  container.classList.remove("is-stale");
  delete container.dataset.status;
}

// A failure that never became a prediction (a refused file, a lost connection).
export function renderProblem(container, message) {
  container.replaceChildren(el("div", { class: "alert alert-danger mb-0", role: "alert",
    "data-testid": "result-error", text: message }));
  container.dataset.status = "error";
}

// Submit an image and show the result in `container` as it arrives.
export async function recognize(container, image, { api, detailUrl, mode, source, filename, readAsNumber }) {
  renderResult(container, { status: "pending" }, { api, detailUrl });
  try {
    let prediction = await api.create(image, { mode, source, filename });
    renderResult(container, prediction, { api, detailUrl, readAsNumber });
    prediction = await api.finish(prediction);
    renderResult(container, prediction, { api, detailUrl, readAsNumber });
    return prediction;
  } catch (error) {
    renderProblem(container, error.message);
    return null;
  }
}

// "/history/00000000-0000-0000-0000-000000000000/" -> id => "/history/<id>/".
export function detailUrlFrom(template) {
  return (id) => template.replace("00000000-0000-0000-0000-000000000000", id);
}
