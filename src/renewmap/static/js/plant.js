/* A plant's growth ID card: adopt it; its adopter logs care (the kind of entry kept with its
   photo) and can move the adoption to a new phone with a one-time code. */
import { call, errorText, residentCsrf } from "./lib/api.js";
import { $, readConfig } from "./lib/dom.js";
import { formatTime, translator } from "./lib/i18n.js";

const P = readConfig();
const T = translator(P.t);

async function post(what, body, { reload = true } = {}) {
  const r = await call("POST", `/api/plants/${P.id}/${what}`,
    { body, csrf: await residentCsrf(), language: P.locale });
  if (r.ok && reload) { location.reload(); return r; }
  $("#rm-error").textContent = r.ok ? "" : errorText(r, T);
  return r;
}
const adopt = $("#rm-adopt");
if (adopt) {
  adopt.addEventListener("submit", (e) => {
    e.preventDefault();
    post("adoption", { nickname: adopt.nickname.value, phone: adopt.phone.value || null });
  });
}
const care = $("#rm-care-form");
if (care) {
  care.addEventListener("submit", (e) => {
    e.preventDefault();
    if (!care.photo.files.length) {
      post("care", { kind: care.kind.value, note: care.note.value || null });
      return;
    }
    const data = new FormData();
    data.set("file", care.photo.files[0]);
    data.set("kind", care.kind.value);
    if (care.note.value) data.set("note", care.note.value);
    post("care/photo", data);
  });
}
const move = $("#rm-move-code");
if (move) {
  move.addEventListener("click", async () => {
    const r = await post("adoption/transfer-code", undefined, { reload: false });
    if (!r.ok) return;
    $("#rm-move-result").textContent = T("Code: {code} (until {time})",
      { code: r.data.code, time: formatTime(r.data.expires_at, P.timeZone) });
  });
}
const claim = $("#rm-claim-form");
if (claim) {
  claim.addEventListener("submit", (e) => {
    e.preventDefault();
    post("adoption/claim", { code: claim.code.value });
  });
}
