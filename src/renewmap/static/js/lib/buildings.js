/* The buildings' table of the setup and boundaries pages: each building as residents name it,
   its number (7 or 7号楼), households and (on the setup page) stairwells, saved row by row;
   tapping one zooms the map to it. */
import { call, errorText } from "./api.js";
import { bdi, fill, h } from "./dom.js";

/** A button doing ``action``, its label as text. */
export function linkButton(label, action) {
  const b = h("button", { type: "button", class: "rm-link" }, label);
  b.addEventListener("click", action);
  return b;
}

/** What a person typed for the stairwells: a count ("3": 1单元…3单元) or their numbers
    ("1 2 东单元", commas too); null when empty. */
export function parseStairwells(text) {
  const t = text.trim();
  if (!t) return null;
  if (/^\d+$/.test(t)) return Number(t);
  return t.split(/[\s,，、]+/).filter(Boolean);
}

/** Fill ``tbody`` with the community's buildings; returns a function that reloads them.
    ``send(method, url, body)`` writes with the staff CSRF token; ``zoomTo(feature)`` shows one;
    ``stairwells``: a column for them too. */
export function buildingsTable({ community, tbody, error, T, send, zoomTo, locale, stairwells = false }) {
  const url = `/api/staff/communities/${encodeURIComponent(community)}/buildings`;

  function row(b) {
    const number = h("input", { value: b.number || "", maxlength: "32", size: "6", "aria-label": T("Building number") });
    const households = h("input", { type: "number", min: "0", max: "100000", value: b.households ?? "",
      "aria-label": T("Households") });
    const units = () => (b.stairwells || []).map((w) => w.number).join(" ");
    const wells = h("input", { value: units(), maxlength: "400", size: "12", class: "rm-stairwells",
      placeholder: T("3, or 1单元 2单元"), "aria-label": T("Stairwells") });
    const state = h("span", { role: "status", class: "rm-meta" });
    let ref = b.ref;
    const save = linkButton(T("Save"), async () => {
      const body = {};
      if (number.value.trim() && number.value.trim() !== (b.number || "")) body.number = number.value.trim();
      if (households.value !== "") body.households = Number(households.value);
      if (stairwells && wells.value.trim() !== units()) body.stairwells = parseStairwells(wells.value) ?? 0;
      const r = await send("PATCH", `${url}/${encodeURIComponent(ref)}`, body);
      if (!r.ok) { state.textContent = errorText(r, T); return; }
      b = r.data;
      ref = b.ref;
      number.value = b.number || "";
      wells.value = units();
      state.textContent = T("Saved");
    });
    const point = { type: "Feature", properties: {}, geometry: { type: "Point", coordinates: b.point } };
    return h("tr", {},
      h("td", {}, linkButton(bdi(b.label), () => zoomTo(point))),
      h("td", {}, number), h("td", {}, households), stairwells ? h("td", {}, wells) : null,
      h("td", {}, b.grid || "—"), h("td", {}, save, state));
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
