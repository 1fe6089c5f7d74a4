/* Residents: a household agrees to a convention's version with the code on its consultation
   form (征询单). The answer's message and the new count go in as text. */
import { call, errorText, residentCsrf } from "./lib/api.js";
import { readConfig } from "./lib/dom.js";
import { translator } from "./lib/i18n.js";

const C = readConfig();
const T = translator(C.t);

for (const form of document.querySelectorAll("form.rm-agree")) {
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const out = form.querySelector(".rm-result");
    const button = form.querySelector("button");
    button.disabled = true;
    const r = await call("POST",
      `/api/communities/${encodeURIComponent(C.community)}/conventions/${form.dataset.convention}/agree`, {
        body: { code: form.code.value }, csrf: await residentCsrf(), language: C.locale });
    button.disabled = false;
    if (!r.ok) {
      out.textContent = errorText(r, T);
      return;
    }
    out.textContent = T("{household} agrees: thank you.", { household: r.data.household });
    const total = form.closest("li").querySelector(".rm-agreed");
    if (total) total.textContent = T("{agreed} of {households} households agreed", r.data);
    form.reset();
  });
}
