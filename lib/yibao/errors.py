"""Errors the command line reports as one clear message (never a traceback)."""


class YibaoError(Exception):
    """Bad input or an impossible request; the message names the file, the column and the rule."""


class DataError(YibaoError):
    """A dataset breaks the contract. ``problems`` holds every finding (see validate.Problem)."""

    def __init__(self, message: str, problems: list | None = None):
        super().__init__(message)
        self.problems = problems or []
