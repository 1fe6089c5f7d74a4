// ESLint for the app's own ES modules (src/renewmap/static/js). Vendored libraries
// (static/vendor) are not ours to lint. Beyond the recommended rules, the rules that keep the
// pages from being turned against their readers: text goes into the page only as text.
import js from "@eslint/js";
import globals from "globals";

const HTML_SINKS = "Use textContent, h() or fill() from lib/dom.js: text goes into the page only as text.";

export default [
  { ignores: ["src/renewmap/static/vendor/**"] },
  js.configs.recommended,
  {
    files: ["src/renewmap/static/js/**/*.js"],
    languageOptions: {
      ecmaVersion: 2022,
      sourceType: "module",
      globals: { ...globals.browser, L: "readonly" },
    },
    rules: {
      "no-eval": "error",
      "no-implied-eval": "error",
      "no-new-func": "error",
      "no-script-url": "error",
      "no-var": "error",
      "prefer-const": "error",
      eqeqeq: ["error", "always", { null: "ignore" }],
      "no-restricted-properties": [
        "error",
        { property: "innerHTML", message: HTML_SINKS },
        { property: "outerHTML", message: HTML_SINKS },
        { property: "insertAdjacentHTML", message: HTML_SINKS },
        { property: "srcdoc", message: HTML_SINKS },
        { property: "createContextualFragment", message: HTML_SINKS },
        { object: "document", property: "write", message: HTML_SINKS },
        { object: "document", property: "writeln", message: HTML_SINKS },
      ],
      "no-restricted-syntax": [
        "error",
        {
          selector: "TemplateElement[value.raw=/<[a-zA-Z!\\/]/]",
          message: `No HTML in template literals. ${HTML_SINKS}`,
        },
        {
          selector: "Literal[value=/<[a-zA-Z!\\/][^>]*>/]",
          message: `No HTML in strings. ${HTML_SINKS}`,
        },
        {
          selector:
            "CallExpression[callee.property.name=/^(bindTooltip|bindPopup|setContent|setTooltipContent|setPopupContent)$/] > :matches(Literal, TemplateLiteral, BinaryExpression).arguments:first-child",
          message: "Leaflet inserts a string as HTML: pass a DOM node (or a function returning one).",
        },
        {
          selector: "Property[key.name='html'] > :matches(Literal, TemplateLiteral, BinaryExpression).value",
          message: "Leaflet inserts a string as HTML: give divIcon an element built with h().",
        },
        {
          selector: "CallExpression[callee.name='T'] > :not(Literal).arguments:first-child",
          message: "T() takes a literal msgid (the server sends a page only the words its scripts name); labels chosen by data travel in the page's config.",
        },
        {
          selector: "AssignmentExpression > MemberExpression.left[object.name='window']",
          message: "No globals: share code by import, read the page's config with readConfig().",
        },
      ],
    },
  },
];
