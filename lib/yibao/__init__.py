"""yibao — 医保数据工作组数据发布系统 (medical-insurance data release for data working groups)."""
from pathlib import Path

__version__ = "0.1.0"

PACKAGE_DIR = Path(__file__).resolve().parent
PROJECT_DIR = PACKAGE_DIR.parent.parent  # lib/yibao -> project root (source checkout)
