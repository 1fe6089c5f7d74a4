/* Staff: a community's participation records. Lists come from the scoped records API; every
   text from people goes in as text (h(), fill()). Keepers (admins, party secretaries) get the
   forms; readers see the lists. */
import { call, errorText, staffCsrf } from "./lib/api.js";
import { $, bdi, dotted, fill, h, readConfig } from "./lib/dom.js";
import { translator } from "./lib/i18n.js";

const C = readConfig();
const T = translator(C.t);
const L = C.labels;
const API = `/api/records/communities/${encodeURIComponent(C.community.code)}`;

function fail(result) {
  $("#rm-error").textContent = errorText(result, T);
}

async function api(method, url, body) {
  const r = await call(method, url, { body, csrf: staffCsrf(), language: C.locale });
  $("#rm-error").textContent = "";
  if (!r.ok) fail(r);
  return r;
}

function options(select, entries, empty) {
  fill(select, empty ? h("option", { value: "" }, "—") : null,
    entries.map(([value, label]) => h("option", { value }, label)));
}

function numbers(text) {
  return String(text || "").split(/[,，\s]+/).filter(Boolean).map(Number).filter((n) => Number.isInteger(n) && n > 0);
}

async function loadCounts() {
  const r = await api("GET", `${API}/counts`);
  if (!r.ok) return;
  $("#rm-roster-size").textContent = T("{n} people on the roster", { n: r.data.people });
  fill($("#rm-counts tbody"), r.data.years.map((y) => h("tr", {},
    [y.year, y.meetings, y.participants, y.proposals, y.adopted, y.became_site, y.events,
      y.event_attendances].map((v) => h("td", {}, v)))));
}

function meetingItem(m) {
  const linked = [
    ...m.proposals.map((p) => T("Proposal {number}", { number: p.number })),
    ...m.requests.map((r) => r.title),
    ...m.sites.map((s) => s.name || s.code),
  ];
  return h("li", { dataset: { id: m.id } },
    h("strong", {}, dotted([m.held_on, m.kind_label, bdi(m.title)])),
    h("div", { class: "rm-meta" }, dotted([
      m.place ? bdi(m.place) : null,
      m.parties.map((p) => p.label).join("、"),
      T("{n} attendances", { n: m.participants }),
      m.step ? dotted([bdi(m.step.site_name || m.step.site), m.step.label]) : null,
    ])),
    m.attendees.length ? h("div", {}, dotted(m.attendees.map((a) =>
      dotted([a.role_label, a.name ? bdi(a.name) : null, `×${a.count}`])))) : null,
    m.decisions ? h("p", {}, T("Decisions"), ": ", bdi(m.decisions)) : null,
    m.minutes ? h("details", {}, h("summary", {}, T("Minutes")), h("p", {}, bdi(m.minutes))) : null,
    linked.length ? h("p", {}, T("Discussed"), ": ", dotted(linked.map((x) => bdi(x)))) : null,
    m.attachments.map((a) => h("a", { href: a.url }, bdi(a.filename))));
}

async function loadMeetings() {
  const r = await api("GET", `${API}/meetings`);
  if (!r.ok) return;
  fill($("#rm-meetings"), r.data.meetings.length ? r.data.meetings.map(meetingItem) : h("li", {}, "—"));
}

function proposalActions(p) {
  if (!C.keeper || !p.moves.length) return null;
  const select = h("select", { "aria-label": T("Move to") },
    p.moves.map((s) => h("option", { value: s }, L.statuses[s])));
  const reason = h("input", { maxlength: 2000, placeholder: T("Reason (for residents)"), "aria-label": T("Reason (for residents)") });
  const site = h("select", { "aria-label": T("Site") }, C.sites.map((s) => h("option", { value: s.code }, s.name || s.code)));
  const button = h("button", { type: "button" }, T("Change status"));
  button.addEventListener("click", async () => {
    const r = await api("POST", `${API}/proposals/${p.number}/status`, {
      version: p.version, status: select.value, reason: reason.value || null, site: site.value || null });
    if (r.ok) await Promise.all([loadProposals(), loadCounts()]);
  });
  return h("div", { class: "rm-actions" }, select, reason, site, button);
}

const MAX_PROPOSAL_PHOTOS = 3; // as many as a suggestion (the server refuses a fourth)

function proposalPhotos(p) {
  const url = `${API}/proposals/${p.number}/photos`;
  const items = p.photos.map((ph, i) => {
    const remove = C.keeper ? h("button", { type: "button" }, T("Remove")) : null;
    if (remove) {
      remove.addEventListener("click", async () => {
        if ((await api("DELETE", `${url}/${ph.id}`)).ok) await loadProposals();
      });
    }
    return h("figure", {},
      h("a", { href: ph.url }, h("img", { src: ph.thumbnail, alt: ph.caption || T("Photo {n}", { n: i + 1 }),
        height: 96, loading: "lazy" })),
      h("figcaption", {}, ph.caption ? bdi(ph.caption) : null, remove));
  });
  let add = null;
  if (C.keeper && p.photos.length < MAX_PROPOSAL_PHOTOS) {
    const file = h("input", { type: "file", name: "file", accept: "image/jpeg,image/png,image/webp",
      required: true, "aria-label": T("Add photo") });
    const caption = h("input", { name: "caption", maxlength: 200, placeholder: T("Caption"), "aria-label": T("Caption") });
    add = h("form", { class: "rm-actions rm-photo-form" }, file, caption,
      h("button", { type: "submit" }, T("Add photo")));
    add.addEventListener("submit", async (e) => {
      e.preventDefault();
      if ((await api("POST", url, new FormData(add))).ok) await loadProposals();
    });
  }
  return items.length || add ? h("div", {}, items.length ? h("div", { class: "rm-photos" }, items) : null, add) : null;
}

function proposalItem(p) {
  return h("li", { dataset: { number: p.number } },
    h("strong", {}, dotted([T("Proposal {number}", { number: p.number }), bdi(p.title), p.status_label])),
    h("div", { class: "rm-meta" }, dotted([p.submitted_on, p.proposer_kind_label,
      p.proposer_name ? bdi(p.proposer_name) : null, p.proposer_phone ? bdi(p.proposer_phone) : null,
      p.public ? T("Public") : T("Not public"), p.shown_as ? bdi(p.shown_as) : null,
      p.site ? bdi(p.site.name || p.site.code) : null])),
    h("p", {}, bdi(p.body)),
    p.decline_reason ? h("p", {}, T("Reason declined"), ": ", bdi(p.decline_reason)) : null,
    proposalPhotos(p),
    proposalActions(p));
}

async function loadProposals() {
  const r = await api("GET", `${API}/proposals`);
  if (!r.ok) return;
  fill($("#rm-proposals"), r.data.proposals.length ? r.data.proposals.map(proposalItem) : h("li", {}, "—"));
}

function attendeeLine() {
  const role = h("select", { name: "role", "aria-label": T("Role") },
    Object.entries(L.roles).map(([v, label]) => h("option", { value: v }, label)));
  const name = h("input", { name: "name", maxlength: 100, placeholder: T("Name (optional)"), "aria-label": T("Name (optional)") });
  const count = h("input", { name: "count", type: "number", min: 1, max: 10000, value: 1, "aria-label": T("People") });
  $("#rm-m-attendees").append(h("div", { class: "rm-attendee" }, role, name, count));
}

function setUpMeetingForm() {
  const form = $("#rm-meeting-form");
  form.hidden = false;
  options($("#rm-m-kind"), Object.entries(L.kinds));
  fill($("#rm-m-parties"), h("legend", {}, T("Parties")), Object.entries(L.parties).map(([v, label]) =>
    h("label", {}, h("input", { type: "checkbox", name: "party", value: v }), " ", label)));
  options($("#rm-m-site"), C.sites.map((s) => [s.code, s.name || s.code]), true);
  options($("#rm-m-step"), [["joint_meeting", T("Joint meeting")], ["final_joint_meeting", T("Final joint meeting")]], true);
  $("#rm-m-add-attendee").addEventListener("click", attendeeLine);
  attendeeLine();
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const site = form.site.value;
    const body = {
      kind: form.kind.value, title: form.title.value, held_on: form.held_on.value,
      place: form.place.value || null,
      parties: [...form.querySelectorAll("input[name=party]:checked")].map((i) => i.value),
      attendees: [...form.querySelectorAll(".rm-attendee")].map((line) => ({
        role: line.querySelector("[name=role]").value,
        name: line.querySelector("[name=name]").value || null,
        count: Number(line.querySelector("[name=count]").value) || 1,
      })),
      minutes: form.minutes.value || null, decisions: form.decisions.value || null,
      proposals: numbers(form.proposals.value), requests: numbers(form.requests.value),
      sites: site ? [site] : [],
      step: site && form.step.value ? { site, stage: form.step.value } : null,
    };
    const r = await api("POST", `${API}/meetings`, body);
    if (r.ok) {
      form.reset();
      await Promise.all([loadMeetings(), loadProposals(), loadCounts()]);
    }
  });
}

function setUpProposalForm() {
  const form = $("#rm-proposal-form");
  form.hidden = false;
  options($("#rm-p-kind"), Object.entries(L.proposers));
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const r = await api("POST", `${API}/proposals`, {
      title: form.title.value, body: form.body.value, proposer_kind: form.proposer_kind.value,
      proposer_name: form.proposer_name.value || null, proposer_phone: form.proposer_phone.value || null,
      public: form.public.checked, shown_as: form.shown_as.value || null, submitted_on: form.submitted_on.value,
    });
    if (r.ok) {
      form.reset();
      await Promise.all([loadProposals(), loadCounts()]);
    }
  });
}

// --- people and teams ---------------------------------------------------------------------

function personItem(p) {
  const remove = C.keeper && !p.removed ? h("button", { type: "button" }, T("Remove on request")) : null;
  if (remove) {
    remove.addEventListener("click", async () => {
      if (!window.confirm(T("Erase this person's name, phone and details? What they did stays, anonymous."))) return;
      const r = await api("DELETE", `/api/records/people/${p.id}`);
      if (r.ok) await Promise.all([loadPeople(), loadCounts()]);
    });
  }
  return h("li", { dataset: { id: p.id } },
    h("strong", {}, bdi(p.name)),
    h("div", { class: "rm-meta" }, dotted([
      p.roles.map((r) => r.label).join("、"), p.partner_kind_label,
      p.organisation ? bdi(p.organisation) : null, p.phone ? bdi(p.phone) : null,
      p.skills.length ? dotted(p.skills.map((x) => bdi(x))) : null,
      T("{n} points", { n: p.points }),
    ])),
    p.teams.length ? h("div", {}, dotted(p.teams.map((m) => bdi(m.team)))) : null,
    remove);
}

function teamItem(team) {
  return h("li", {}, h("strong", {}, bdi(team.name)),
    team.purpose ? h("span", {}, " · ", bdi(team.purpose)) : null,
    h("div", { class: "rm-meta" }, T("{n} members now", { n: team.members_now })),
    h("div", { class: "rm-growth" }, dotted(team.growth.map((g) => `${g.day}: ${g.members}`))));
}

async function loadPeople() {
  const r = await api("GET", `${API}/people`);
  if (!r.ok) return;
  fill($("#rm-people"), r.data.people.length ? r.data.people.map(personItem) : h("li", {}, "—"));
  fill($("#rm-teams"), r.data.teams.length ? r.data.teams.map(teamItem) : h("li", {}, "—"));
}

function setUpPersonForm() {
  const form = $("#rm-person-form");
  form.hidden = false;
  fill($("#rm-pe-roles"), h("legend", {}, T("Roles")), Object.entries(L.person_roles).map(([v, label]) =>
    h("label", {}, h("input", { type: "checkbox", name: "role", value: v }), " ", label)));
  options($("#rm-pe-kind"), Object.entries(L.partner_kinds), true);
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const r = await api("POST", `${API}/people`, {
      name: form.name.value, phone: form.phone.value || null,
      roles: [...form.querySelectorAll("input[name=role]:checked")].map((i) => i.value),
      partner_kind: form.partner_kind.value || null, organisation: form.organisation.value || null,
      skills: form.skills.value.split(/[,，、]/).map((x) => x.trim()).filter(Boolean),
      consent_on: form.consent_on.value || null,
    });
    if (r.ok) {
      form.reset();
      await Promise.all([loadPeople(), loadCounts()]);
    }
  });
}

// --- conventions and events --------------------------------------------------------------

async function loadConventions() {
  const r = await api("GET", `/api/communities/${encodeURIComponent(C.community.code)}/conventions`);
  if (!r.ok) return;
  fill($("#rm-conventions"), r.data.conventions.length ? r.data.conventions.map((c) => h("li", {},
    h("strong", {}, bdi(c.title)),
    h("div", { class: "rm-meta" }, dotted([c.scope_label, bdi(c.place),
      c.current ? T("Version {number}, adopted on {day}", { number: c.current.number, day: c.current.adopted_on }) : null,
      c.current ? T("{agreed} households agreed", { agreed: c.current.agreed }) : null,
      c.current && c.current.by_codes ? T("by household code") : null])),
    c.current && c.current.by_codes ? h("ul", { class: "rm-plain" }, c.current.buildings.map((b) =>
      h("li", {}, bdi(b.building), ": ", T("{agreed} of {households} households agreed", b)))) : null,
    c.current ? h("p", {}, bdi(c.current.body)) : null)) : h("li", {}, "—"));
}

function eventItem(ev) {
  const signups = ev.signups.map((s) => {
    const box = h("input", { type: "checkbox", "aria-label": T("Came") });
    box.checked = s.attended;
    box.disabled = !C.keeper;
    box.addEventListener("change", async () => {
      const r = await api("POST", `/api/records/event-signups/${s.id}/attended`, { attended: box.checked });
      if (r.ok) await Promise.all([loadEvents(), loadCounts()]);
    });
    return h("li", {}, h("label", {}, box, " ", dotted([s.name ? bdi(s.name) : "—", s.phone ? bdi(s.phone) : null, `×${s.party}`])));
  });
  return h("li", { dataset: { id: ev.id } },
    h("strong", {}, dotted([ev.day, ev.time, ev.kind_label, bdi(ev.title)])),
    h("div", { class: "rm-meta" }, dotted([ev.place ? bdi(ev.place) : null,
      T("{n} signed up", { n: ev.signed_up }), T("{n} attendances", { n: ev.attendance }),
      ev.public ? T("Public") : T("Not public")])),
    ev.description ? h("p", {}, bdi(ev.description)) : null,
    signups.length ? h("ul", { class: "rm-plain" }, signups) : null);
}

async function loadEvents() {
  const r = await api("GET", `${API}/events`);
  if (!r.ok) return;
  fill($("#rm-events"), r.data.events.length ? r.data.events.map(eventItem) : h("li", {}, "—"));
}

function setUpEventForm() {
  const form = $("#rm-event-form");
  form.hidden = false;
  options($("#rm-ev-kind"), Object.entries(L.event_kinds));
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const r = await api("POST", `${API}/events`, {
      kind: form.kind.value, title: form.title.value, day: form.day.value,
      time: form.time.value || null, place: form.place.value || null,
      description: form.description.value || null,
      capacity: form.capacity.value ? Number(form.capacity.value) : null, public: form.public.checked,
    });
    if (r.ok) {
      form.reset();
      await Promise.all([loadEvents(), loadCounts()]);
    }
  });
}

// --- points and money --------------------------------------------------------------------

async function loadPoints() {
  const r = await api("GET", `${API}/points`);
  if (!r.ok) return;
  fill($("#rm-balances"), r.data.balances.length ? r.data.balances.map((b) =>
    h("li", {}, bdi(b.person), ": ", T("{n} points", { n: b.points }))) : h("li", {}, "—"));
  fill($("#rm-ledger"), r.data.entries.map((x) =>
    h("li", {}, dotted([x.day, bdi(x.person), x.kind_label, x.item ? bdi(x.item) : null, String(x.points)]))));
}

function moneyLine(l) {
  const remove = C.keeper ? h("button", { type: "button", class: "rm-f-delete" }, T("Delete")) : null;
  if (remove) {
    remove.addEventListener("click", async () => {
      if ((await api("DELETE", `/api/records/money/${l.id}`)).ok) await loadMoney();
    });
  }
  return h("li", { dataset: { id: l.id } }, dotted([
    l.day, l.kind_label, l.source_label, l.item ? bdi(l.item) : null,
    l.amount_fen != null ? (l.amount_fen / 100).toFixed(2) : null,
    l.quantity != null ? dotted([String(l.quantity), l.unit ? bdi(l.unit) : null]) : null,
    l.contributor ? bdi(l.contributor) : null, l.contact ? bdi(l.contact) : null]), remove ? " " : null, remove);
}

async function loadMoney() {
  const items = [];
  for (const s of C.sites) {
    const r = await api("GET", `${API}/sites/${encodeURIComponent(s.code)}/money`);
    if (!r.ok) return;
    items.push(h("li", { dataset: { site: s.code } }, h("strong", {}, bdi(s.name || s.code)),
      h("ul", { class: "rm-plain" }, r.data.lines.map(moneyLine))));
  }
  fill($("#rm-money"), items.length ? items : h("li", {}, "—"));
}

function setUpMoneyForm() {
  const form = $("#rm-money-form");
  if (!C.sites.length) return;
  form.hidden = false;
  options($("#rm-f-site"), C.sites.map((s) => [s.code, s.name || s.code]));
  options($("#rm-f-kind"), Object.entries(L.fund_kinds));
  options($("#rm-f-source"), Object.entries(L.sources), true);
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const text = (name) => form[name].value.trim() || null;
    const body = {
      kind: form.kind.value, source: form.source.value || null, item: text("item"),
      amount: text("amount"), quantity: form.quantity.value ? Number(form.quantity.value) : null,
      unit: text("unit"), contributor: text("contributor"), contact: text("contact"), day: form.day.value,
    };
    const r = await api("POST", `${API}/sites/${encodeURIComponent(form.site.value)}/money`, body);
    if (r.ok) {
      const site = form.site.value;
      form.reset();
      form.site.value = site;
      await loadMoney();
    }
  });
}

if (C.keeper) {
  setUpMeetingForm();
  setUpProposalForm();
  setUpPersonForm();
  setUpEventForm();
  setUpMoneyForm();
}
loadCounts();
loadMeetings();
loadProposals();
loadPeople();
loadConventions();
loadEvents();
loadPoints();
loadMoney();
