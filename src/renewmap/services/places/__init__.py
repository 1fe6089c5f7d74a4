"""Places and who owns them: communities and their layers, grid sets and their checks, boundary
administration, routing of a location to its grid, walking coverage, official division codes.
Not here: reading files (``ingest``) or the requests that are routed (``requests``)."""
