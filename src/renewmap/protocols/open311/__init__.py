"""Open311 GeoReport v2: services, requests, tokens and their XML form."""
