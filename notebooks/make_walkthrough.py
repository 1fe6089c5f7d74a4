"""Regenerate notebooks/walkthrough.ipynb (kept as code so diffs stay readable)."""

from pathlib import Path

import nbformat as nbf

cells = [
    nbf.v4.new_markdown_cell(
        "# RenewMap walkthrough: the demo community 巴林小区\n\n"
        "Loads the demo community from the database with geopandas, counts requests per grid, "
        "and draws grids and requests on an offline folium map (Leaflet inlined, no CDN, "
        "no online tiles).\n\n"
        "Data © OpenStreetMap contributors, ODbL 1.0; governance data and requests are "
        "generated (see `geodata/README.md`)."
    ),
    nbf.v4.new_code_cell(
        "import os\n"
        "from pathlib import Path\n\n"
        "from sqlalchemy.orm import Session\n\n"
        "from renewmap.db.engine import make_engine\n"
        "from renewmap.db.migrate import upgrade\n"
        "from renewmap.errors import NotFound\n"
        "from renewmap.services.ingest.demo import DEMO_COMMUNITY, load_demo\n"
        "from renewmap.services.places.layers import community_layers\n\n"
        "url = os.environ.get('RENEWMAP_DATABASE_URL', 'sqlite:///../var/renewmap.sqlite')\n"
        "engine = make_engine(url)\n"
        "upgrade(engine)\n"
        "demo_dir = Path(os.environ.get('RENEWMAP_DEMO_DIR', '../src/renewmap/data/demo'))\n"
        "with Session(engine) as session, session.begin():\n"
        "    try:\n"
        "        layers = community_layers(session, community_code=DEMO_COMMUNITY)\n"
        "    except NotFound:\n"
        "        load_demo(session, demo_dir)\n"
        "        layers = community_layers(session, community_code=DEMO_COMMUNITY)\n"
        "{k: len(v) for k, v in layers.items()}"
    ),
    nbf.v4.new_markdown_cell(
        "## Requests per grid\n\nAreas are computed in metres in the community's projected "
        "CRS (its UTM zone), never in degrees."
    ),
    nbf.v4.new_code_cell(
        "community = layers['community']\n"
        "epsg = int(community['metric_epsg'].iloc[0])\n"
        "grids = layers['grid'].copy()\n"
        "grids['area_m2'] = grids.to_crs(epsg).area.round(0)\n"
        "requests = layers['request']\n"
        "per_grid = (\n"
        "    requests.groupby('grid_code').size().rename('requests')\n"
        "    .reindex(grids['code']).fillna(0).astype(int)\n"
        ")\n"
        "households = layers['building'].groupby('grid_code')['households'].sum()\n"
        "table = grids.set_index('code')[['name', 'branch_code', 'area_m2']].join(per_grid)\n"
        "table['households'] = households\n"
        "table['per_100_households'] = (100 * table['requests'] / table['households']).round(1)\n"
        "table"
    ),
    nbf.v4.new_code_cell(
        "by_rule = requests['route_rule'].value_counts()\n"
        "no_grid = int(requests['grid_code'].isna().sum())\n"
        "print('requests without a grid (community level):', no_grid)\n"
        "by_rule"
    ),
    nbf.v4.new_markdown_cell("## The map (offline)"),
    nbf.v4.new_code_cell("from renewmap.maps import community_map\n\nm = community_map(layers)\nm"),
]
nb = nbf.v4.new_notebook(
    cells=cells,
    metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}},
)
out = Path(__file__).with_name("walkthrough.ipynb")
nbf.write(nb, out)
print(out)
