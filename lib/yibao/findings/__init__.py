"""Stage 3 — findings: the 问题警示清单 (钱 / 效 / 错 anomalies that name institutions).

``engine`` runs the rules and writes ``findings.csv``; ``rules`` holds the shared context and thresholds and
the rule modules hold one family each (``rules_peers``, ``rules_coding``, ``rules_admissions``,
``rules_quality``); ``stats`` the robust statistics they use. Imports data, metrics and the foundation.
"""
