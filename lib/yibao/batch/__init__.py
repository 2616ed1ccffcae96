"""Stage 7 — batch: many publications for many regions and periods.

``jobs`` (what a batch is made of), ``runner`` (``yibao run``: papermill per job, render, 审议 record,
manifest, resume), ``due`` (``yibao run --plan … --due``), ``demo`` (``yibao demo``). The top of the
pipeline: only ``yibao.cli`` imports it.
"""
