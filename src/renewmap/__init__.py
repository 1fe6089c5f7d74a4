"""RenewMap (微更新地图): GIS planning for community micro-renewal.

The package's map is in README.md ("Where things live"): ``vocabulary`` (shared rules),
``spatial`` (pure geometry), ``db`` (models and queries), ``services`` and ``protocols`` (use
cases and standards), ``api`` and ``web`` (HTTP and pages), ``cli``.
"""

__version__ = "0.1.0"
