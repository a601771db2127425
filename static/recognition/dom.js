// Building elements from data: everything from the server goes in as text, never as HTML.
import { formatNumber, gettext } from "../digitrec/i18n.js";

export function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === null || value === undefined || value === false) continue;
    if (name === "class") node.className = value;
    else if (name === "text") node.textContent = value;
    else node.setAttribute(name, value === true ? "" : value);
  }
  node.append(...children.filter((child) => child !== null && child !== undefined));
  return node;
}

export function percent(value) {
  return `${formatNumber(value * 100, 1)}%`;
}

// The box over a digit read in the image (placed by placeBoxes), labelled with the digit;
// a mark that may be no digit at all (digit.doubtful) is marked so.
export function digitBox(digit, extraClass = "") {
  return el("div", { class: `digit-box ${extraClass}${digit.doubtful ? " doubtful" : ""}`.trim(),
    "data-box": digit.box.join(","), hidden: true,
    title: digit.doubtful ? gettext("Maybe not a digit: check it") : null },
  el("span", { class: "digit-box-label", text: digit.doubtful ? `${digit.digit}?` : String(digit.digit) }));
}

// The box over a mark read as no digit and left out of the number (x, y, w, h in image pixels).
export function leftOutBox(box) {
  return el("div", { class: "digit-box left-out", "data-box": box.join(","), "data-testid": "left-out-box",
    hidden: true, title: gettext("Not a digit: left out") }, el("span", { class: "digit-box-label", text: "?" }));
}

// Place each .digit-box (data-box="x,y,w,h" in image pixels) over its image, in percent of
// the image's natural size, so the boxes follow the image as it scales.
export function placeBoxes(container) {
  const image = container.querySelector("img");
  const place = () => {
    if (!image.naturalWidth) return;
    for (const box of container.querySelectorAll(".digit-box")) {
      const [x, y, w, h] = box.dataset.box.split(",").map(Number);
      Object.assign(box.style, {
        left: `${(100 * x) / image.naturalWidth}%`,
        top: `${(100 * y) / image.naturalHeight}%`,
        width: `${(100 * w) / image.naturalWidth}%`,
        height: `${(100 * h) / image.naturalHeight}%`,
      });
      box.hidden = false;
    }
  };
  if (image.complete) place();
  else image.addEventListener("load", place, { once: true });
}
