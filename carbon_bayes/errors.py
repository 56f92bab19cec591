"""Exceptions and warnings raised by carbon_bayes.

Every error a user can cause names the field, the value and the fix, so that the
message alone says what to change. They subclass ``ValueError`` so callers that
already catch ``ValueError`` keep working.
"""

from __future__ import annotations

#: The row number of the first run: rows are counted as a spreadsheet shows a table of runs, the
#: header being row 1 (blank lines of a file are not counted).
FIRST_RUN_ROW = 2


def row_number(position: int) -> int:
    """Row number, in every error message, of the run at zero-based ``position`` (the first run is row 2)."""
    return int(position) + FIRST_RUN_ROW


class CarbonBayesError(Exception):
    """Base class of every carbon_bayes error."""


class InputError(CarbonBayesError, ValueError):
    """A run description (input contract) is invalid.

    Parameters
    ----------
    field
        The column or flag that is wrong.
    value
        The offending value, as given.
    fix
        What to do instead.
    row
        Where the offending run is, when known, counted one way everywhere (:func:`row_number`):
        as a spreadsheet numbers the table of runs, the header being row 1 and the first run row
        2, for a file, a DataFrame or a list of dicts alike; a file's rows may add ``of <path>``.
    """

    def __init__(self, field: str, value: object, fix: str, row: object | None = None):
        if type(value).__module__ == "numpy" and hasattr(value, "item"):
            try:
                value = value.item()  # show 1000000.0, not np.float64(1000000.0)
            except (ValueError, TypeError):
                pass
        self.field = field
        self.value = value
        self.fix = fix
        self.row = row
        where = "" if row is None else f" (row {row})"
        super().__init__(f"{field}={value!r}{where}: {fix}")


class DataError(CarbonBayesError, ValueError):
    """A data or reference file is invalid (names file, row and column)."""


class PosteriorFileError(CarbonBayesError, ValueError):
    """A saved posterior file is missing, corrupt, or does not match the package."""


class ConvergenceError(CarbonBayesError, RuntimeError):
    """MCMC did not pass the convergence gate (r_hat, ESS, divergences)."""


class CarbonBayesWarning(UserWarning):
    """Warning about an assumption or an extrapolation."""
