/* Small helpers shared by the staff pages (loaded before them, deferred). */
(function () {
  "use strict";
  window.RMU = {
    $: (sel) => document.querySelector(sel),
    // the page's catalog: T(id, {n: 3}) fills {n}
    translator: (catalog) => (id, values) => {
      let s = catalog[id] || id;
      for (const [k, v] of Object.entries(values || {})) s = s.replace("{" + k + "}", v);
      return s;
    },
    esc: (s) => String(s == null ? "" : s).replace(/[&<>"']/g, (c) => (
      { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c])),
    // colours of a design's kinds of feature, the same on every page that draws a draft
    KIND_COLOURS: { zone: "#7048e8", green: "#2f9e44", plant: "#2b8a3e", path: "#e67700",
      facility: "#1971c2", keep: "#868e96" },
    csrf: () => (document.cookie.match(/(?:^|; )rm_csrf=([^;]*)/) || [])[1] || "",
  };
})();
