// The detail page: boxes over the image, a confirmation before deleting, and, while the
// prediction is pending, polling until it is finished, then a reload to show it.
import { gettext } from "../digitrec/i18n.js";
import { ApiError, PredictionsApi } from "./api.js";
import { placeBoxes } from "./result.js";

const page = document.getElementById("detail-page");

for (const frame of page.querySelectorAll(".boxed-image")) placeBoxes(frame);

for (const form of page.querySelectorAll("form[data-confirm]")) {
  form.addEventListener("submit", (event) => {
    if (!window.confirm(form.dataset.confirm)) event.preventDefault();
  });
}

if (page.dataset.status === "pending") {
  const api = new PredictionsApi(page.dataset.apiUrl);
  const notice = page.querySelector('[data-testid="detail-pending"]');
  api.finish({ id: page.dataset.id, status: "pending" })
    .then(() => window.location.reload())
    .catch((error) => {
      notice.className = "alert alert-warning";
      notice.textContent = error instanceof ApiError ? error.message : gettext("Could not check on this prediction.");
    });
}
