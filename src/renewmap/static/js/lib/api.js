/* Calls to the app's own API. Errors come back as {error (a stable code), message (already in
   the reader's language), details}; pages show ``message`` as text. */

/** The staff CSRF token (double-submit cookie set at sign-in). */
export function staffCsrf() {
  return (document.cookie.match(/(?:^|; )rm_csrf=([^;]*)/) || [])[1] || "";
}

let residentToken = null;
/** The residents' CSRF token (from /api/session; asked once per page). */
export function residentCsrf() {
  residentToken = residentToken || fetch("/api/session", { credentials: "same-origin" })
    .then((r) => r.json()).then((body) => body.csrf_token);
  return residentToken;
}

/** A request to the API; the answer's JSON (or null) with ``ok`` and ``status``. ``body``: an
    object (sent as JSON) or FormData. ``csrf``: the token to send, if the call writes. */
export async function call(method, url, { body, csrf, language } = {}) {
  const headers = {};
  if (csrf) headers["X-CSRF-Token"] = csrf;
  if (language) headers["Accept-Language"] = language === "en" ? "en" : "zh-CN";
  let payload = body;
  if (body !== undefined && !(body instanceof FormData)) {
    headers["Content-Type"] = "application/json";
    payload = JSON.stringify(body);
  }
  const response = await fetch(url, { method, credentials: "same-origin", headers, body: payload });
  let data;
  try {
    data = await response.json();
  } catch {
    data = null;  // not JSON (a proxy's error page, an empty body)
  }
  return { ok: response.ok, status: response.status, data };
}

/** What to tell the reader about a failed call: the API's translated message. */
export function errorText(result, T) {
  if (result.data && typeof result.data.message === "string") return result.data.message;
  return T("Something went wrong ({status})", { status: result.status });
}
