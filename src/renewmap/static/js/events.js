/* Residents: sign up for an event. The form's words come from the page; the answer's message
   (or the places left) goes in as text. */
import { call, errorText, residentCsrf } from "./lib/api.js";
import { readConfig } from "./lib/dom.js";
import { translator } from "./lib/i18n.js";

const C = readConfig();
const T = translator(C.t);

for (const form of document.querySelectorAll("form.rm-signup")) {
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const out = form.querySelector(".rm-result");
    const button = form.querySelector("button");
    button.disabled = true;
    const r = await call("POST",
      `/api/communities/${encodeURIComponent(C.community)}/events/${form.dataset.event}/signups`, {
        body: { name: form.name.value, phone: form.phone.value || null, party: Number(form.party.value) || 1 },
        csrf: await residentCsrf(), language: C.locale });
    button.disabled = false;
    if (!r.ok) {
      out.textContent = errorText(r, T);
      return;
    }
    out.textContent = T("Signed up: see you there.");
    form.closest("li").querySelector(".rm-counts").textContent = T("{n} signed up", { n: r.data.signed_up });
    form.reset();
  });
}
