/* Words and times for the pages' scripts. The words come from the server's catalog in the
   page's configuration ({"t": {msgid: translation}}); T() takes a literal msgid (lint rule),
   so the server knows which words a page needs. */

/** T(id, {n: 3}) → the translation with {n} filled in (values are inserted as plain text). */
export function translator(catalog) {
  return (id, values) => {
    let text = Object.hasOwn(catalog, id) ? catalog[id] : id;
    for (const [key, value] of Object.entries(values || {})) {
      text = text.replaceAll(`{${key}}`, () => String(value));
    }
    return text;
  };
}

/** An ISO time as "YYYY-MM-DD HH:MM" in the community's time zone. */
export function formatTime(iso, timeZone) {
  if (!iso) return "—";
  const parts = {};
  const format = new Intl.DateTimeFormat("en-CA", {
    timeZone, year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit",
    minute: "2-digit", hourCycle: "h23",
  });
  for (const p of format.formatToParts(new Date(iso))) parts[p.type] = p.value;
  return `${parts.year}-${parts.month}-${parts.day} ${parts.hour}:${parts.minute}`;
}

/** Today in the community's time zone, as YYYY-MM-DD (for date inputs). */
export function today(timeZone) {
  return formatTime(new Date().toISOString(), timeZone).slice(0, 10);
}

/** A number for people: grouped digits, at most ``digits`` decimals; "—" when missing. */
export function formatNumber(value, digits, locale) {
  if (value == null) return "—";
  return Number(value).toLocaleString(locale === "en" ? "en" : "zh-CN", { maximumFractionDigits: digits });
}
