"""Execute a publication notebook with papermill (the step before rendering; ``yibao run`` and the survey use it).

The kernel's connection file (ports and the HMAC key of the session) is written into a ``.jupyter-runtime``
folder beside the executed notebook — the job's staging folder — instead of jupyter_client's default (a
``tmp*.json`` in the temporary directory, or ``kernel-*.json`` in ``jupyter --runtime-dir``), and the kernel
runs with ``JUPYTER_RUNTIME_DIR`` pointing there too. The folder is removed when the execution ends, however it
ends; when the process is killed outright it goes with the staging folder, which the next run removes
(docs/security.md, Faults).
"""
from __future__ import annotations

import os
import shutil
import time
import uuid
from pathlib import Path

from yibao import PROJECT_DIR

NOTEBOOK_DIR = PROJECT_DIR / "notebooks"
RUNTIME_DIR = ".jupyter-runtime"  # inside the folder of the executed notebook


def _kernel_start_failure(exc: BaseException) -> bool:
    text = f"{type(exc).__name__}: {exc}"
    return any(s in text for s in ("Kernel didn't respond", "DeadKernelError", "Kernel died", "kernel_info",
                                   "NoSuchKernel", "Timeout waiting for kernel", "ZMQError"))


def _kernel_manager(runtime: Path):
    """A kernel manager class (nbclient's AsyncKernelManager) whose connection file is
    ``runtime/kernel-<uuid>.json`` and whose kernel runs with ``JUPYTER_RUNTIME_DIR=runtime``."""
    from jupyter_client.manager import AsyncKernelManager
    from traitlets import default

    class StagedKernelManager(AsyncKernelManager):
        @default("connection_file")
        def _connection_file_default(self) -> str:
            return str(runtime / f"kernel-{uuid.uuid4()}.json")

        async def _async_launch_kernel(self, kernel_cmd, **kw):  # jupyter_client's documented override point
            kw["env"] = {**(kw.get("env") or os.environ), "JUPYTER_RUNTIME_DIR": str(runtime)}
            return await super()._async_launch_kernel(kernel_cmd, **kw)

    return StagedKernelManager


def execute_notebook(src: Path, dst: Path, params: dict, cwd: Path | None = None) -> None:
    """Run ``src`` with papermill into ``dst`` (kernel ``python3``), retrying once if the kernel fails to start.
    The kernel's connection file lives in ``dst``'s folder while it runs and is removed after."""
    import papermill as pm
    runtime = Path(dst).resolve().parent / RUNTIME_DIR
    runtime.mkdir(mode=0o700, parents=True, exist_ok=True)
    try:
        for attempt in (1, 2):
            try:
                pm.execute_notebook(str(src), str(dst), parameters=params, kernel_name="python3",
                                    progress_bar=False, log_output=False, cwd=str(cwd or NOTEBOOK_DIR),
                                    # written once at the end (and on a cell error), not after every cell:
                                    # the per-cell saves cost ~1 CPU-s per notebook (issue 16)
                                    request_save_on_cell_execute=False,
                                    start_timeout=120, kernel_manager_class=_kernel_manager(runtime),
                                    # the kernel's own log (TCP-transport warning, shutdown notices) is noise for
                                    # users; cell errors are captured in the executed notebook and reported
                                    extra_arguments=["--IPKernelApp.log_level=CRITICAL"])
                return
            except Exception as exc:  # noqa: BLE001 - classify then re-raise
                if attempt == 1 and _kernel_start_failure(exc):
                    time.sleep(1.0)
                    continue
                raise
    finally:
        shutil.rmtree(runtime, ignore_errors=True)
