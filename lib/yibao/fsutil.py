"""Atomic output: files and directories appear complete or not at all.

Write into a temporary sibling, then ``os.replace`` it into place: a crash or Ctrl-C leaves the old
output (or nothing), never a half-written file.
"""
from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import signal
import sys
import tempfile
import threading
from pathlib import Path


@contextlib.contextmanager
def atomic_path(target: str | os.PathLike, suffix: str | None = None):
    """Yield a temporary path beside ``target``; on success it replaces ``target``.

    Works for files (write to the yielded path) and directories (create it and fill it).
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=suffix or target.suffix or ".tmp",
                               dir=target.parent)
    os.close(fd)
    os.unlink(tmp)
    tmp = Path(tmp)
    try:
        yield tmp
        if tmp.is_dir() and target.is_dir():
            old = target.with_name(f".{target.name}.old-{os.getpid()}")
            os.replace(target, old)
            os.replace(tmp, target)
            shutil.rmtree(old, ignore_errors=True)
        elif tmp.exists():
            os.replace(tmp, target)
    finally:
        if tmp.is_dir():
            shutil.rmtree(tmp, ignore_errors=True)
        elif tmp.exists():
            tmp.unlink()


STOPPED = threading.Event()  # set by the first SIGTERM; see check_stopped


def check_stopped() -> None:
    """Raise KeyboardInterrupt("SIGTERM") when a SIGTERM has arrived. The interrupt the handler raises can be
    lost when it lands inside a finaliser (Python prints "Exception ignored" and goes on); long jobs call this
    between steps, and before publishing, so a stopped job never publishes."""
    if STOPPED.is_set():
        raise KeyboardInterrupt("SIGTERM")


def hold_sigterm() -> None:
    """Hold SIGTERM back (it stays pending) while a job publishes its files and reports them, so a job is
    either published and recorded or not published at all. :func:`release_sigterm` lets it through."""
    if threading.current_thread() is threading.main_thread():
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM})


def release_sigterm() -> None:
    """Let a held SIGTERM through: a pending one is handled now (KeyboardInterrupt under
    :func:`sigterm_as_interrupt`)."""
    if threading.current_thread() is threading.main_thread():
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM})


def _quiet_unraisable(unraisable) -> None:
    if isinstance(unraisable.exc_value, KeyboardInterrupt):
        return  # a SIGTERM that landed in a finaliser: STOPPED holds it (check_stopped)
    sys.__unraisablehook__(unraisable)


@contextlib.contextmanager
def sigterm_as_interrupt(grace: float = 30.0):
    """While inside, SIGTERM (a scheduler stopping the job, ``kill``) is handled like Ctrl-C: the
    KeyboardInterrupt("SIGTERM") unwinds through every :func:`atomic_path`, so no half-written output or
    temporary file is left behind. Used by the command line and by each ``yibao run`` worker process.
    The first SIGTERM also sets :data:`STOPPED` and starts a watchdog: a process that has not unwound within
    ``grace`` seconds exits (status 143) — the next run removes what it left (runner.remove_leftovers)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    if not _DEPTH:
        _DEPTH.append(threading.Event())  # [0]: set when the outermost context has unwound
    cancel = _DEPTH[0]

    def watchdog():
        if not cancel.wait(grace):
            os._exit(143)

    def handler(signum, frame):
        if not STOPPED.is_set():
            STOPPED.set()
            threading.Thread(target=watchdog, name="yibao-sigterm-watchdog", daemon=True).start()
        raise KeyboardInterrupt("SIGTERM")
    previous = signal.signal(signal.SIGTERM, handler)
    previous_hook = sys.unraisablehook
    sys.unraisablehook = _quiet_unraisable
    _DEPTH.append(None)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
        sys.unraisablehook = previous_hook
        _DEPTH.pop()
        if len(_DEPTH) == 1:  # the outermost context has unwound: the stop is over, the watchdog stands down
            _DEPTH.pop().set()
            STOPPED.clear()


_DEPTH: list = []


def write_text(target: str | os.PathLike, text: str, encoding: str = "utf-8") -> Path:
    with atomic_path(target) as tmp:
        tmp.write_text(text, encoding=encoding)
    return Path(target)


def write_bytes(target: str | os.PathLike, data: bytes) -> Path:
    with atomic_path(target) as tmp:
        tmp.write_bytes(data)
    return Path(target)


def stable_zip(data: bytes, when: str = "2000-01-01") -> bytes:
    """An Office file (zip) rewritten so that identical content gives identical bytes: every member dated
    ``when`` (an ISO date, the release date) and the document's created / modified stamps set to it."""
    import io
    import re
    import zipfile
    y, m, d = (int(x) for x in str(when)[:10].split("-"))
    stamp = f"{y:04d}-{m:02d}-{d:02d}T00:00:00Z".encode()
    src = zipfile.ZipFile(io.BytesIO(data))
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as dst:
        for item in src.infolist():
            zi = zipfile.ZipInfo(item.filename, date_time=(max(1980, y), m, d, 0, 0, 0))
            zi.compress_type = zipfile.ZIP_DEFLATED
            zi.external_attr = 0o600 << 16
            body = src.read(item.filename)
            if item.filename == "docProps/core.xml":
                body = re.sub(rb"(<dcterms:(?:created|modified)[^>]*>)[^<]*(</dcterms:(?:created|modified)>)",
                              rb"\g<1>" + stamp + rb"\g<2>", body)
            dst.writestr(zi, body)
    return buf.getvalue()


def sha256(path: str | os.PathLike) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def publication_dir(out: str | os.PathLike, period: str, region: str) -> Path:
    """``OUT/P/R/`` — where every output of a region and period lands."""
    return Path(out) / str(period) / str(region)


def pid_alive(pid: int) -> bool:
    """Whether a process with this id runs (a leftover's owner: staging folders, private directories)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    return True
