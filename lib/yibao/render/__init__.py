"""Stage 5 — render: an executed notebook into HTML, DOCX and PDF, without re-executing it.

``execute`` runs a notebook with papermill; ``prepare`` reduces an executed notebook to report content;
``builtin`` is the pandoc + Typst route, ``quarto`` the Quarto route; ``engine`` chooses between them
(``yibao render``). ``resources/`` holds the stylesheet and Typst template. Imports publications (display,
charts) and below.
"""
