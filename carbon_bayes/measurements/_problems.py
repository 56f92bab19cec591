"""Row problems of a measurement file: every one listed at once (strict), or skipped with its reason (tolerant).

A reader hands each row to :meth:`Problems.row`; an :class:`~carbon_bayes.errors.InputError`
raised while reading it is kept, not raised. At the end :meth:`Problems.finish` raises one
:class:`RowErrors` that lists every bad row (strict, the default), or, with
``skip_invalid=True``, returns the good rows and keeps what was skipped and why
(``rows.attrs["skipped"]``, printed by :func:`skipped_summary`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from carbon_bayes.errors import InputError

#: Rows listed in one error message; the rest are counted.
MAX_LISTED = 40


class RowErrors(InputError):
    """Several rows of one file cannot be read; :attr:`errors` holds every one."""

    def __init__(self, path: Path | str, errors: list[InputError], total: int):
        self.errors = list(errors)
        lines = [f"  {e}" for e in self.errors[:MAX_LISTED]]
        if len(self.errors) > MAX_LISTED:
            lines.append(f"  ... and {len(self.errors) - MAX_LISTED} more")
        fix = (f"{len(self.errors)} of {total} row(s) cannot be read:\n" + "\n".join(lines) + "\ncorrect or delete "
               "them (the file was not changed), or read only the valid rows with skip_invalid=True (--skip-invalid)")
        super().__init__("measurements", str(path), fix)


@dataclass
class Problems:
    """Collect the row errors of one file."""

    path: Path
    skip_invalid: bool = False
    errors: list[InputError] = field(default_factory=list)
    total: int = 0

    def row(self, read: Callable[[], Any]) -> Any:
        """Return ``read()``, or None when it raised an InputError (kept for :meth:`finish`)."""
        self.total += 1
        try:
            return read()
        except RowErrors as e:
            self.errors.extend(e.errors)
        except InputError as e:
            self.errors.append(e)
        return None

    def add(self, error: InputError) -> None:
        """Keep an error found outside :meth:`row` (the row is counted)."""
        self.total += 1
        self.errors.append(error)

    def finish(self, rows: list, what: str = "row") -> list[dict]:
        """Raise every error at once (strict), or return the rows and record the skipped ones (tolerant)."""
        good = [r for r in rows if r is not None]
        if self.errors and not self.skip_invalid:
            if len(self.errors) == 1:
                raise self.errors[0]
            raise RowErrors(self.path, self.errors, self.total)
        if not good:
            raise InputError("measurements", str(self.path), f"no valid {what} in the file: every one was skipped "
                             "(" + "; ".join(str(e) for e in self.errors[:3]) + (" ..." if len(self.errors) > 3 else "")
                             + ")")
        return good

    def skipped(self) -> list[dict]:
        """List what was skipped: one record per row (``row``, ``field``, ``value``, ``reason``)."""
        return [{"row": "" if e.row is None else str(e.row), "field": e.field, "value": e.value, "reason": e.fix}
                for e in self.errors]


def skipped_summary(rows) -> str:
    """One block saying which rows a tolerant read skipped and why ("" when none was)."""
    skipped = rows.attrs.get("skipped", []) if hasattr(rows, "attrs") else []
    if not skipped:
        return ""
    path = rows.attrs.get("path", "the file")
    lines = [f"skipped {len(skipped)} row(s) of {path} (--skip-invalid); each with its reason:"]
    for s in skipped:
        where = f"row {s['row']}" if s["row"] else "file"
        lines.append(f"  {where}: {s['field']}={s['value']!r}: {s['reason']}")
    return "\n".join(lines)
