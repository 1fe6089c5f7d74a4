/* A plant's growth ID card: adopt it, add to its care log (with a photo). */
import { call, errorText, residentCsrf } from "./lib/api.js";
import { $, readConfig } from "./lib/dom.js";
import { translator } from "./lib/i18n.js";

const P = readConfig();
const T = translator(P.t);

async function post(what, body) {
  const r = await call("POST", `/api/plants/${P.id}/${what}`,
    { body, csrf: await residentCsrf(), language: P.locale });
  if (r.ok) { location.reload(); return; }
  $("#rm-error").textContent = errorText(r, T);
}
const adopt = $("#rm-adopt");
if (adopt) {
  adopt.addEventListener("submit", (e) => {
    e.preventDefault();
    post("adoption", { nickname: adopt.nickname.value, phone: adopt.phone.value || null });
  });
}
$("#rm-care-form").addEventListener("submit", (e) => {
  e.preventDefault();
  const f = e.target;
  if (!f.photo.files.length) {
    post("care", { kind: f.kind.value, note: f.note.value || null });
    return;
  }
  const data = new FormData();
  data.set("file", f.photo.files[0]);
  if (f.note.value) data.set("note", f.note.value);
  post("care/photo", data);
});
