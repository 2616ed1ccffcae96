"""Stage 2 — metrics: the 数据底稿 and the aggregates the publications read.

``catalogue`` (the 49 indicators, one table that drives everything), ``indicators`` (their SQL),
``checks`` (the 复核 of the 底稿), ``digao`` (the xlsx workbook), ``outputs`` (``yibao indicators``),
``analysis`` (region-period cubes shared by sections). Imports data and the foundation only.
"""
