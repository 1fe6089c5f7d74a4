"""gzip where it is safe: static files and the public JSON of the residents' pages; never a page
(HTML) nor a private answer, where a secret could sit beside text a stranger chose."""

from __future__ import annotations

DEMO = "310109010026"
GZIP = {"Accept-Encoding": "gzip"}


def test_public_files_and_json_are_compressed_pages_and_private_answers_not(client) -> None:
    client.headers["X-CSRF-Token"] = client.get("/api/session").json()["csrf_token"]
    script = client.get("/static/vendor/leaflet/leaflet.js", headers=GZIP)
    assert (
        script.headers["content-encoding"] == "gzip" and "Accept-Encoding" in script.headers["vary"]
    )
    # the client decoded it: the same bytes as the file
    assert script.content.startswith(b"/* @preserve") or b"Leaflet" in script.content[:400]
    raw = client.get(
        "/static/vendor/leaflet/leaflet.js", headers={**GZIP, "Accept-Encoding": "identity"}
    )
    assert "content-encoding" not in raw.headers and raw.content == script.content
    for url in (f"/api/communities/{DEMO}/suggestions?limit=50", f"/api/communities/{DEMO}/places"):
        r = client.get(url, headers=GZIP)
        assert r.status_code == 200 and r.headers.get("content-encoding") == "gzip", url
    # pages, and the private follow view, go as they are
    posted = client.post(
        "/api/suggestions",
        data={
            "category": "other",
            "title": "灯",
            "description": "x" * 1500,
            "lon": "121.4905",
            "lat": "31.2890",
        },
    ).json()
    for url in (
        f"/c/{DEMO}",
        posted["follow_url"],
        f"/api/receipts/{posted['receipt_code']}?token={posted['token']}",
        "/staff/login",
    ):
        r = client.get(url, headers=GZIP)
        assert r.status_code == 200 and "content-encoding" not in r.headers, url
