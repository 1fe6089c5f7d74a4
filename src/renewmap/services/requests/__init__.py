"""Residents' requests from pin to answer: intake (routed on the spot), the residents' views,
the staff workflow and handling, patrols, photos, notifications and exports."""
