"""Micro-renewal sites: design drafts and their exchange formats, the participatory process,
residents' consultation on drafts, plant adoption."""
