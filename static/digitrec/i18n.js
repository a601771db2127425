// The page's language for scripts: Django's JavaScript catalog (jsi18n/, a classic script that
// base.html loads before the modules) defines gettext and ngettext; without it, English.
export const gettext = window.gettext ?? ((text) => text);
export const ngettext = window.ngettext ?? ((singular, plural, count) => (count === 1 ? singular : plural));

// "%(name)s" placeholders, as in the Python messages: format(gettext("Read as %(digit)s"), { digit }).
export function format(text, values) {
  return text.replace(/%\((\w+)\)s/g, (match, name) => (name in values ? String(values[name]) : match));
}

// A number in the page's language (grouping and decimal mark), always in the digits 0-9:
// the recognised digits are Western Arabic in every language.
export function formatNumber(value, digits) {
  return value.toLocaleString(document.documentElement.lang || undefined,
    { minimumFractionDigits: digits, maximumFractionDigits: digits, numberingSystem: "latn" });
}
