"""Data access: keyword-only query functions, one module per domain (``places``, ``requests``,
``accounts``, ``design``, ``process``, ``notify``, ``system``; ``open311``, ``ogc`` and
``tiles`` serve the standard protocols).

Every SELECT, UPDATE or raw SQL the app runs lives here; services call these functions and
keep only unit-of-work steps (``session.add``, ``get``, ``flush``, ``delete``). Naming:
``community_by_code`` raises NotFound, ``find_community``/``find_grid``… return None where
absence is an answer. Not here: rules, permissions, or shaping data for people.
"""
