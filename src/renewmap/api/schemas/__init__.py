"""Request and response models of the HTTP API, one module per domain (``places``,
``suggestions``, ``staff``, ``design``, ``open311``, ``ogc``; ``common`` for what they share).

Every JSON route declares its response model from here, so ``/openapi.json`` documents every
body (tests validate bodies against them too). Not here: rules or checks that belong to the
services; a model only describes what crosses the wire.
"""
