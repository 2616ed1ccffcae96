"""yibao — 医保数据工作组数据发布系统 (medical-insurance data release for data working groups)."""
from pathlib import Path

__version__ = "0.1.0"

PACKAGE_DIR = Path(__file__).resolve().parent
PROJECT_DIR = PACKAGE_DIR.parent.parent  # lib/yibao -> project root (source checkout)

# jsonschema (imported by nbformat/papermill to validate notebooks) builds the parsers of the optional
# ``rfc3987_syntax`` package at import — about 0.8 CPU-s in every process that validates a notebook — only to
# check the "iri" string format, which no notebook schema uses. A None entry makes that optional import fail
# fast, as if the package (pulled in by Jupyter's format extras) were not installed.
import sys as _sys  # noqa: E402

_sys.modules.setdefault("rfc3987_syntax", None)
