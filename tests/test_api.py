"""The public API: what ``carbon_bayes`` exports.

``__all__`` holds functions, classes, exceptions and constants, never modules; ``import
carbon_bayes`` stays light.
"""

from __future__ import annotations

import inspect
import json
import pkgutil
import re
import subprocess
import sys
import types
from importlib import resources
from pathlib import Path

import pytest

import carbon_bayes as cb

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
        "estimate", "Estimate", "normalise_runs",
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
    assert "pandas" in after_lazy and "pymc" not in after_lazy
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
