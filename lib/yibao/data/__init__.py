"""Stage 1 — data: the input contract and everything that reads a dataset.

``contract`` (tables and columns named after the national platform's fields), ``load`` (CSV / xlsx / parquet
into Arrow, identifiers dropped), ``validate`` (the contract checked, problems as file · column · row · rule; the checks in
``validate_checks`` and ``validate_rules``), ``privacy`` (identifiers masked in free text),
``warehouse`` (DuckDB views over a dataset), ``reference`` (CHS-DRG / ICD-10 tables), ``periods``.
Imports only the foundation modules (``yibao.errors``, ``yibao.fsutil``, ``yibao.fmt``).
"""
