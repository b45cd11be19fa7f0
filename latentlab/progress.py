"""Progress bars: a tqdm bar on a terminal (or in a notebook), one plain line per update in a log.

tqdm redraws its bar with carriage returns; in a redirected log (``... > run.log 2>&1``, CI, nohup) that leaves one
physical line holding hundreds of ``\\r``-separated states. :func:`progress_bar` is the one place latentlab makes a
bar: where its stream is not a terminal it returns :class:`LineTqdm`, which writes each update as its own line
(at most one every ``log_interval`` seconds, and always the final state), so ``tail -f`` and ``grep`` work.
"""
from __future__ import annotations

import sys

from tqdm import auto as _auto
from tqdm import std as _std

__all__ = ["progress_bar", "LineTqdm", "LOG_INTERVAL"]

LOG_INTERVAL = 10.0   # seconds between two progress lines in a log (a terminal bar redraws every 0.1 s)


class LineTqdm(_std.tqdm):
    """A tqdm whose every refresh is one newline-terminated line (no ``\\r``, no cursor moves), for logs."""

    def display(self, msg=None, pos=None):
        text = (self.__str__() if msg is None else msg).strip()
        if not text:  # tqdm clearing a bar: nothing to clear in a log (False: so no "\r" follows)
            return False
        self.fp.write(text + "\n")
        self.fp.flush()
        return True

    def close(self):
        """The final state as a line unless it was the last line written (a log keeps it even for leave=False)."""
        if not getattr(self, "disable", True) and hasattr(self, "last_print_n") and self.n != self.last_print_n:
            self._ema_dt = lambda: None  # the overall rate, as tqdm shows it on close
            self.display()
        self.leave = False  # tqdm's own close then only "clears" the bar, which display() ignores
        super().close()


def _is_terminal(stream) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):  # no isatty, or a closed stream
        return False


def progress_bar(iterable=None, *, desc: str | None = None, total=None, disable: bool = False, leave: bool = True,
                 file=None, log_interval: float = LOG_INTERVAL, **kwargs):
    """``tqdm(iterable, desc=..., total=...)`` that suits where it writes: a redrawn bar on a terminal or in a
    notebook, :class:`LineTqdm` (one line per update, at most one per ``log_interval`` s) anywhere else.

    ``file``: the stream (default ``sys.stderr``, read at call time); ``kwargs`` go to tqdm (``unit=``, ...).
    """
    stream = sys.stderr if file is None else file
    notebook = file is None and any(c.__module__ == "tqdm.notebook" for c in _auto.tqdm.__mro__)  # a Jupyter widget
    if notebook or _is_terminal(stream):
        return _auto.tqdm(iterable, desc=desc, total=total, disable=disable, leave=leave, file=file, **kwargs)
    kwargs.setdefault("mininterval", log_interval)
    return LineTqdm(iterable, desc=desc, total=total, disable=disable, leave=leave, file=stream, **kwargs)
