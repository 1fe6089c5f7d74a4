"""One router per area of the API (places, suggestions, staff, design, sites, plants, Open311,
OGC, pages). Thin: parameters in, a service call, a response model out; shared plumbing comes
from ``api.deps``, never from another router."""
