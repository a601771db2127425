// A page's answer (mode "page"): its lines top to bottom, each with its confidence, and the
// image with each line's box and its digits' boxes in a colour of the line's own (the
// .line-N classes of recognition.css, as the detail page has them).
import { gettext } from "../digitrec/i18n.js";
import { digitBox, el, leftOutBox, percent, placeBoxes } from "./dom.js";

const LINE_COLOURS = 6;
const colour = (index) => `line-${index % LINE_COLOURS}`;

export function pageLines(prediction) {
  return el("ol", { class: "page-lines list-group list-group-numbered mb-3", "data-testid": "result-lines" },
    ...prediction.lines.map((line, index) => el("li", {
      class: "list-group-item d-flex justify-content-between align-items-center", "data-testid": "result-line",
    }, el("span", { class: `result-answer ms-2 me-auto ${colour(index)}`, "data-testid": "result-line-number",
      text: line.number }), el("span", { class: "small text-body-secondary", text: percent(line.confidence) }))));
}

export function pageImage(prediction, image) {
  const frame = el("div", { class: "boxed-image page-image" },
    el("img", { src: prediction.image_url ?? image,
      alt: gettext("The submitted page, with a box around each line found") }));
  prediction.lines.forEach((line, index) => {
    frame.append(el("div", { class: `digit-box line-box ${colour(index)}`, "data-box": line.box.join(","),
      hidden: true, "data-testid": "result-line-box" },
    el("span", { class: "digit-box-label", text: String(index + 1) })));
    for (const digit of line.digits) frame.append(digitBox(digit, colour(index)));
  });
  for (const box of prediction.left_out ?? []) {
    frame.append(leftOutBox(box));
  }
  placeBoxes(frame);
  return frame;
}
