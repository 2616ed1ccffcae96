"""Execute a publication notebook with papermill (the step before rendering; ``yibao run`` and the survey use it)."""
from __future__ import annotations

import time
from pathlib import Path

from yibao import PROJECT_DIR

NOTEBOOK_DIR = PROJECT_DIR / "notebooks"


def _kernel_start_failure(exc: BaseException) -> bool:
    text = f"{type(exc).__name__}: {exc}"
    return any(s in text for s in ("Kernel didn't respond", "DeadKernelError", "Kernel died", "kernel_info",
                                   "NoSuchKernel", "Timeout waiting for kernel", "ZMQError"))


def execute_notebook(src: Path, dst: Path, params: dict, cwd: Path | None = None) -> None:
    """Run ``src`` with papermill into ``dst`` (kernel ``python3``), retrying once if the kernel fails to start."""
    import papermill as pm
    for attempt in (1, 2):
        try:
            pm.execute_notebook(str(src), str(dst), parameters=params, kernel_name="python3",
                                progress_bar=False, log_output=False, cwd=str(cwd or NOTEBOOK_DIR),
                                start_timeout=120,
                                # the kernel's own log (TCP-transport warning, shutdown notices) is noise for
                                # users; cell errors are captured in the executed notebook and reported
                                extra_arguments=["--IPKernelApp.log_level=CRITICAL"])
            return
        except Exception as exc:  # noqa: BLE001 - classify then re-raise
            if attempt == 1 and _kernel_start_failure(exc):
                time.sleep(1.0)
                continue
            raise
