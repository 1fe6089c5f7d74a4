/* Staff sign-in: on success, on to the page that sent the browser here (a /staff path). */
import { call, errorText } from "./lib/api.js";
import { $, readConfig } from "./lib/dom.js";
import { translator } from "./lib/i18n.js";

const C = readConfig();
const T = translator(C.t);

$("#rm-login").addEventListener("submit", async (e) => {
  e.preventDefault();
  const f = e.target;
  const r = await call("POST", "/api/staff/session", {
    body: { username: f.username.value, password: f.password.value }, language: C.locale });
  if (r.ok) { location.href = C.next; return; }
  $("#rm-error").textContent = errorText(r, T);
});
