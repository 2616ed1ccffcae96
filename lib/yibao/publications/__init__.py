"""Stage 4 — publications: what the notebooks call, section by section.

``context`` (one region-period's data for a notebook), ``quarterly``, ``monthly``, ``annual``, ``topic``
(the disease studies), ``feedback`` (follow-up of hospitals' answers), ``plan`` (the release plan),
``display`` (the report object the sections write to), ``charts``. Imports data, metrics, findings and the
foundation; never render, workgroup or batch.
"""
