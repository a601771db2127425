// Upload: every chosen or dropped picture is checked, previewed and sent on its own, and its
// result shows up under it as soon as it arrives.
import { format, formatNumber, gettext } from "../digitrec/i18n.js";
import { PredictionsApi } from "./api.js";
import { detailUrlFrom, recognize, renderProblem } from "./result.js";

// Pictures sent at the same time; the rest wait their turn.
const PARALLEL = 2;

const page = document.getElementById("upload-page");
const dropZone = document.getElementById("drop-zone");
const list = document.getElementById("upload-list");
const api = new PredictionsApi(page.dataset.apiUrl);
const detailUrl = detailUrlFrom(page.dataset.detailUrl);
const maxBytes = Number(page.dataset.maxBytes);

// MB of 2**20 bytes, as the server and Django's filesizeformat count them.
const megabytes = (bytes, digits) => format(gettext("%(size)s MB"), { size: formatNumber(bytes / 2 ** 20, digits) });

// Why this file cannot be sent, or "" if it can.
function problemWith(file) {
  if (file.size > maxBytes) {
    return format(gettext("This file is %(size)s; at most %(most)s is accepted."),
      { size: megabytes(file.size, 1), most: megabytes(maxBytes, 0) });
  }
  if (file.size === 0) return gettext("This file is empty.");
  // Some systems give no type at all: then the server decides.
  if (file.type && !file.type.startsWith("image/")) {
    return gettext("This file is not a picture. Choose a PNG, JPEG, GIF, BMP or WebP image.");
  }
  return "";
}

function itemFor(file) {
  const item = document.createElement("li");
  item.className = "upload-item";
  item.dataset.testid = "upload-item";

  const preview = document.createElement("img");
  preview.className = "upload-preview";
  preview.alt = format(gettext("Preview of %(name)s"), { name: file.name });
  const noPreview = () => {
    preview.removeAttribute("src");
    preview.alt = "";
    preview.classList.add("no-preview");
  };
  if (file.type.startsWith("image/") && file.size <= maxBytes) {
    preview.src = URL.createObjectURL(file);
    preview.addEventListener("load", () => URL.revokeObjectURL(preview.src), { once: true });
    preview.addEventListener("error", () => {
      URL.revokeObjectURL(preview.src);
      noPreview();
    }, { once: true });
  } else {
    noPreview();
  }

  const body = document.createElement("div");
  const name = document.createElement("div");
  name.className = "fw-semibold text-break mb-2";
  name.textContent = file.name;
  name.dataset.testid = "upload-name";
  const result = document.createElement("div");
  body.append(name, result);
  item.append(preview, body);
  return { item, result };
}

const queue = [];
let running = 0;

function pump() {
  while (running < PARALLEL && queue.length) {
    const job = queue.shift();
    running += 1;
    job().finally(() => {
      running -= 1;
      pump();
    });
  }
}

function add(files) {
  // The mode at the time of choosing applies to these files.
  const mode = document.querySelector('input[name="mode"]:checked').value;
  const batch = document.createDocumentFragment();
  for (const file of files) {
    const { item, result } = itemFor(file);
    batch.append(item);
    const problem = problemWith(file);
    if (problem) {
      renderProblem(result, problem);
      continue;
    }
    result.textContent = gettext("Waiting…");
    // The hint "This looks like a number" sends the same picture again in Number mode, which
    // then stays chosen for the next pictures.
    const readAsNumber = () => {
      document.getElementById("mode-number").checked = true;
      return recognize(result, file, { api, detailUrl, mode: "number", source: "upload", filename: file.name });
    };
    queue.push(() => recognize(result, file, { api, detailUrl, mode, source: "upload", filename: file.name,
      readAsNumber }));
  }
  list.prepend(batch); // the newest pictures on top, in the order they were chosen
  pump();
}

// The file picker, and the phone's camera.
for (const input of [document.getElementById("upload-input"), document.getElementById("camera-input")]) {
  input.addEventListener("change", () => {
    add(input.files);
    input.value = ""; // choosing the same file again must send it again
  });
}

for (const type of ["dragenter", "dragover"]) {
  dropZone.addEventListener(type, (event) => {
    event.preventDefault();
    dropZone.classList.add("is-dragover");
  });
}
for (const type of ["dragleave", "drop"]) {
  dropZone.addEventListener(type, () => dropZone.classList.remove("is-dragover"));
}
dropZone.addEventListener("drop", (event) => {
  event.preventDefault();
  add(event.dataTransfer.files);
});
