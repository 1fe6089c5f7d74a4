"""Micro-renewal sites: design drafts and their exchange formats, the participatory process,
residents' consultation on drafts, plant adoption. Not here: the geometry rules and metrics
of a design (``spatial.design``) or the requests a draft adopts (``requests``)."""
