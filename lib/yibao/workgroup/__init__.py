"""Stage 6 — workgroup: the working group's own procedures.

``eligibility`` / ``draw`` / ``ledger`` (who may be drawn, the member draw and rosters, the freeze → draw →
verify procedure with its log), ``review`` / ``decision`` (the 审议 record: automatic checks, sign-off, the
meeting and its decision), ``survey`` / ``survey_rules`` / ``survey_report`` (the 附录4 questionnaire).
Imports render and below; never batch.
"""
