"""The one base class of errors a user can cause (a bad config, an unreadable table, an unknown run).

Their message is one sentence for the user: the CLI prints it as `error: ...` (exit code 2) and pages
show it with `st.error`, never a traceback. Each lab's error type subclasses `WorkbenchError` (and the
built-in type it always was, so `except ValueError` keeps working).
"""

from __future__ import annotations


class WorkbenchError(Exception):
    """An error a user can cause; `str()` is the sentence to show them."""

    def __str__(self) -> str:  # KeyError subclasses would quote their message
        return str(self.args[0]) if self.args else type(self).__name__


class CLIError(WorkbenchError):
    """A command-line usage error (a missing argument, a bad combination of flags)."""


def one_sentence(exc: BaseException) -> str:
    """The first line of an error's message (or its type's name when it has none)."""
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
