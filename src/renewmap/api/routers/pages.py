"""HTML pages (thin: services build the data, ``renewmap.maps`` builds the map)."""

from __future__ import annotations

from html import escape
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Depends
from fastapi.responses import HTMLResponse, RedirectResponse
from sqlalchemy.orm import Session

from renewmap.api.deps import get_read_session
from renewmap.maps import community_map
from renewmap.services import catalog
from renewmap.services.layers import community_layers

router = APIRouter(include_in_schema=False)


@router.get("/")
def index(session: Annotated[Session, Depends(get_read_session)]) -> HTMLResponse:
    items = "".join(
        f'<li><a href="/c/{quote(c["code"])}">{escape(c["name"])}</a> '
        f"<small>{escape(c['code'])}</small></li>"
        for c in catalog.communities(session)
    )
    return HTMLResponse(
        "<!doctype html><html lang='zh-CN'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        "<title>微更新地图 RenewMap</title></head><body style='font:18px sans-serif;margin:1em'>"
        f"<h1>微更新地图 RenewMap</h1><ul>{items or '<li>—</li>'}</ul>"
        "<p><a href='/docs'>API</a></p></body></html>"
    )


@router.get("/c/{code}", response_class=HTMLResponse)
def community_page(
    code: str, session: Annotated[Session, Depends(get_read_session)]
) -> HTMLResponse:
    layers = community_layers(session, community_code=code)
    m = community_map(layers, assets="server")
    title = layers["community"]["name"].iloc[0]
    root = m.get_root()
    root.title = f"{title} · 微更新地图"
    return HTMLResponse(root.render())


@router.get("/c")
def communities_redirect() -> RedirectResponse:
    return RedirectResponse("/")
