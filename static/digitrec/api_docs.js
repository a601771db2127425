// The API docs page (Swagger UI, started by drf-spectacular's script file, which defines
// `ui`): for a signed-in user, fill in their API token, read from a same-origin endpoint,
// so "Try it out" works at once.
import { gettext } from "./i18n.js";

const script = document.getElementById("docs-init");
const status = document.getElementById("docs-token-status");

async function fetchToken() {
  try {
    const response = await fetch(script.dataset.tokenUrl, { credentials: "same-origin", headers: { Accept: "application/json" } });
    return response.ok ? (await response.json()).token : null;
  } catch {
    return null;
  }
}

// drf-spectacular's script declares `const ui` at the top level: a global binding, but
// not a property of window.
function swaggerUi() {
  try {
    return ui; // eslint-disable-line no-undef
  } catch {
    return undefined;
  }
}

// Swagger UI takes a key only once the schema (and its security schemes) has loaded.
function whenSchemaLoaded(callback, tries = 100) {
  const schemes = swaggerUi()?.specSelectors?.securityDefinitions?.();
  if (schemes?.get?.("tokenAuth")) callback();
  else if (tries > 0) setTimeout(() => whenSchemaLoaded(callback, tries - 1), 100);
}

const token = await fetchToken();
if (token) {
  whenSchemaLoaded(() => {
    swaggerUi().preauthorizeApiKey("tokenAuth", `Token ${token}`);
    status.textContent = gettext("Signed in: your API token is filled in (Authorize shows it).");
  });
} else {
  const link = document.createElement("a");
  link.href = script.dataset.profileUrl;
  link.textContent = gettext("Log in to have your API token filled in.");
  status.append(link);
}
