"""Value of information: which unknown input, once known, would narrow an estimate most.

For one run and each input the user did not give (hardware, device-hours, carbon intensity
or region, PUE, training tokens), a pre-posterior analysis: draw ``k`` plausible values of
that input from the run's own predictive simulation (they are what the model currently
believes about it), re-estimate the run with each value filled in, and compare the
interval widths. The run and its filled-in copies are simulated together with common random
numbers, so a width ratio reflects the filled-in value, not Monte-Carlo noise (an input that
cannot change the quantity, such as the carbon intensity for energy, gives exactly 1).
Width is the ratio upper / lower of the credible interval (the multiplicative width used
throughout carbon_bayes); the *narrowing* of an input is

    narrowing = (upper / lower now) / mean over the k values of (upper / lower once known)

so "tell me the region and the 90% interval narrows 4.0x" means that, averaged over what
the region could turn out to be, the interval's upper/lower ratio shrinks four-fold.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from carbon_bayes import schema
from carbon_bayes._compat import renamed_kwargs
from carbon_bayes.constants import CI_LEVEL, SEED
from carbon_bayes.errors import InputError

#: Plausible values drawn per input (pre-posterior sample size).
K_DEFAULT = 20
#: Runs accepted by :func:`voi_columns` (each costs 1 + k x inputs re-estimates).
MAX_VOI_RUNS = 50
#: Inputs considered, in the order they are reported on ties.
INPUTS = ("hardware", "device_hours", "carbon_intensity", "pue", "training_tokens", "training_flops")
COLUMNS = ("input", "label", "width_now", "width_known", "narrowing", "sentence")
# Schema bounds of the filled values (a draw of a wide prior can fall outside them).
_CLIP = {"device_hours": (1e-3, 1e10), "carbon_intensity": (0.0, 1.5), "pue": (1.0, 3.0),
         "training_tokens": (1e5, 1e15), "training_flops": (1e12, 1e29)}


def _missing(v) -> bool:
    return v is None or (isinstance(v, float) and np.isnan(v)) or (isinstance(v, str) and v == "")


def unknown_inputs(run: pd.Series) -> list[str]:
    """List the inputs of a normalised run whose value is not given and would change the estimate.

    ``training_tokens`` counts only when the compute is still unknown (no device-hours, no
    FLOPs) and the parameters are known (tokens are then derived from the drawn compute);
    with unknown parameters the compute itself (``training_flops``) is offered instead.

    Parameters
    ----------
    run
        One row of :func:`carbon_bayes.schema.normalise_runs`.

    Returns
    -------
    list of str
        Column names, in the order of :data:`INPUTS`.
    """
    out = []
    if _missing(run["hardware"]):
        out.append("hardware")
    hours_missing = _missing(run["device_hours"])
    if hours_missing:
        out.append("device_hours")
    if _missing(run["carbon_intensity"]):
        out.append("carbon_intensity")
    if _missing(run["pue"]):
        out.append("pue")
    if hours_missing and _missing(run["training_flops"]) and _missing(run["training_tokens"]):
        has_params = not (_missing(run["parameters"]) and _missing(run["active_parameters"]))
        out.append("training_tokens" if has_params else "training_flops")
    return out


def _label(name: str, run: pd.Series) -> str:
    if name == "carbon_intensity":
        located = not (_missing(run["region"]) and _missing(run["country"]))
        return "carbon intensity (kg CO2e/kWh) behind the run" if located else "region (or its carbon intensity)"
    return {"hardware": "hardware", "device_hours": "device-hours", "pue": "PUE",
            "training_tokens": "training tokens", "training_flops": "training compute (FLOPs)"}[name]


def _plausible(name: str, sim, col: int, idx: np.ndarray, run: pd.Series, hw_ids) -> list:
    """``k`` values of ``name`` from draws ``idx`` of column ``col`` of a simulation."""
    if name == "hardware":
        return [str(hw_ids[i]) for i in sim.hardware_idx[idx, col]]
    if name == "device_hours":
        v = sim.device_hours[idx, col]
    elif name == "carbon_intensity":
        v = sim.carbon_intensity[idx, col]
    elif name == "pue":
        v = sim.pue[idx, col]
    elif name == "training_flops":
        v = sim.training_flops[idx, col]
    elif name == "training_tokens":
        n_eff = run["active_parameters"] if not _missing(run["active_parameters"]) else run["parameters"]
        v = sim.training_flops[idx, col] / (6.0 * float(n_eff))
    else:  # pragma: no cover - INPUTS is closed
        raise KeyError(name)
    lo, hi = _CLIP[name]
    return [float(x) for x in np.clip(np.asarray(v, dtype=float), lo, hi)]


def _width(lower: np.ndarray, upper: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(lower > 0, upper / np.where(lower > 0, lower, 1.0), np.inf)


def _analyse(inputs: pd.DataFrame, *, k: int, ci_level: float, quantity: str, posterior, seed,
             n_draws) -> pd.DataFrame:
    """Value of information of the single normalised run in ``inputs``.

    Two simulations: the run alone (its predictive draws give the plausible values of each
    unknown input), then the run and all its filled-in copies together with common random
    numbers (every copy keyed as the run), so that each copy differs from the run only by the value
    filled in and the width ratios are not Monte-Carlo noise.
    """
    from carbon_bayes.estimator import common_draws, noise_for
    from carbon_bayes.predict import get_predictor
    from carbon_bayes.streams import Streams

    pred = get_predictor(posterior)
    S = common_draws(inputs, n_draws, pred, seed)
    noise = noise_for(inputs, S, seed)
    sim0 = pred.simulate(inputs, noise)
    pick = np.random.default_rng(np.random.SeedSequence([int(noise.keys[0] >> np.uint64(32)), SEED if seed is None
                                                         else int(seed)]))
    run = inputs.iloc[0]
    base = {c: run[c] for c in schema.COLUMN_NAMES}
    rows, meta = [{**base, "run_id": "voi-now"}], [""]
    names = unknown_inputs(run)
    for name in names:
        idx = pick.choice(S, size=min(k, S), replace=False)
        for v in _plausible(name, sim0, 0, idx, run, pred.hw_ids):
            rows.append({**base, name: v, "run_id": f"voi-{len(rows)}"})
            meta.append(name)
    batch = schema.normalise_runs(pd.DataFrame(rows, columns=list(schema.COLUMN_NAMES)))
    shared = np.full(len(batch), noise.keys[0], dtype=np.uint64)
    sim = pred.simulate(batch, Streams(shared, S, SEED if seed is None else int(seed)))
    d = np.asarray(getattr(sim, quantity), dtype=float)
    lo, hi = np.quantile(d, [(1 - ci_level) / 2, (1 + ci_level) / 2], axis=0)
    widths = _width(lo, hi)
    meta = np.array(meta, dtype=object)
    w_now = float(widths[0])
    level = f"{ci_level * 100:.4g}%"
    what = "CO2e" if quantity == "co2_t" else "energy"
    recs = []
    for name in names:
        wk = float(np.mean(widths[meta == name]))
        nar = w_now / wk if np.isfinite(wk) and wk > 0 else float("nan")
        label = _label(name, run)
        if nar >= 1.05:
            sentence = (f"tell me the {label} and the {level} interval of {what} narrows {nar:.1f}x "
                        f"(upper/lower {w_now:.2g} -> {wk:.2g})")
        else:
            sentence = (f"knowing the {label} would barely narrow the {level} interval of {what} "
                        f"({nar:.2f}x; upper/lower {w_now:.2g} -> {wk:.2g})")
        recs.append({"input": name, "label": label, "width_now": w_now, "width_known": wk, "narrowing": nar,
                     "sentence": sentence})
    df = pd.DataFrame(recs, columns=list(COLUMNS))
    if len(df):
        order = {n: i for i, n in enumerate(INPUTS)}
        df = (df.assign(_o=df["input"].map(order)).sort_values(["narrowing", "_o"], ascending=[False, True])
              .drop(columns="_o").reset_index(drop=True))
    df.attrs.update({"run_id": run["run_id"], "ci": ci_level, "quantity": quantity, "k": k})
    return df


def _check(k, quantity):
    try:
        k = int(k)
    except (TypeError, ValueError):
        raise InputError("k", k, "give a whole number of plausible values, e.g. 20") from None
    if k < 2:
        raise InputError("k", k, "give at least 2 plausible values per input (default 20)")
    if quantity not in ("co2_t", "energy_mwh"):
        raise InputError("quantity", quantity, "use co2_t or energy_mwh")
    return k


@renamed_kwargs(ci="ci_level", model="posterior")
def value_of_information(run, *, k: int = K_DEFAULT, ci_level: float = CI_LEVEL, quantity: str = "co2_t",
                         posterior=None, seed: int | None = None, n_draws: int | None = None) -> pd.DataFrame:
    """Compute the expected narrowing of a run's credible interval when one unknown input becomes known.

    Parameters
    ----------
    run
        One run (dict or one-row DataFrame), input contract.
    k
        Plausible values drawn per input (default 20).
    ci_level
        Credible-interval level (default 0.9). ``ci=`` is a deprecated alias.
    quantity
        ``co2_t`` (default) or ``energy_mwh``.
    posterior
        Posterior path, :class:`~carbon_bayes.posterior.Posterior` or predictor (default: the
        shipped posterior). ``model=`` is a deprecated alias.
    seed
        Random seed (default fixed: the same call gives the same table).
    n_draws
        Posterior draws (default 1,000).

    Returns
    -------
    pandas.DataFrame
        One row per input not given, most valuable first: ``input`` (column name),
        ``label``, ``width_now`` (upper/lower of the current interval, from the paired
        simulation: the estimate's own width within Monte-Carlo noise), ``width_known`` (mean
        upper/lower once known), ``narrowing`` (their ratio) and ``sentence``. Empty when
        every input is given. ``attrs``: ``run_id``, ``ci`` (the interval level), ``quantity``, ``k``.

    Examples
    --------
    >>> from carbon_bayes.voi import value_of_information
    >>> value_of_information({"parameters": 7e9, "training_tokens": 2e12, "year": 2024})  # doctest: +SKIP
    """
    from carbon_bayes.estimator import check_ci_level

    level = check_ci_level(ci_level)
    k = _check(k, quantity)
    inputs = schema.normalise_runs(run)
    if len(inputs) != 1:
        raise InputError("run", f"{len(inputs)} runs", "value_of_information() analyses one run; use voi_columns() "
                         f"for up to {MAX_VOI_RUNS}")
    return _analyse(inputs, k=k, ci_level=level, quantity=quantity, posterior=posterior, seed=seed, n_draws=n_draws)


@renamed_kwargs(ci="ci_level", model="posterior")
def voi_columns(runs, *, k: int = K_DEFAULT, ci_level: float = CI_LEVEL, quantity: str = "co2_t", posterior=None,
                seed: int | None = None, n_draws: int | None = None) -> pd.DataFrame:
    """Find the most valuable unknown input of each run, for the estimate output.

    Parameters
    ----------
    runs
        Up to :data:`MAX_VOI_RUNS` runs (anything :func:`carbon_bayes.estimate` accepts).
    k, ci_level, quantity, posterior, seed, n_draws
        As in :func:`value_of_information` (``ci=`` and ``model=`` are deprecated aliases).

    Returns
    -------
    pandas.DataFrame
        ``run_id``, ``voi_top_input`` (column name, empty when everything is given) and
        ``voi_narrowing`` (NaN then), one row per run in input order.

    Raises
    ------
    InputError
        More than :data:`MAX_VOI_RUNS` runs.
    """
    from carbon_bayes.estimator import check_ci_level

    level = check_ci_level(ci_level)
    k = _check(k, quantity)
    inputs = schema.normalise_runs(runs)
    if len(inputs) > MAX_VOI_RUNS:
        raise InputError("voi", f"{len(inputs)} runs", f"value of information re-estimates each run {k} times per "
                         f"unknown input; give at most {MAX_VOI_RUNS} runs (split the file)")
    # One analysis per run, so that a run's answer does not depend on the other rows of the batch.
    frames = [_analyse(inputs.iloc[[i]], k=k, ci_level=level, quantity=quantity, posterior=posterior, seed=seed,
                       n_draws=n_draws) for i in range(len(inputs))]
    top = [(f["input"].iloc[0], float(f["narrowing"].iloc[0])) if len(f) else ("", float("nan")) for f in frames]
    return pd.DataFrame({"run_id": inputs["run_id"].to_numpy(), "voi_top_input": [t[0] for t in top],
                         "voi_narrowing": [t[1] for t in top]})
