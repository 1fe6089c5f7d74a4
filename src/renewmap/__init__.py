"""RenewMap (微更新地图): GIS planning for community micro-renewal."""

__version__ = "0.1.0"
