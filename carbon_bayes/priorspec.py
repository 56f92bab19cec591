"""Read and check ``priors/model_priors.toml``, the prior specification of the model.

Each hyperparameter has a distribution with named parameters plus ``units``, ``evidence``
and ``rationale``. :func:`load_prior_spec` checks that the file names exactly the
hyperparameters the model uses (:func:`carbon_bayes.effects.prior_keys`) with valid parameters, so a typo
fails loudly instead of silently falling back to a default. No PyMC import here: the model
turns a :class:`PriorSpec` into a PyMC variable.
"""

from __future__ import annotations

import hashlib
import math
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from carbon_bayes import effects
from carbon_bayes.errors import DataError
from carbon_bayes.resources import priors_path

#: Parameters each distribution takes, and the constraint on each.
DISTRIBUTIONS: dict[str, dict[str, str]] = {
    "Normal": {"mu": "real", "sigma": "positive"},
    "HalfNormal": {"sigma": "positive"},
    "LogNormal": {"mu": "real", "sigma": "positive"},
    "Beta": {"alpha": "positive", "beta": "positive"},
    "Fixed": {"value": "real"},
}

_META = ("units", "evidence", "rationale")


@dataclass(frozen=True)
class PriorSpec:
    """One hyperparameter's prior: distribution name, parameters and documentation."""

    name: str
    dist: str
    params: dict[str, float]
    units: str
    evidence: str
    rationale: str

    @property
    def fixed(self) -> bool:
        """Whether the prior file fixes this hyperparameter (``dist = "Fixed"``)."""
        return self.dist == "Fixed"

    def mean(self) -> float:
        """Prior mean (used to report and to sanity-check the file)."""
        p = self.params
        return {
            "Normal": lambda: p["mu"],
            "HalfNormal": lambda: p["sigma"] * math.sqrt(2 / math.pi),
            "LogNormal": lambda: math.exp(p["mu"] + p["sigma"] ** 2 / 2),
            "Beta": lambda: p["alpha"] / (p["alpha"] + p["beta"]),
            "Fixed": lambda: p["value"],
        }[self.dist]()


@dataclass(frozen=True)
class ModelPriors:
    """The parsed prior file: ``structure`` settings and one :class:`PriorSpec` per hyperparameter."""

    structure: dict
    specs: dict[str, PriorSpec]
    sha256: str
    path: str = field(compare=False)

    def __getitem__(self, name: str) -> PriorSpec:
        return self.specs[name]

    def value(self, name: str) -> float:
        """Return the value of a ``Fixed`` hyperparameter."""
        spec = self.specs[name]
        if not spec.fixed:
            raise KeyError(f"{name} is not fixed (it is {spec.dist})")
        return spec.params["value"]


def _check_spec(path: Path, name: str, table: dict) -> PriorSpec:
    where = f"{path}: [{name}]"
    if not isinstance(table, dict):
        raise DataError(f"{where} must be a table")
    dist = table.get("dist")
    if dist not in DISTRIBUTIONS:
        raise DataError(f"{where}: dist={dist!r}; use one of {', '.join(DISTRIBUTIONS)}")
    wanted = DISTRIBUTIONS[dist]
    keys = set(table) - {"dist", *_META}
    if keys != set(wanted):
        raise DataError(f"{where}: {dist} takes parameters {sorted(wanted)}, got {sorted(keys)}")
    params = {}
    for k, kind in wanted.items():
        v = table[k]
        if not isinstance(v, (int, float)) or isinstance(v, bool) or not math.isfinite(v):
            raise DataError(f"{where}: {k}={v!r} must be a finite number")
        if kind == "positive" and v <= 0:
            raise DataError(f"{where}: {k}={v!r} must be > 0")
        params[k] = float(v)
    for k in _META:
        if not str(table.get(k, "")).strip():
            raise DataError(f"{where}: missing {k!r}; every prior states its units, evidence and rationale")
    return PriorSpec(name, dist, params, table["units"], table["evidence"], table["rationale"])


def load_prior_spec(path: str | Path | None = None) -> ModelPriors:
    """Load and validate a prior specification (default: the shipped ``priors/model_priors.toml``).

    Raises
    ------
    DataError
        Naming the file, the hyperparameter and what is wrong.
    """
    path = Path(path) if path is not None else priors_path("model_priors.toml")
    raw = path.read_bytes()
    try:
        doc = tomllib.loads(raw.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        raise DataError(f"{path}: not valid TOML ({e})") from None
    structure = doc.get("structure")
    if not isinstance(structure, dict):
        raise DataError(f"{path}: missing [structure] table")
    for key in ("scale_log10_centre", "scale_log10_width", "era_edges", "era_labels", "power_knee_log10_params"):
        if key not in structure:
            raise DataError(f"{path}: [structure] needs {key!r}")
    if len(structure["era_labels"]) != len(structure["era_edges"]) + 1:
        raise DataError(f"{path}: [structure] needs one more era label than era edges")
    specs = {}
    wanted = effects.prior_keys()
    unknown_sections = set(doc) - set(wanted) - {"structure"}
    if unknown_sections:
        raise DataError(f"{path}: unknown section(s) {sorted(unknown_sections)}; "
                        f"the model has {sorted(wanted)}")
    for section, names in wanted.items():
        tables = doc.get(section, {})
        extra = set(tables) - set(names)
        if extra:
            raise DataError(f"{path}: [{section}] has unknown hyperparameter(s) {sorted(extra)}; "
                            f"expected {list(names)}")
        for n in names:
            if n not in tables:
                raise DataError(f"{path}: missing [{section}.{n}]")
            specs[f"{section}.{n}"] = _check_spec(path, f"{section}.{n}", tables[n])
    return ModelPriors(structure=structure, specs=specs, sha256=hashlib.sha256(raw).hexdigest(), path=str(path))

