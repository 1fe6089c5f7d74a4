"""Residents' requests from pin to answer: intake (routed on the spot), the residents' views,
the staff workflow and handling, patrols, photos, notifications and exports. Not here: who owns
a location (``places.routing``) or who may see a request (``access.scope``)."""
