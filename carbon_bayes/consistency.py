"""Checks between the fields of one run, after each field is parsed and bounded on its own.

Hours against devices and days, wall-clock time, compute against what the chips can do, watts
against the TDP, and the accounting of a stated intensity.

:func:`carbon_bayes.schema.normalise_columns` calls them on the parsed columns, in this order:
:func:`reconcile_hours`, :func:`check_compute_and_power`, :func:`check_wall_clock`,
:func:`check_accounting`. Each raises :class:`~carbon_bayes.errors.InputError` naming the field, the
value, the row and the fix, or adds a note.
"""

from __future__ import annotations

import numpy as np

from carbon_bayes import reference
from carbon_bayes.cells import Table, _row_label
from carbon_bayes.contract import FLOPS_TOLERANCE, HOURS_CONTRADICTION, HOURS_WARNING, largest_value
from carbon_bayes.errors import InputError

#: Implied utilisation of the dense peak (compute / (device-hours x peak)) outside this band is an error...
UTILISATION_ERROR = (1e-5, 1.5)
#: ... and outside this one a warning (training runs reach 0.2-0.6; fp8 or sparsity can pass the bf16 peak).
UTILISATION_WARN = (1e-3, 0.8)


#: Average watts per device below which no training accelerator runs.
MIN_WATTS = 1.0
#: The longest wall-clock training the contract accepts, in days (``training_days``' upper bound).
MAX_DAYS = largest_value("training_days")


def reconcile_hours(out: dict[str, np.ndarray], df: Table, notes: list[list[str]]) -> None:
    """Reconcile device-hours with n_devices x training_days x 24 (fill, note or refuse).

    A fractional number of devices is refused too.
    """
    h, nd, days = out["device_hours"], out["n_devices"], out["training_days"]
    frac = ~np.isnan(nd) & (nd != np.round(nd))
    if frac.any():
        i = int(np.flatnonzero(frac)[0])
        raise InputError("n_devices", nd[i], "give a whole number of accelerators (a decimal comma or point as a "
                         "thousands separator reads 1.024 as one device: write 1024)", row=_row_label(df, i))
    # Device-hours vs n_devices x training_days.
    implied = nd * days * 24.0
    both = ~np.isnan(h) & ~np.isnan(implied)
    ratio = np.where(both, h / np.where(both, implied, 1.0), 1.0)
    bad = both & ((ratio > HOURS_CONTRADICTION) | (ratio < 1 / HOURS_CONTRADICTION))
    for i in np.flatnonzero(both & ~bad & ((ratio > HOURS_WARNING) | (ratio < 1 / HOURS_WARNING))):
        notes[i].append(f"device_hours is {ratio[i]:.2f}x n_devices x training_days x 24; device_hours is used")
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise InputError("device_hours", h[i],
                         f"contradicts n_devices x training_days x 24 = {nd[i]:g} x {days[i]:g} x 24 = "
                         f"{implied[i]:,.0f} "
                         "accelerator-hours; device_hours counts all devices (n_devices x wall-clock hours): "
                         "fix one of the three or leave device_hours empty", row=_row_label(df, i))
    fill = np.isnan(h) & ~np.isnan(implied)
    out["device_hours"] = np.where(fill, implied, h)
    only_days = np.isnan(out["device_hours"]) & ~np.isnan(days) & np.isnan(nd)
    for i in np.flatnonzero(only_days):
        notes[i].append("training_days without n_devices does not give device-hours; it is not used")


def check_compute_and_power(out: dict[str, np.ndarray], df: Table, notes: list[list[str]]) -> None:
    """Note FLOPs far from 6 N D; refuse a power per device implausible for its hardware."""
    # FLOPs vs 6 N D.
    p, pa = out["parameters"], out["active_parameters"]
    n_eff = np.where(np.isnan(pa), p, pa)
    six_nd = 6.0 * n_eff * out["training_tokens"]
    both = ~np.isnan(six_nd) & ~np.isnan(out["training_flops"])
    r = np.where(both, out["training_flops"] / np.where(both, six_nd, 1.0), 1.0)
    for i in np.flatnonzero(both & ((r > FLOPS_TOLERANCE) | (r < 1 / FLOPS_TOLERANCE))):
        notes[i].append(f"training_flops is {r[i]:.2g}x 6 x parameters x tokens; training_flops is used")
    over = np.isnan(out["training_flops"]) & ~np.isnan(six_nd) & (six_nd > MAX_FLOPS)
    if over.any():
        i = int(np.flatnonzero(over)[0])
        raise InputError("training_tokens", out["training_tokens"][i],
                         f"with {n_eff[i]:.3g} parameters means 6 x N x D = {six_nd[i]:.2g} FLOP, more than any "
                         f"training run has used ({MAX_FLOPS:.0e}); check the units of both", row=_row_label(df, i))
    check_utilisation(out, np.where(np.isnan(out["training_flops"]), six_nd, out["training_flops"]), df, notes)

    # Power per device vs TDP.
    pw = out["power_per_device_w"]
    tiny = ~np.isnan(pw) & (out["hardware"] == "") & (pw < MIN_WATTS)
    if tiny.any():  # with the hardware known, the TDP check below names the ratio instead
        i = int(np.flatnonzero(tiny)[0])
        raise InputError("power_per_device_w", pw[i], f"is under {MIN_WATTS:g} W, less than any training accelerator "
                         "draws; give the average watts per device (in W, not kW)", row=_row_label(df, i))
    has = ~np.isnan(pw) & (out["hardware"] != "")
    if has.any():
        acc = reference.accelerator_rows()
        t = np.array([acc[hw]["tdp_w"] if hw else np.nan for hw in out["hardware"]], dtype=float)
        r = pw / t
        bad = has & ((r > 3.0) | (r < 0.05))
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise InputError("power_per_device_w", pw[i], f"is {r[i]:.2g}x the {out['hardware'][i]} TDP of {t[i]:g} W; "
                             "give the average watts drawn per device (typically 0.3-1.5x TDP)", row=_row_label(df, i))


#: The most compute the contract accepts (``training_flops``' upper bound); 6 N D implied beyond it is refused.
MAX_FLOPS = largest_value("training_flops")


def chip_peak(hardware: str, precision: str) -> tuple[float, str]:
    """Dense peak FLOP/s of a run's chip (the fastest chip of the table when it is unknown), and its name."""
    if hardware:
        return reference.peak_flops(hardware, precision or None), hardware
    peaks = [v for row in reference.accelerator_rows().values() for c, v in row.items() if c.startswith("peak_")]
    return float(np.nanmax(peaks)) * 1e12, "the fastest chip known"


def check_utilisation(out: dict[str, np.ndarray], flops: np.ndarray, df: Table,
                       notes: list[list[str]]) -> None:
    """Hours against compute: the implied utilisation of the chips' dense peak must be physically possible.

    Above :data:`UTILISATION_ERROR` (more FLOP than the devices can do in those hours) or below
    :data:`UTILISATION_FLOOR` (hours for a compute a thousand times larger) is an error with the
    numbers; near the edges (:data:`UTILISATION_WARN`) a warning.
    """
    hours = out["device_hours"]
    both = ~np.isnan(hours) & ~np.isnan(flops) & (hours > 0)
    for i in np.flatnonzero(both):
        try:
            peak, chip = chip_peak(out["hardware"][i], out["precision"][i])
        except InputError:
            continue  # a precision the chip lacks is refused with its own message later
        u = flops[i] / (hours[i] * 3600.0 * peak)
        said = (f"{flops[i]:.3g} FLOP in {hours[i]:.3g} device-hours is {u:.3g} of the dense peak of {chip} "
                f"({peak / 1e12:,.4g} TFLOP/s)")
        if u > UTILISATION_ERROR[1] or u < UTILISATION_ERROR[0]:
            what = "more compute than the devices can do" if u > 1 else "hours for a far larger compute"
            raise InputError("device_hours", hours[i], f"{said}: {what}; check the units (device_hours = n_devices "
                             "x wall-clock hours; training_flops in FLOP, not PFLOP) or leave one of them empty",
                             row=_row_label(df, i))
        if u > UTILISATION_WARN[1] or u < UTILISATION_WARN[0]:
            notes[i].append(f"{said}, outside the usual {UTILISATION_WARN[0]:g}-{UTILISATION_WARN[1]:g}: check "
                            "device_hours and the compute")


def check_accounting(out: dict[str, np.ndarray], df: Table) -> None:
    """Refuse market-based accounting without an intensity, fill defaults, check precisions."""
    # Accounting.
    mb = (out["accounting"] == "market_based") & np.isnan(out["carbon_intensity"])
    if mb.any():
        i = int(np.flatnonzero(mb)[0])
        raise InputError("accounting", "market_based", "market-based accounting needs your contract's "
                         "carbon_intensity (kg CO2e/kWh); give it, or use location_based", row=_row_label(df, i))
    out["accounting"] = np.where(out["accounting"] == "", "location_based", out["accounting"])
    out["energy_basis"] = np.where(out["energy_basis"] == "", "measured", out["energy_basis"])
    out["power_scope"] = np.where(out["power_scope"] == "", "system", out["power_scope"])
    out["scope"] = np.where(out["scope"] == "", "pretraining", out["scope"])

    # Precision must exist for the hardware.
    has_prec = (out["precision"] != "") & (out["hardware"] != "")
    for i in np.flatnonzero(has_prec):
        try:
            reference.peak_flops(out["hardware"][i], out["precision"][i])
        except InputError as e:
            raise InputError(e.field, e.value, e.fix, row=_row_label(df, i)) from None


def check_wall_clock(out: dict[str, np.ndarray], df: Table) -> None:
    """Refuse device-hours implying an impossible wall-clock time.

    That is more than :data:`MAX_DAYS` days with the devices given, or fewer than one device over
    the days given. It runs after the more specific checks, whose messages name both numbers.
    """
    h, nd, days = out["device_hours"], out["n_devices"], out["training_days"]
    wall = np.where(~np.isnan(h) & ~np.isnan(nd), h / np.where(np.isnan(nd), 1.0, nd) / 24.0, np.nan)
    long = ~np.isnan(wall) & (wall > MAX_DAYS)
    if long.any():
        i = int(np.flatnonzero(long)[0])
        raise InputError("device_hours", h[i], f"with n_devices={nd[i]:g} is {wall[i]:,.0f} days of wall-clock "
                         f"training (more than {MAX_DAYS:,g}); device_hours counts all devices (n_devices x "
                         "wall-clock hours): check both", row=_row_label(df, i))
    few = ~np.isnan(h) & ~np.isnan(days) & np.isnan(nd) & (h < days * 24.0 * (1 - 1e-9))
    if few.any():
        i = int(np.flatnonzero(few)[0])
        raise InputError("device_hours", h[i], f"over training_days={days[i]:g} is fewer than one device "
                         f"({h[i] / (days[i] * 24.0):.2g}); device_hours counts all devices (n_devices x wall-clock "
                         "hours): check both", row=_row_label(df, i))
