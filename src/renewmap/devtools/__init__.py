"""Developer tooling shared by tests and benchmarks: a throwaway PostGIS cluster, end-to-end
helpers. Not used by the running app."""
