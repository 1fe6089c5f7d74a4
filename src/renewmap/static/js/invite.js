/* An invitation: set your own password (the link works once), then on to the workspace. */
import { call, errorText } from "./lib/api.js";
import { $, readConfig } from "./lib/dom.js";
import { translator } from "./lib/i18n.js";

const C = readConfig();
const T = translator(C.t);

$("#rm-invite").addEventListener("submit", async (e) => {
  e.preventDefault();
  const r = await call("POST", "/api/staff/invitations/accept", {
    body: { token: C.token, password: e.target.password.value }, language: C.locale });
  if (r.ok) { location.href = "/staff"; return; }
  $("#rm-error").textContent = errorText(r, T);
});
