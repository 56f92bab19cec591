"""The public API: what ``carbon_bayes`` exports, and the renamed keywords kept working with a warning.

``__all__`` holds functions, classes, exceptions and constants, never modules; ``import
carbon_bayes`` stays light. ``ci`` (the interval level) is now ``ci_level`` and ``model`` (the
posterior) is now ``posterior``: the old keywords warn (``DeprecationWarning``) and give
identical results.
"""

from __future__ import annotations

import importlib
import inspect
import json
import pkgutil
import re
import subprocess
import sys
import types
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import carbon_bayes as cb
from carbon_bayes._compat import renamed_kwargs

REPO = Path(__file__).resolve().parent.parent
RUN = {"parameters": 7e9, "training_tokens": 2e12, "hardware": "H100", "year": 2024, "region": "gcp:us-east1"}
SUBMODULES = {m.name for m in pkgutil.iter_modules(cb.__path__)}


# ----------------------------------------------------------------------------- __all__

@pytest.mark.parametrize("name", cb.__all__)
def test_every_public_name_resolves_to_a_function_class_exception_or_constant(name):
    value = getattr(cb, name)
    assert not isinstance(value, types.ModuleType), f"carbon_bayes.{name} is a module; __all__ lists no modules"
    if isinstance(value, type) and issubclass(value, BaseException):
        assert value.__module__ == "carbon_bayes.errors", name
    elif inspect.isclass(value) or inspect.isfunction(value):
        assert value.__module__.startswith("carbon_bayes."), (name, value.__module__)
        assert value.__name__ == name
        assert inspect.getdoc(value), f"carbon_bayes.{name} has no docstring"
    else:
        assert name.isupper() or name == "__version__", f"carbon_bayes.{name} is neither callable nor a CONSTANT"
        assert isinstance(value, (str, int, float)), (name, type(value))


def test_all_has_no_duplicates_and_dir_is_all():
    assert len(cb.__all__) == len(set(cb.__all__))
    assert dir(cb) == sorted(cb.__all__)


def test_no_public_name_is_also_a_submodule():
    # `import carbon_bayes.report` rebinds carbon_bayes.report to the module, so a function of that
    # name would silently change meaning depending on what was imported before.
    assert not set(cb.__all__) & SUBMODULES


def test_the_public_set():
    assert set(cb.__all__) == {
        "__version__", "CI_LEVEL", "INTERVAL_KIND",
        "CarbonBayesError", "CarbonBayesWarning", "ConvergenceError", "DataError", "InputError", "PosteriorFileError",
        "estimate", "Estimate", "normalise_runs", "estimate_chunks", "iter_estimates",
        "plan", "sweep", "SweepResult", "prob_exceeds", "carbon_at_risk", "expected_shortfall", "value_of_information",
        "load_training_runs", "load_posterior", "CarbonModel", "read_measurements", "update_from_measurements",
        "cross_validate",
    }
    assert cb.CI_LEVEL == 0.9 and cb.INTERVAL_KIND == "eti"
    assert re.fullmatch(r"\d+\.\d+\.\d+\S*", cb.__version__)


def test_public_functions_are_the_ones_of_their_modules():
    from carbon_bayes import budget, estimator, risk, schema

    assert cb.estimate is estimator.estimate and cb.Estimate is estimator.Estimate
    assert cb.plan is budget.plan and cb.sweep is budget.sweep and cb.SweepResult is budget.SweepResult
    assert cb.prob_exceeds is risk.prob_exceeds is budget.prob_exceeds
    assert cb.normalise_runs is schema.normalise_runs


def test_modules_are_imported_as_submodules_and_a_missing_one_says_how(tmp_path):
    code = (
        "import carbon_bayes as cb\n"
        "try:\n"
        "    cb.formula\n"
        "except AttributeError as e:\n"
        "    print(e)\n"
        "import carbon_bayes.formula\n"
        "print(cb.formula.co2_t(2.0, 0.5))\n"
        "try:\n"
        "    cb.no_such_name\n"
        "except AttributeError as e:\n"
        "    print(e)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0] == ("module 'carbon_bayes' has no attribute 'formula'; it is a submodule: import "
                        "carbon_bayes.formula (or from carbon_bayes.formula import ...)")
    assert lines[1] == "1.0"
    assert lines[2] == "module 'carbon_bayes' has no attribute 'no_such_name'"


def test_importing_the_package_is_light_and_names_load_their_module_on_use(tmp_path):
    code = (
        "import sys, json\n"
        "import carbon_bayes as cb\n"
        "heavy = ('numpy', 'pandas', 'xarray', 'scipy', 'pymc', 'pytensor', 'arviz', 'matplotlib')\n"
        "def loaded():\n"
        "    return sorted({m.split('.')[0] for m in sys.modules if m.split('.')[0] in heavy})\n"
        "after_import = loaded()\n"
        "cb.InputError, cb.CI_LEVEL\n"
        "after_constants = loaded()\n"
        "cb.normalise_runs\n"
        "print(json.dumps([after_import, after_constants, loaded(), 'carbon_bayes.schema' in sys.modules,\n"
        "                  'carbon_bayes.estimator' in sys.modules]))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    after_import, after_constants, after_lazy, schema_loaded, estimator_loaded = json.loads(out.stdout)
    assert after_import == [] and after_constants == []
    assert after_lazy == ["numpy"]  # the input contract's checks need neither pandas nor PyMC
    assert schema_loaded and not estimator_loaded


def test_readme_quickstart_runs_and_uses_only_public_names():
    text = (REPO / "README.md").read_text(encoding="utf-8")
    block = re.search(r"## Quickstart \(Python\)\s+```python\n(.*?)```", text, re.S)
    assert block, "README.md has no Quickstart (Python) code block"
    code = block.group(1)
    used = set(re.findall(r"\bcb\.(\w+)", code))
    assert used and used <= set(cb.__all__), used - set(cb.__all__)
    docstring_used = set(re.findall(r"\bcb\.(\w+)", cb.__doc__))
    assert docstring_used <= set(cb.__all__)
    printed = []
    exec(compile(code, "README.md", "exec"), {"print": printed.append})
    frame, p = printed
    assert list(frame["run_id"]) == ["run-0"] and 0 < frame["co2_t_lower"].iloc[0] < frame["co2_t_upper"].iloc[0]
    assert 0 <= p.iloc[0] <= 1


def test_the_package_ships_its_type_information():
    assert resources.files("carbon_bayes").joinpath("py.typed").is_file()


def test_ci_kind_is_a_deprecated_name_of_interval_kind():
    from carbon_bayes import constants

    for module, where in ((cb, "carbon_bayes"), (constants, "carbon_bayes.constants")):
        with pytest.warns(DeprecationWarning, match=rf"^{re.escape(where)}\.CI_KIND is deprecated, use "
                                                    rf"{re.escape(where)}\.INTERVAL_KIND"):
            assert module.CI_KIND == constants.INTERVAL_KIND == "eti"
    assert "CI_KIND" not in dir(cb)
    with pytest.raises(AttributeError, match="no attribute 'CI_LEVELS'"):
        constants.CI_LEVELS  # noqa: B018


# ----------------------------------------------------------------------------- renamed keywords

PUBLIC_MODULES = ("estimator", "budget", "report", "forecast", "voi", "plots", "risk", "schema", "dataset",
                  "measurements", "baselines")


def _public_functions():
    for mod_name in PUBLIC_MODULES:
        mod = importlib.import_module(f"carbon_bayes.{mod_name}")
        for name, fn in vars(mod).items():
            if inspect.isfunction(fn) and not name.startswith("_") and fn.__module__ == mod.__name__:
                yield f"{mod_name}.{name}", fn


def test_no_public_function_keeps_an_ambiguous_keyword():
    found = {qual: params for qual, fn in _public_functions()
             if (params := set(inspect.signature(fn).parameters) & {"ci", "model"})}
    # check_ci is the deprecated name of check_ci_level
    assert found == {"estimator.check_ci": {"ci"}}


def test_every_function_taking_ci_level_or_posterior_accepts_the_old_keyword():
    checked = []
    for qual, fn in _public_functions():
        params = set(inspect.signature(fn).parameters)
        expected = {old: new for old, new in (("ci", "ci_level"), ("model", "posterior")) if new in params}
        if qual == "estimator.check_ci_level":
            continue  # new name of check_ci(ci), which stays as a deprecated function
        if qual in ("plots.effects_table", "plots.plot_effects"):
            expected.pop("model", None)  # they always took ``posterior``, never ``model``
        if expected:
            assert getattr(fn, "__deprecated_kwargs__", {}) == expected, qual
            checked.append(qual)
    assert {"estimator.estimate", "budget.plan", "budget.sweep", "report.report", "report.report_data",
            "forecast.forecast", "forecast.stop_rule", "voi.value_of_information", "voi.voi_columns",
            "plots.plot_predictive", "plots.effects_table", "plots.plot_effects"} <= set(checked)


def test_signatures_show_the_new_names():
    params = inspect.signature(cb.estimate).parameters
    assert list(params)[:3] == ["runs", "ci_level", "posterior"]
    assert "ci_level" in cb.estimate.__doc__ and cb.estimate.__name__ == "estimate"


def _same(a, b):
    if isinstance(a, pd.DataFrame):
        pd.testing.assert_frame_equal(a, b)
        assert a.attrs == b.attrs
    elif isinstance(a, dict):
        assert json.dumps(a, sort_keys=True, default=str) == json.dumps(b, sort_keys=True, default=str)
    else:
        assert a == b


def _frame(x):
    return x if isinstance(x, (pd.DataFrame, str, dict)) else x.to_frame()


CASES = {
    "estimate": lambda **kw: cb.estimate([RUN, {**RUN, "run_id": "b", "hardware": "A100"}], seed=1, **kw),
    "plan": lambda **kw: cb.plan(RUN, budget_t=20, alternatives={"region": ["gcp:europe-north1"]}, seed=1, **kw),
    "sweep": lambda **kw: cb.sweep(RUN, n_trials=3, budget_t=20, seed=1, **kw),
    "value_of_information": lambda **kw: cb.value_of_information(RUN, k=3, seed=1, **kw),
}


@pytest.mark.parametrize("name", sorted(CASES))
@pytest.mark.parametrize(("old", "new", "value"), [("ci", "ci_level", 0.5), ("model", "posterior", None)])
def test_old_keywords_warn_and_give_identical_results(name, old, new, value, shipped_posterior):
    value = shipped_posterior if old == "model" else value
    fn = CASES[name]
    expected = _frame(fn(**{new: value}))
    with pytest.warns(DeprecationWarning, match=rf"\(\) keyword '{old}' is deprecated, use '{new}' \(same meaning\)"):
        got = _frame(fn(**{old: value}))
    _same(got, expected)
    if old == "ci":  # the level is used, not dropped: a 50% interval is inside the default 90% one
        default = _frame(fn())
        if "co2_t_lower" in default:
            assert (default["co2_t_lower"] < expected["co2_t_lower"]).all()


def test_old_keywords_of_report_and_forecast(shipped_posterior):
    from carbon_bayes.forecast import forecast, stop_rule
    from carbon_bayes.report import report, report_data

    new = report(RUN, format="json", ci_level=0.5, posterior=shipped_posterior, seed=2)
    with pytest.warns(DeprecationWarning) as rec:
        old = report(RUN, format="json", ci=0.5, model=shipped_posterior, seed=2)
    assert old == new and json.loads(new)["ci"] == 0.5
    assert sorted(str(w.message) for w in rec) == [
        "report() keyword 'ci' is deprecated, use 'ci_level' (same meaning)",
        "report() keyword 'model' is deprecated, use 'posterior' (same meaning)"]
    with pytest.warns(DeprecationWarning, match="report_data"):
        assert report_data(RUN, model=shipped_posterior, seed=2) == report_data(RUN, posterior=shipped_posterior,
                                                                                 seed=2)
    kw = dict(energy_so_far_mwh=30, fraction_done=0.3, budget_t=40, seed=3)
    fc_new = forecast(RUN, ci_level=0.5, posterior=shipped_posterior, **kw)
    with pytest.warns(DeprecationWarning, match="forecast"):
        fc_old = forecast(RUN, ci=0.5, model=shipped_posterior, **kw)
    pd.testing.assert_frame_equal(fc_old.to_frame(), fc_new.to_frame())
    assert fc_new.ci_level == 0.5
    with pytest.warns(DeprecationWarning, match="stop_rule"):
        assert stop_rule(fc_new.p_exceed, 40, fc_new.co2_t, ci=0.5, fraction_done=0.3) == fc_new.stop_rule
    assert "(50% interval" in fc_new.stop_rule


def test_old_keywords_of_the_plots(shipped_posterior):
    from carbon_bayes import plots

    est = cb.estimate(RUN, seed=1)
    new = plots.plot_predictive(est, ci_level=0.5)
    with pytest.warns(DeprecationWarning, match="plot_predictive"):
        old_fig = plots.plot_predictive(est, ci=0.5)
    labels = [[t.get_text() for t in f.axes[0].get_legend().get_texts()] for f in (new, old_fig)]
    assert labels[0] == labels[1] and any(t.startswith("50% credible interval") for t in labels[0])
    with pytest.warns(DeprecationWarning, match="effects_table"):
        old_tab = plots.effects_table(shipped_posterior, ci=0.5)
    pd.testing.assert_frame_equal(old_tab, plots.effects_table(shipped_posterior, ci_level=0.5))
    with pytest.warns(DeprecationWarning, match="plot_effects"):
        old_fx = plots.plot_effects(shipped_posterior, ci=0.5)
    assert [a.get_xlabel() for a in old_fx.axes] == [a.get_xlabel() for a in
                                                     plots.plot_effects(shipped_posterior, ci_level=0.5).axes]
    assert "median and 50% interval" in old_fx.axes[0].get_xlabel()


def test_old_and_new_keyword_together_is_an_error():
    with pytest.raises(TypeError, match=r"estimate\(\) got both ci= \(deprecated\) and ci_level=; pass only "
                                        r"ci_level="):
        cb.estimate(RUN, ci=0.5, ci_level=0.5)
    with pytest.raises(TypeError, match="got both model="):
        cb.sweep(RUN, model=None, posterior=None)


def test_renamed_attributes_warn_and_return_the_new_one():
    est = cb.estimate(RUN, ci_level=0.8, seed=1)
    res = cb.sweep(RUN, n_trials=2, ci_level=0.8, seed=1)
    for obj in (est, res):
        assert obj.ci_level == 0.8
        with pytest.warns(DeprecationWarning, match=rf"{type(obj).__name__}\.ci is deprecated, use \.ci_level"):
            assert obj.ci == 0.8


def test_renamed_kwargs_refuses_a_rename_that_does_not_fit_the_function():
    def f(x, ci_level=0.9):
        return x

    with pytest.raises(TypeError, match="has no parameter 'posterior'"):
        renamed_kwargs(model="posterior")(f)
    with pytest.raises(TypeError, match="still has a parameter 'x'"):
        renamed_kwargs(x="ci_level")(f)
    g = renamed_kwargs(ci="ci_level")(f)
    assert g(1, ci_level=0.5) == 1 and g.__wrapped__ is f
    assert np.isclose(inspect.signature(g).parameters["ci_level"].default, 0.9)


def test_check_ci_level_names_the_field_and_the_fix():
    from carbon_bayes.errors import InputError
    from carbon_bayes.estimator import check_ci, check_ci_level

    assert check_ci_level("0.5") == 0.5
    for bad, fix in ((90, "give a fraction, e.g. 0.9 for 90%"), (0, "strictly between 0 and 1"),
                     ("wide", "as a fraction between 0 and 1")):
        with pytest.raises(InputError, match=re.escape(fix)) as e:
            check_ci_level(bad)
        assert e.value.field == "ci_level" and e.value.value == bad
    with pytest.warns(DeprecationWarning, match="check_ci_level"):
        assert check_ci(0.5) == 0.5
