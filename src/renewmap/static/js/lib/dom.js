/* DOM helpers for every page. Text goes into the page only as text: element children given
   as strings become text nodes, attributes are set one by one (never inline handlers or
   styles), URLs are checked for a safe scheme. No HTML is ever parsed from a string. */

export const $ = (selector, root = document) => root.querySelector(selector);
export const $$ = (selector, root = document) => [...root.querySelectorAll(selector)];

const URL_ATTRIBUTES = new Set(["href", "src", "action", "formaction", "poster"]);
const SAFE_SCHEMES = new Set(["http:", "https:", "tel:", "mailto:", "blob:"]);

/** ``value`` if it is a link of a harmless kind (http(s), tel:, our own paths), else "#". */
export function safeUrl(value) {
  const text = String(value);
  try {
    return SAFE_SCHEMES.has(new URL(text, document.baseURI).protocol) ? text : "#";
  } catch {
    return "#";
  }
}

/** Children (strings, numbers, nodes, nested arrays; null/false skipped) appended as text. */
export function append(parent, ...children) {
  for (const child of children.flat(Infinity)) {
    if (child == null || child === false) continue;
    parent.append(child instanceof Node ? child : String(child));
  }
  return parent;
}

/** Replace everything inside ``parent`` with ``children`` (as text). */
export function fill(parent, ...children) {
  parent.replaceChildren();
  return append(parent, ...children);
}

/** A new element: ``h("li", { class: "x", dataset: { id: 3 } }, "text", h("b", {}, name))``. */
export function h(tag, attributes, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attributes || {})) {
    if (value == null || value === false) continue;
    if (/^on/i.test(key) || key === "style" || key === "srcdoc") {
      throw new Error(`h(): attribute ${key} is not allowed`);
    }
    if (key === "class") el.className = String(value);
    else if (key === "dataset") for (const [k, v] of Object.entries(value)) el.dataset[k] = String(v);
    else if (URL_ATTRIBUTES.has(key)) el.setAttribute(key, safeUrl(value));
    else el.setAttribute(key, value === true ? "" : String(value));
  }
  return append(el, children);
}

/** Text from a person or a file, isolated: a right-to-left override inside it cannot turn
    the text around it. */
export function bdi(text) {
  return h("bdi", {}, text);
}

/** ``parts`` (text or nodes) with `` · `` between them. */
export function dotted(parts) {
  return parts.filter((p) => p != null && p !== "").flatMap((p, i) => (i ? [" · ", p] : [p]));
}

/** A small table of a feature's fields that have a value (for tooltips and popups), or null. */
export function fieldsTable(properties, fields, labels) {
  const rows = fields
    .filter((key) => properties[key] != null && properties[key] !== "")
    .map((key) => h("tr", {}, h("th", {}, labels[key] || key), h("td", {}, bdi(properties[key]))));
  return rows.length ? h("table", { class: "rm-fields" }, rows) : null;
}

/** The page's configuration: the JSON block the server wrote with the page. */
export function readConfig(id = "rm-config") {
  return JSON.parse(document.getElementById(id).textContent);
}
