/* RenewMap site page for residents: the drafts put before them, each with its rendered plan,
   the designer's words and what it changes (and on the map, one at a time); comments
   (optionally placed on the map); the vote: one per household with the code of the household's
   form where forms were issued (changeable until the consultation closes), else an informal
   one per phone, said to be so; every vote asks for confirmation. Once the plan is on display:
   the decision, the objections and their answers, and a form to object. Pins for the survey.
   What is open comes from the server (the site's step). */
import { call, errorText, residentCsrf } from "./lib/api.js";
import { $, bdi, fill, h, readConfig } from "./lib/dom.js";
import { formatNumber, translator } from "./lib/i18n.js";
import { KIND_COLOURS, siteMap } from "./lib/sitemap.js";

const R = readConfig();
const T = translator(R.t);
const LB = R.labels;
const base = `/api/sites/${encodeURIComponent(R.community)}/${encodeURIComponent(R.site.code)}`;
const map = siteMap($("#rm-map"), R.plan);
const outline = L.geoJSON(R.site.geometry, { interactive: false,
  style: { color: "#d6336c", weight: 3, fillOpacity: 0.03 } }).addTo(map);
// the site fills the map: a garden is not a speck on the compound
const fit = () => map.fitBounds(outline.getBounds(), { maxZoom: 21, padding: [12, 12], animate: false });
fit();
const shown = L.layerGroup().addTo(map);
const pick = L.layerGroup().addTo(map);
const codeKey = `rm-code:${R.community}/${R.site.code}`;
let view = null;
let current = null; // the draft on the map
let picking = null; // a callback waiting for a tap on the map
let household = null; // {code, household, my_vote} once a form's code was entered

L.geoJSON({ type: "FeatureCollection", features: R.plants.map((p) => ({ type: "Feature",
  geometry: p.geometry, properties: p })) }, {
  pointToLayer: (f, ll) => L.circleMarker(ll, { radius: 6, color: "#fff", weight: 1,
    fillColor: f.properties.open ? "#f08c00" : "#2b8a3e", fillOpacity: 1 }),
  onEachFeature: (f, l) => l.bindPopup(() => h("a", { href: f.properties.url }, f.properties.name || "—")),
}).addTo(map);

async function post(url, body) {
  const r = await call("POST", url, { body, csrf: await residentCsrf(), language: R.locale });
  $("#rm-error").textContent = r.ok ? "" : errorText(r, T);
  return r.ok ? r.data : null;
}

function featureLabel(p) {
  return [LB.kinds[p.kind], p.name, p.species, LB.facilities[p.type]].filter(Boolean).join(" · ");
}

function showDraft(number) {
  current = number;
  shown.clearLayers();
  const d = view.drafts.find((x) => x.number === number);
  if (!d) return;
  L.geoJSON(d.features, {
    style: (f) => ({ color: KIND_COLOURS[f.properties.kind], weight: f.properties.kind === "path" ? 4 : 2,
      fillColor: KIND_COLOURS[f.properties.kind], fillOpacity: f.properties.kind === "zone" ? 0.08 : 0.4 }),
    pointToLayer: (f, ll) => L.circleMarker(ll, { radius: 6, color: KIND_COLOURS[f.properties.kind], fillOpacity: 0.9 }),
    onEachFeature: (f, l) => l.bindTooltip(() => h("span", {}, featureLabel(f.properties))),
  }).addTo(shown);
  for (const c of d.comments.filter((x) => x.geometry)) {
    const [x, y] = c.geometry.coordinates;
    L.marker([y, x], { title: c.body, alt: c.body }).bindPopup(() => h("p", { class: "rm-text" }, c.body)).addTo(shown);
  }
  for (const i of document.querySelectorAll("input[name=rm-show]")) i.checked = Number(i.value) === number;
}

const formal = () => view && view.vote === "household";
const percent = (r) => (r == null ? "—" : `${(r * 100).toFixed(1)}%`);

function myVote() {
  return formal() ? (household ? household.my_vote : null) : view.my_vote;
}

function voteButton(d) {
  const may = view.residents_may.includes("vote");
  const mine = myVote();
  if (!may || mine === d.number) return null;
  if (formal() && !household) return null; // the code first
  if (!formal() && mine != null) return null; // one informal vote, not changed
  const label = mine == null ? T("Vote for this draft") : T("Change my vote to this draft");
  return h("button", { type: "button", class: "rm-primary rm-vote", dataset: { draft: d.number } }, label);
}

function results(d) {
  if (d.votes == null) return null;
  return h("p", { class: "rm-votes" }, formal()
    ? T("{n} households", { n: d.votes })
    : [T("{n} votes", { n: d.votes }), " ", h("span", { class: "rm-informal" }, T("(informal)"))]);
}

function draftCard(d) {
  const may = view.residents_may;
  const m = d.metrics;
  const plan = `${d.plan}.png?paper=card&lang=${R.locale}`;
  const figures = [
    `${T("Green ratio")} ${percent(m.green_ratio)}`,
    `${T("Green area (m²)")} ${formatNumber(m.green_area_m2, 1, R.locale)}`,
    `${T("Estimated cost (yuan)")} ${formatNumber(Math.round(m.total_cost / 100) * 100, 0, R.locale)}`,
  ];
  const form = may.includes("comment") ? h("form", { class: "rm-comment", dataset: { draft: d.number } },
    h("textarea", { name: "body", rows: 2, maxlength: 1000, required: true,
      "aria-label": T("Your comment"), placeholder: T("Your comment") }),
    h("input", { name: "nickname", maxlength: 40, placeholder: T("Nickname (optional)"),
      "aria-label": T("Nickname (optional)") }),
    h("button", { type: "button", class: "rm-place" }, T("Place it on the map")),
    h("button", { type: "submit" }, T("Comment"))) : null;
  const mine = myVote() === d.number;
  return h("article", { class: "rm-draft", dataset: { draft: d.number } },
    h("h3", {}, h("label", {}, h("input", { type: "radio", name: "rm-show", value: d.number }),
      ` ${T("Draft")} ${d.number} · `, bdi(d.name))),
    h("a", { href: plan }, h("img", { class: "rm-plan", src: plan, loading: "lazy",
      alt: T("Plan of draft {n}: legend, species, scale and north arrow", { n: d.number }) })),
    d.description ? h("p", { class: "rm-text rm-description" }, d.description) : null,
    d.changes.length ? h("p", { class: "rm-changes" }, d.changes.join(R.locale === "en" ? "; " : "，")) : null,
    h("p", { class: "rm-meta" }, figures.join(" · ")),
    h("p", { class: "rm-meta" }, `${T("Download the plan")}: `,
      h("a", { href: `${d.plan}.pdf?paper=a3&lang=${R.locale}` }, T("PDF (A3)")), " · ",
      h("a", { href: `${d.plan}.png?paper=a3&lang=${R.locale}` }, T("Picture (A3)"))),
    d.adopts.length ? h("p", { class: "rm-meta" }, `${T("Adopts suggestions")}: `,
      d.adopts.map((a) => a.title).join("; ")) : null,
    results(d),
    mine ? h("p", { class: "rm-yes" }, formal()
      ? T("{household} voted for this draft", { household: household.household })
      : [T("You voted for this draft"), " ", h("span", { class: "rm-informal" }, T("(informal)"))]) : null,
    voteButton(d),
    h("ul", { class: "rm-comments" }, d.comments.map((c) => h("li", {}, h("span", { class: "rm-text" }, c.body), " ",
      h("small", {}, c.nickname || T("A resident"), c.geometry ? " · 📍" : "")))),
    form);
}

function voteMode() {
  const note = $("#rm-vote-mode");
  const open = view.residents_may.includes("vote");
  note.hidden = !open && !(view.results_visible && view.drafts.length);
  if (formal()) {
    note.textContent = open
      ? T("One vote per household: enter the code printed on your household's form (征询单). You may change your vote until the consultation closes.")
      : T("Votes were counted by household, with the codes of the household forms.");
    if (view.households) {
      note.textContent += ` ${T("{answered} of {issued} households have answered.", view.households)}`;
    }
  } else {
    note.textContent = open
      ? T("Informal poll: one vote per phone, not counted by household. It shows which way residents lean; it is not a household vote.")
      : T("The votes were an informal poll (one per phone), not counted by household.");
  }
  $("#rm-household").hidden = !(open && formal());
}

function render() {
  voteMode();
  if (!view.drafts.length) {
    fill($("#rm-drafts"), h("p", {}, T("No drafts have been shown to residents yet.")));
    return;
  }
  fill($("#rm-drafts"), view.drafts.map(draftCard));
  showDraft(current || view.drafts[0].number);
}

async function refresh() {
  const r = await call("GET", `${base}/consultation`, { language: R.locale });
  if (!r.ok) { $("#rm-error").textContent = errorText(r, T); return; }
  view = r.data;
  render();
}

// ---- the household's code ----
async function useCode(code) {
  const out = await post(`${base}/household`, { code });
  if (!out) { sessionStorage.removeItem(codeKey); household = null; return false; }
  household = { code, household: out.household, my_vote: out.my_vote };
  sessionStorage.setItem(codeKey, code);
  $("#rm-household-who").textContent = T("You are voting for {household}.", { household: out.household });
  if (view) render();
  return true;
}
$("#rm-household").addEventListener("submit", async (e) => {
  e.preventDefault();
  await useCode(e.target.code.value.trim());
});

// ---- voting, with a confirmation ----
const dialog = $("#rm-confirm");
let pending = null;
function askToVote(number) {
  const d = view.drafts.find((x) => x.number === number);
  pending = number;
  $("#rm-confirm-text").textContent = formal()
    ? T("Vote for draft {n} “{name}” for {household}? You may change it until the consultation closes.",
      { n: d.number, name: d.name, household: household.household })
    : T("Vote for draft {n} “{name}”? This informal vote is one per phone and cannot be changed.",
      { n: d.number, name: d.name });
  dialog.showModal();
}
$("#rm-confirm-no").addEventListener("click", () => { pending = null; dialog.close(); });
$("#rm-confirm-yes").addEventListener("click", async () => {
  dialog.close();
  const number = pending;
  pending = null;
  const body = { draft: number };
  if (formal()) body.code = household.code;
  const out = await post(`${base}/vote`, body);
  if (!out) return;
  if (household) household.my_vote = out.my_vote;
  refresh();
});

$("#rm-drafts").addEventListener("change", (e) => { if (e.target.name === "rm-show") showDraft(Number(e.target.value)); });
$("#rm-drafts").addEventListener("click", (e) => {
  const v = e.target.closest(".rm-vote");
  if (v) { askToVote(Number(v.dataset.draft)); return; }
  const place = e.target.closest(".rm-place");
  if (place) {
    const form = place.closest("form");
    showDraft(Number(form.dataset.draft));
    place.textContent = T("Tap the map");
    picking = (ll) => { form.rmPoint = ll; place.textContent = `📍 ${T("Placed")}`; };
  }
});
$("#rm-drafts").addEventListener("submit", async (e) => {
  e.preventDefault();
  const f = e.target;
  const body = { body: f.body.value, nickname: f.nickname.value || null };
  if (f.rmPoint) body.point = { type: "Point", coordinates: [f.rmPoint.lng, f.rmPoint.lat] };
  if (await post(`${base}/drafts/${f.dataset.draft}/comments`, body)) refresh();
});
map.on("click", (e) => {
  if (!picking) return;
  pick.clearLayers();
  L.circleMarker(e.latlng, { radius: 8, color: "#d6336c" }).addTo(pick);
  const done = picking;
  picking = null;
  done(e.latlng);
});

// ---- the decision, and objections while the plan is on display ----
function day(iso) {
  return iso || "—";
}

async function showDecision() {
  const r = await call("GET", `${base}/decision`, { language: R.locale });
  if (!r.ok || !r.data.decided) return;
  const d = r.data;
  const res = d.results;
  const unit = res.vote === "household" ? (n) => T("{n} households", { n }) : (n) => T("{n} votes", { n });
  fill($("#rm-decision-body"),
    h("p", { class: "rm-changes" }, T("Chosen: draft {n} “{name}”", { n: d.draft.number, name: d.draft.name })),
    h("p", { class: "rm-text" }, d.reasons),
    h("h3", {}, res.vote === "household" ? T("Household vote") : T("Informal poll (one per phone)")),
    h("ul", { class: "rm-plain" }, res.by_draft.map((x) => h("li", {}, `${T("Draft")} ${x.number} · `, bdi(x.name), `: ${unit(x.votes)}`))),
    res.households ? h("p", { class: "rm-meta" }, T("{answered} of {issued} households have answered.", res.households)) : null,
    h("p", {}, T("On display from {start} to {end}; objections may be filed until then.",
      { start: day(d.display.starts_on), end: day(d.display.ends_on) })),
    h("h3", {}, T("What happens next")),
    h("ul", { class: "rm-plain" }, d.next.map((s) => h("li", {}, `${R.stages[s.stage]}: `,
      s.starts_on ? `${day(s.starts_on)}${s.ends_on ? ` – ${s.ends_on}` : ""}` : T("not yet dated")))));
  $("#rm-decision").hidden = false;
}

async function showObjections() {
  const r = await call("GET", `${base}/objections`, { language: R.locale });
  if (!r.ok) return;
  fill($("#rm-objection-list"), r.data.objections.length ? r.data.objections.map((o) => h("li", {},
    h("span", { class: "rm-text" }, o.body), " ", h("small", {}, o.nickname || T("A resident")),
    o.answer ? h("p", { class: "rm-answer" }, h("strong", {}, `${T("Answer")}: `), h("span", { class: "rm-text" }, o.answer))
      : h("p", { class: "rm-meta" }, T("Waiting for an answer"))))
    : h("li", {}, T("No objections so far.")));
  $("#rm-objections").hidden = false;
  $("#rm-objection").hidden = !R.residentsMay.includes("object");
}
$("#rm-objection").addEventListener("submit", async (e) => {
  e.preventDefault();
  const f = e.target;
  const body = { body: f.body.value, nickname: f.nickname.value || null };
  if (await post(`${base}/objections`, body)) { f.reset(); showObjections(); }
});

const survey = $("#rm-site-suggest");
if (survey) {
  // during the survey every tap on the map places the pin (comments are closed then)
  map.on("click", (e) => {
    survey.rmPoint = e.latlng;
    pick.clearLayers();
    L.circleMarker(e.latlng, { radius: 8, color: "#d6336c" }).addTo(pick);
  });
  survey.addEventListener("submit", async (e) => {
    e.preventDefault();
    if (!survey.rmPoint) { $("#rm-error").textContent = T("Tap the map where it applies."); return; }
    const data = new FormData(survey);
    data.set("lon", String(survey.rmPoint.lng));
    data.set("lat", String(survey.rmPoint.lat));
    data.set("site", R.site.code);
    const r = await call("POST", "/api/suggestions", { body: data, csrf: await residentCsrf(), language: R.locale });
    if (!r.ok) { $("#rm-error").textContent = errorText(r, T); return; }
    $("#rm-error").textContent = "";
    fill($("#rm-suggest-result"), `${T("Thank you. Your receipt code")} `, h("strong", {}, r.data.receipt_code),
      " · ", h("a", { href: r.data.follow_url }, T("Follow it")));
    survey.reset();
  });
}

async function start() {
  await refresh();
  // a form's QR code opens the page with its code after # (never sent to a server log)
  const fromLink = /^#k=([A-Za-z0-9-]{4,20})$/.exec(location.hash);
  if (fromLink) history.replaceState(null, "", location.pathname + location.search);
  const code = fromLink ? fromLink[1] : sessionStorage.getItem(codeKey);
  if (code && formal()) {
    $("#rm-code").value = code;
    await useCode(code);
  }
  if (R.announced) { showDecision(); showObjections(); }
}
start();
window.addEventListener("resize", () => { if (!view) fit(); });
