/* The buildings' table of the setup and boundaries pages: each building as residents name it,
   its number (7 or 7号楼) and households, saved row by row; tapping one zooms the map to it. */
import { call, errorText } from "./api.js";
import { bdi, fill, h } from "./dom.js";

/** A button doing ``action``, its label as text. */
export function linkButton(label, action) {
  const b = h("button", { type: "button", class: "rm-link" }, label);
  b.addEventListener("click", action);
  return b;
}

/** Fill ``tbody`` with the community's buildings; returns a function that reloads them.
    ``send(method, url, body)`` writes with the staff CSRF token; ``zoomTo(feature)`` shows one. */
export function buildingsTable({ community, tbody, error, T, send, zoomTo, locale }) {
  const url = `/api/staff/communities/${encodeURIComponent(community)}/buildings`;

  function row(b) {
    const number = h("input", { value: b.number || "", maxlength: "32", size: "6", "aria-label": T("Building number") });
    const households = h("input", { type: "number", min: "0", max: "100000", value: b.households ?? "",
      "aria-label": T("Households") });
    const state = h("span", { role: "status", class: "rm-meta" });
    let ref = b.ref;
    const save = linkButton(T("Save"), async () => {
      const body = {};
      if (number.value.trim() && number.value.trim() !== (b.number || "")) body.number = number.value.trim();
      if (households.value !== "") body.households = Number(households.value);
      const r = await send("PATCH", `${url}/${encodeURIComponent(ref)}`, body);
      if (!r.ok) { state.textContent = errorText(r, T); return; }
      b = r.data;
      ref = b.ref;
      state.textContent = T("Saved");
    });
    const point = { type: "Feature", properties: {}, geometry: { type: "Point", coordinates: b.point } };
    return h("tr", {},
      h("td", {}, linkButton(bdi(b.label), () => zoomTo(point))),
      h("td", {}, number), h("td", {}, households), h("td", {}, b.grid || "—"), h("td", {}, save, state));
  }

  async function load() {
    const r = await call("GET", url, { language: locale });
    if (!r.ok) { error.textContent = errorText(r, T); return []; }
    error.textContent = "";
    fill(tbody, ...r.data.map(row));
    return r.data;
  }
  load();
  return load;
}
