"""Stage 6 — workgroup: the working group's own procedures.

``draw`` (the member draw and rosters), ``review`` (the 审议 record: automatic checks and sign-off),
``survey`` / ``survey_report`` (the 附录4 questionnaire). Imports render and below; never batch.
"""
