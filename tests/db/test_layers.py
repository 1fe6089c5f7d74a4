"""The map's layers as the database gives them: measures in metres match the ellipsoid."""

from __future__ import annotations

import pytest
from pyproj import Geod

from renewmap.services.places.layers import community_layers

GEOD = Geod(ellps="WGS84")


def test_demo_layer_measures_match_the_ellipsoid(session) -> None:
    layers = community_layers(session, community_code="310109010026", kinds=("building", "path"))
    for _, b in layers["building"].iterrows():
        geod_area = abs(GEOD.geometry_area_perimeter(b.geometry)[0])
        assert b["area_m2"] == pytest.approx(geod_area, rel=0.005)
    for _, p in layers["path"].iterrows():
        assert p["length_m"] == pytest.approx(GEOD.geometry_length(p.geometry), rel=0.005)
