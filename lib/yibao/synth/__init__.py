"""Synthetic datasets (a side branch of the pipeline, used by the demo and the tests).

``generate`` (``yibao synth``) builds a contract dataset from a ``world`` of regions and institutions,
``conditions``, ``casemix`` (admission mixes), ``claims`` (inpatient episodes, amounts, reversals),
``outpatient`` (outpatient and pharmacy settlements), ``arrow`` (setl / setl_list as arrow tables), ``tables``
(the other contract tables) and writes ``planted.json``; ``measure`` re-measures the planted anomalies.
Imports data and the foundation only.
"""
