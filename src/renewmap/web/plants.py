"""The growth ID card page (成长身份证) of one plant: what it is, who looks after it, its care."""

from __future__ import annotations

import json
from html import escape
from typing import Any

from renewmap.i18n import gettext
from renewmap.maps import STATIC_URL

CARE_LABELS = {
    "watering": "Watering",
    "pruning": "Pruning",
    "fertilising": "Fertilising",
    "photo": "Photo",
    "note": "Note",
}


def _photo(entry: dict[str, Any]) -> str:
    if not entry.get("photo"):
        return ""
    return (
        f'<br><a href="{entry["photo"]}"><img src="{entry["thumbnail"]}" alt="" '
        'style="max-width:160px"></a>'
    )


def card_page(card: dict[str, Any], *, locale: str) -> str:
    t = lambda msgid: escape(gettext(locale, msgid))  # noqa: E731
    lang = "zh-CN" if locale == "zh_CN" else "en"
    sp = card["species"]
    log = "".join(
        f"<li>{escape(c['on'])} · {t(CARE_LABELS.get(c['kind'], c['kind']))} · {escape(c['by'])}"
        f"{' · ' + escape(c['note']) if c['note'] else ''}"
        f"{_photo(c)}</li>"
        for c in card["care"]
    )
    adopt = ""
    if card["adoptable"]:
        adopt = f"""<h2>{t("Adopt this plant")}</h2>
<form id="rm-adopt"><label for="rm-nick">{t("Nickname (shown on this card)")}</label>
<input id="rm-nick" name="nickname" required maxlength="40">
<label for="rm-phone">{t("Phone (optional, only staff see it)")}</label>
<input id="rm-phone" name="phone" type="tel" maxlength="32">
<button type="submit" class="rm-primary">{t("Adopt")}</button></form>"""
    care_options = "".join(f'<option value="{k}">{t(v)}</option>' for k, v in CARE_LABELS.items())
    cfg = json.dumps({"id": card["id"]})
    name = escape(card["name"] or sp["name_zh"] or "")
    seasons = " ".join(t(s.capitalize()) for s in sp["seasons"])
    return f"""<!doctype html><html lang="{lang}"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{name} · {t("Growth ID card")}</title>
<link rel="icon" href="{STATIC_URL}/img/icon.svg" type="image/svg+xml">
<link rel="stylesheet" href="{STATIC_URL}/css/resident.css"></head>
<body><header class="rm-header"><h1>{t("Growth ID card")} <small>{escape(card["code"] or "")}
</small></h1></header><main class="rm-panel">
<h2 id="rm-plant">{name}</h2>
<p class="rm-meta">{escape(sp["name_zh"] or "")} <i>{escape(sp["latin"] or "")}</i>
{" · " + seasons if seasons else ""}</p>
<p>{t("Planted on")}: {escape(card["planted_on"] or "—")}</p>
<p>{t("Adopter")}: <strong id="rm-adopter">{escape(card["adopter"] or "—")}</strong></p>
{adopt}
<h2>{t("Care log")}</h2><ol id="rm-care">{log}</ol>
<form id="rm-care-form"><select name="kind" aria-label="{t("Care")}">{care_options}</select>
<input name="note" maxlength="500" aria-label="{t("Note")}" placeholder="{t("Note")}">
<input name="photo" type="file" accept="image/*" aria-label="{t("Photo")}">
<button type="submit">{t("Add")}</button></form>
<p id="rm-error" role="alert" class="rm-error"></p>
<p><a href="/p/{card["id"]}/qr.png">{t("QR code")} (PNG)</a> ·
<a href="/p/{card["id"]}/qr.svg">SVG</a></p>
<script>
const PLANT = {cfg};
async function post(what, body) {{
  const s = await (await fetch("/api/session")).json();
  const r = await fetch(`/api/plants/${{PLANT.id}}/${{what}}`, {{ method: "POST",
    headers: {{ "Content-Type": "application/json", "X-CSRF-Token": s.csrf_token }},
    body: JSON.stringify(body) }});
  if (r.ok) {{ location.reload(); return; }}
  document.getElementById("rm-error").textContent = (await r.json()).message || r.status;
}}
const adopt = document.getElementById("rm-adopt");
if (adopt) adopt.addEventListener("submit", (e) => {{ e.preventDefault();
  const f = e.target;
  post("adoption", {{ nickname: f.nickname.value, phone: f.phone.value || null }}); }});
document.getElementById("rm-care-form").addEventListener("submit", async (e) => {{
  e.preventDefault();
  const f = e.target;
  if (!f.photo.files.length) {{
    post("care", {{ kind: f.kind.value, note: f.note.value || null }});
    return;
  }}
  const s = await (await fetch("/api/session")).json();
  const data = new FormData();
  data.set("file", f.photo.files[0]);
  if (f.note.value) data.set("note", f.note.value);
  const r = await fetch(`/api/plants/${{PLANT.id}}/care/photo`, {{ method: "POST",
    headers: {{ "X-CSRF-Token": s.csrf_token }}, body: data }});
  if (r.ok) {{ location.reload(); return; }}
  document.getElementById("rm-error").textContent = (await r.json()).message || r.status;
}});
</script></main></body></html>"""
