"""Web layer: thin routers and pages that call services."""
