// "Copy" buttons copy the value of the input named by data-copy-target.
import { gettext } from "../digitrec/i18n.js";

for (const button of document.querySelectorAll("[data-copy-target]")) {
  button.addEventListener("click", async () => {
    const input = document.getElementById(button.dataset.copyTarget);
    const label = button.textContent;
    try {
      await navigator.clipboard.writeText(input.value);
      button.textContent = gettext("Copied");
    } catch {
      // The clipboard API needs HTTPS (or localhost): select the text for a manual copy.
      input.select();
      button.textContent = gettext("Press Ctrl+C");
    }
    setTimeout(() => { button.textContent = label; }, 2000);
  });
}
