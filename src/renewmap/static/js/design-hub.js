/* Designers' hub of a site: new drafts, compare two, move the process on, record a step's
   dates, minutes and attachments, add before/after photos. Text from window.RMH.t. */
(function () {
  "use strict";
  const H = window.RMH;
  if (!H.site) return;
  const { $, csrf } = window.RMU;
  const base = `/api/design/communities/${encodeURIComponent(H.community)}/sites/${encodeURIComponent(H.site)}`;

  async function send(method, url, body, isForm) {
    const headers = { "X-CSRF-Token": csrf() };
    if (!isForm) headers["Content-Type"] = "application/json";
    const r = await fetch(url, { method: method, credentials: "same-origin", headers: headers,
      body: isForm ? body : JSON.stringify(body) });
    const out = await r.json().catch(() => ({}));
    $("#rm-error").textContent = r.ok ? "" : (out.message || String(r.status));
    return r.ok ? out : null;
  }

  $("#rm-new-draft").addEventListener("submit", async (e) => {
    e.preventDefault();
    const f = e.target;
    const body = { name: f.name.value };
    if (f.start.value === "site") body.from_site = true;
    else if (f.start.value !== "empty") body.copy_from = Number(f.start.value);
    const out = await send("POST", `${base}/drafts`, body);
    if (out) location.href = `/staff/design/drafts/${out.id}`;
  });
  $("#rm-compare").addEventListener("click", () => {
    const a = document.querySelector("input[name=cmp-a]:checked");
    const b = document.querySelector("input[name=cmp-b]:checked");
    if (a && b) location.href = `/staff/design/compare?a=${a.value}&b=${b.value}`;
  });
  $("#rm-stage").addEventListener("submit", async (e) => {
    e.preventDefault();
    if (await send("POST", `${base}/stage`, { stage: e.target.stage.value })) location.reload();
  });
  $("#rm-step").addEventListener("submit", async (e) => {
    e.preventDefault();
    const f = e.target;
    const ok = await send("PUT", `${base}/stages/${f.stage.value}`, {
      starts_on: f.starts_on.value || null, ends_on: f.ends_on.value || null, minutes: f.minutes.value || null });
    if (!ok) return;
    if (f.file.files.length) {
      const data = new FormData();
      data.set("file", f.file.files[0]);
      if (!(await send("POST", `${base}/stages/${f.stage.value}/attachments`, data, true))) return;
    }
    location.reload();
  });
  $("#rm-photo").addEventListener("submit", async (e) => {
    e.preventDefault();
    if (await send("POST", `${base}/photos`, new FormData(e.target), true)) location.reload();
  });
})();
