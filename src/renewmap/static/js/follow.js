/* A resident's private follow page: add details (text, photos) or reopen a resolved request,
   through the private link's token. */
import { call, errorText } from "./lib/api.js";
import { $, readConfig } from "./lib/dom.js";
import { translator } from "./lib/i18n.js";

const F = readConfig();
const T = translator(F.t);

for (const [id, what] of [["#rm-details", "details"], ["#rm-reopen", "reopen"]]) {
  const form = $(id);
  if (!form) continue;
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const data = new FormData(form);
    data.append("token", F.token);
    // details: the token goes in the address, so it is checked before the photos are read
    const token = what === "details" ? `?token=${encodeURIComponent(F.token)}` : "";
    const url = `/api/receipts/${encodeURIComponent(F.code)}/${what}${token}`;
    const r = await call("POST", url, { body: data, language: F.locale });
    if (r.ok) { location.reload(); return; }
    $("#rm-error").textContent = errorText(r, T);
  });
}
