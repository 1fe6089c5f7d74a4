/* What the property company was given: show only the late ones, sign out. */
import { call, staffCsrf } from "./lib/api.js";
import { $, $$, readConfig } from "./lib/dom.js";

const P = readConfig();
$("#rm-late-only").addEventListener("change", (e) => {
  for (const row of $$("#rm-tasks tbody tr[data-late]")) {
    row.hidden = e.target.checked && row.dataset.late !== "yes";
  }
});
$("#rm-signout").addEventListener("click", async () => {
  await call("DELETE", "/api/staff/session", { csrf: staffCsrf(), language: P.locale });
  location.href = "/staff/login";
});
