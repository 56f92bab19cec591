"""The bad-input catalogue, part 2: the command line, --input files and saved posterior files.

Command-line errors exit with status 2 and one ``error:`` line (argparse's own ``usage`` and
``error:`` for a flag value of the wrong type), never a traceback. Readers, budget, forecast,
report and update are part 3 (tests/test_input_catalogue_readers.py).
"""

from __future__ import annotations

import gzip
import io
import shutil
from collections.abc import Callable

import h5py
import numpy as np
import pandas as pd
import pytest
import xarray as xr
from input_catalogue import EXACT_MWH, EXACT_T, Case, Cli, cli, close, ids, run_case, write

from carbon_bayes.errors import PosteriorFileError
from carbon_bayes.posterior import load_posterior
from carbon_bayes.resources import default_posterior_path

RUN = ("--hardware", "A100", "--device-hours", "1000", "--year", "2024")
EXACT = (*RUN, "--energy-basis", "tdp", "--power-per-device-w", "400", "--pue", "1.0", "--carbon-intensity", "0.4234")
HEADER = "hardware,device_hours,year,energy_basis,power_per_device_w,pue,carbon_intensity"
ROW = "A100,1000,2024,tdp,400,1.0,0.4234"


def _table(res: Cli) -> pd.DataFrame:
    return pd.read_csv(io.StringIO(res.out), keep_default_na=False)


def _exact_csv(res: Cli, n: int = 1) -> bool:
    t = _table(res)
    assert len(t) == n, t
    for _, r in t.iterrows():
        assert close(r["energy_mwh_median"], EXACT_MWH) and close(r["co2_t_median"], EXACT_T), r.to_dict()
    return True


def _est(*flags: str) -> Callable:
    return lambda _p: cli("estimate", *flags)


def _flag(label: str, flags: tuple[str, ...], field: str, *says: str) -> Case:
    return Case(f"cli-{label}", _est(*flags), field, says)


CLI_CASES = [
    _flag("n-draws-text", (*RUN, "--n-draws", "abc"), "--n-draws", "'abc'", "invalid int value"),
    _flag("n-draws-exponent", (*RUN, "--n-draws", "1e3"), "--n-draws", "'1e3'", "invalid int value"),
    _flag("n-draws-too-few", (*RUN, "--n-draws", "99"), "n_draws", "99", ">= 100"),
    _flag("n-draws-fifty", (*RUN, "--n-draws", "50"), "n_draws", "50", ">= 100"),
    _flag("seed-text", (*RUN, "--seed", "abc"), "--seed", "'abc'", "invalid int value"),
    _flag("seed-fraction", (*RUN, "--seed", "1.5"), "--seed", "'1.5'", "invalid int value"),
    _flag("seed-beyond-64-bits", (*RUN, "--seed", str(2 ** 66)), "seed", str(2 ** 66), "whole number >= 0"),
    _flag("ci-level-zero", (*RUN, "--ci-level", "0"), "ci_level", "0", "strictly between 0 and 1"),
    _flag("ci-level-percent", (*RUN, "--ci-level", "90"), "ci_level", "90", "0.9 for 90%"),
    _flag("ci-level-text", (*RUN, "--ci-level", "abc"), "--ci-level", "'abc'", "invalid"),
    _flag("ci-level-nan", (*RUN, "--ci-level", "nan"), "ci_level", "nan", "strictly between"),
    _flag("ci-level-negative", (*RUN, "--ci-level", "-0.9"), "ci_level", "-0.9", "strictly between"),
    _flag("ci-deprecated-alias-percent", (*RUN, "--ci", "95"), "ci_level", "95", "0.9 for 90%"),
    _flag("format-unknown", (*RUN, "--format", "xml"), "--format", "'xml'", "invalid choice"),
    _flag("flag-unknown", (*RUN, "--gpus", "8"), "unrecognized arguments", "--gpus"),
    _flag("flag-without-value", (*RUN, "--pue"), "--pue", "expected one argument"),
    _flag("parameters-negative", (*RUN, "--parameters", "-7e9"), "parameters", "'-7e9'", "greater than zero"),
    _flag("hours-with-unit", ("--hardware", "A100", "--device-hours", "1e3 h"), "device_hours", "'1e3 h'",
          "give a number in accelerator-hours"),
    _flag("devices-with-unit", (*RUN, "--n-devices", "8 GPUs"), "n_devices", "'8 GPUs'", "give a number in count"),
    _flag("hardware-typo", ("--hardware", "A10O", "--device-hours", "1000"), "hardware", "'A10O'", "did you mean"),
    _flag("country-unknown", (*RUN, "--country", "Narnia"), "country", "'Narnia'", "carbon-bayes data --countries"),
    _flag("region-unknown", (*RUN, "--region", "aws:us-east-9"), "region", "'aws:us-east-9'", "aws:us-east-1"),
    _flag("task-typo", (*RUN, "--task", "langauge"), "task", "'langauge'", "Did you mean 'language'"),
    _flag("no-run-given", (), "run", "'none'", "--input FILE"),
    _flag("chunk-size-without-input", (*RUN, "--chunk-size", "5"), "--chunk-size", "5", "for --input FILE"),
    _flag("posterior-missing", (*RUN, "--posterior", "/nonexistent/p.nc"), "/nonexistent/p.nc", "not found"),
    Case("cli-ci-deprecated-alias-works", _est(*EXACT, "--ci", "0.5", "--format", "csv"),
         check=lambda r: "--ci is deprecated, use --ci-level" in r.err and _exact_csv(r)),
    Case("cli-thousands-in-a-flag", _est(*EXACT[:2], "--device-hours", "1,000", *EXACT[4:], "--format", "csv"),
         check=_exact_csv),
    Case("cli-kilo-suffix-in-a-flag", _est(*EXACT[:2], "--device-hours", "1k", *EXACT[4:], "--format", "csv"),
         check=_exact_csv),
    Case("cli-json-output", _est(*EXACT, "--format", "json"),
         check=lambda r: close(pd.read_json(io.StringIO(r.out))["co2_t_median"][0], EXACT_T)),
    Case("cli-formula-in-run-id-is-escaped", _est(*EXACT, "--run-id", "@SUM(A1)", "--format", "csv"),
         check=lambda r: _table(r)["run_id"][0] == "'@SUM(A1)"),
]


# ------------------------------------------------------------------------------ --input files
def _input(name: str, content: str | bytes, *flags: str) -> Callable:
    return lambda p: cli("estimate", "--input", str(write(p, name, content)), *flags)


def _bad_input(label: str, name: str, content, *says: str, field: str = "input") -> Case:
    return Case(f"input-{label}", _input(name, content), field, says)


def _good_input(label: str, name: str, content, n: int = 1) -> Case:
    return Case(f"input-{label}", _input(name, content, "--format", "csv"), check=lambda r: _exact_csv(r, n))


GOOD = f"{HEADER}\n{ROW}\n"
INPUT_CASES = [
    Case("input-missing", lambda p: cli("estimate", "--input", str(p / "nope.csv")), "input",
         ("nope.csv", "not found")),
    Case("input-a-directory", lambda p: cli("estimate", "--input", str(p)), "input", ("is a directory",)),
    Case("input-a-directory-named-csv", lambda p: cli("estimate", "--input", str(write(p, "d.csv/x", "").parent)),
         "input", ("d.csv", "is a directory")),
    Case("input-with-run-flags", lambda p: cli("estimate", "--input", str(write(p, "r.csv", GOOD)), *RUN),
         "--input", ("either --input FILE or run flags",)),
    Case("input-chunk-size-zero", _input("r.csv", GOOD, "--chunk-size", "0"), "chunk_size", ("0", ">= 1")),
    Case("input-voi-too-many-runs", _input("r.csv", HEADER + "\n" + "\n".join([ROW.replace("1000", str(1000 + i))
                                                                             for i in range(51)]) + "\n", "--voi"),
         "--voi", ("51 runs", "at most 50")),
    _bad_input("empty", "e.csv", "", "the file is empty"),
    _bad_input("only-blank-lines", "e.csv", "\n\n  \n", "the file is empty"),
    _bad_input("header-only", "h.csv", HEADER + "\n", "no rows under the header"),
    _bad_input("binary", "b.csv", bytes(range(256)) * 4, "not UTF-8"),
    _bad_input("gzip", "g.csv", gzip.compress(GOOD.encode()), "gzip", "decompress"),
    _bad_input("utf16", "u.csv", GOOD.encode("utf-16"), "not UTF-8", "UTF-8"),
    _bad_input("huge-field", "big.csv", HEADER + ",model_name\n" + ROW + "," + "x" * 200_000 + "\n", "field larger"),
    _bad_input("nul-byte", "n.csv", GOOD.replace("A100", "A1\x0000"), "NUL bytes"),
    _bad_input("ragged-row", "r.csv", HEADER + "\n" + ROW + ",extra\n", "(row 2): this row has 8 fields but"),
    _bad_input("short-row", "r.csv", HEADER + "\n" + ROW.rsplit(",", 1)[0] + "\n", "(row 2): this row has 6 fields"),
    _bad_input("unquoted-decimal-comma", "c.csv", "hardware,device_hours,year\nA100,1000,5,2024\n", "row has 4"),
    _bad_input("duplicate-header-after-strip", "d.csv", "year, year\n2024,2024\n", "duplicate column name(s) ['year']"),
    _bad_input("txt-suffix", "runs.txt", GOOD, "ending in .csv or .parquet"),
    _bad_input("parquet-that-is-text", "runs.parquet", GOOD, "not a readable Parquet file"),
    _bad_input("ambiguous-delimiter", "a.csv", "hardware;year,device_hours\nA100;2024,1000\n",
               "cannot tell the delimiter"),
    _good_input("excel-sep-line", "x.csv", "sep=,\n" + GOOD),  # Excel's first line names the delimiter
    _good_input("excel-sep-line-semicolon", "x.csv", "sep=;\n" + GOOD.replace(",", ";").replace("0.4234", "0,4234")),
    _bad_input("excel-sep-line-other", "x.csv", "sep=|\n" + GOOD.replace(",", "|"), "names the delimiter '|'"),
    Case("input-bad-value-names-the-row", _input("r.csv", GOOD + ROW.replace("A100", "A10O") + "\n"), "hardware",
         ("'A10O'", "(row 3, ")),  # the second run: row 3 of the file, header = row 1
    Case("input-typo-column", _input("r.csv", GOOD.replace("device_hours", "device_hour")), "column",
         ("'device_hour'", "did you mean 'device_hours'")),
    _good_input("utf8-bom", "bom.csv", "\ufeff" + GOOD),
    _good_input("crlf", "crlf.csv", GOOD.replace("\n", "\r\n")),
    _good_input("cr-only", "cr.csv", GOOD.replace("\n", "\r")),
    _good_input("quoted-fields", "q.csv", f"{HEADER}\n\"A100\",\"1,000\",\"2024\",tdp,\"400\",1.0,0.4234\n"),
    _good_input("quoted-newline-in-name", "q.csv", f"{HEADER},model_name\n{ROW},\"two\nlines\"\n"),
    _good_input("semicolons-decimal-commas", "s.csv", GOOD.replace(",", ";").replace("1.0", "1,0").replace(".", ",")),
    _good_input("tabs", "t.tsv.csv", GOOD.replace(",", "\t")),
    _good_input("blank-lines-between-rows", "b.csv", f"{HEADER}\n\n{ROW}\n\n{ROW.replace('A100', 'a100')}\n\n", 2),
    _good_input("padded-cells", "p.csv", f"{HEADER}\n" + ", ".join(ROW.split(",")) + "\n"),
    _good_input("empty-cells-are-unknown", "e.csv", f"{HEADER},parameters,country\n{ROW},,\n"),
    _good_input("many-rows", "m.csv", HEADER + "\n" + "\n".join([ROW] * 300) + "\n", 300),
]


# ------------------------------------------------------------------------------ posterior files
def _copy(p) -> str:
    out = p / "posterior.nc"
    shutil.copy(default_posterior_path(), out)
    return str(out)


def _edited(edit: Callable) -> Callable:
    def act(p):
        path = _copy(p)
        with h5py.File(path, "r+") as f:
            edit(f)
        return load_posterior(path)

    return act


def _truncated(p):
    path = p / "half.nc"
    path.write_bytes(default_posterior_path().read_bytes()[: 1 << 20])
    return load_posterior(path)


def _not_ours(p):
    path = p / "other.nc"
    xr.Dataset({"x": ("i", np.arange(3.0))}).to_netcdf(path, engine="h5netcdf")
    return load_posterior(path)


def _nan(f):
    f["posterior/u_intercept"][0, 0] = np.nan


def _transposed(p):
    with xr.open_datatree(default_posterior_path(), engine="h5netcdf") as t:
        tree = t.load()
    post = tree["posterior"].to_dataset()
    post["u_intercept"] = post["u_intercept"].transpose("draw", "chain")
    tree["posterior"] = xr.DataTree(post)
    path = p / "t.nc"
    tree.to_netcdf(path, engine="h5netcdf")
    return load_posterior(path)


def _pf(label: str, act: Callable, *says: str) -> Case:
    return Case(f"posterior-{label}", act, ".nc", says, error=PosteriorFileError)  # the message names the file


POSTERIOR_CASES = [
    _pf("truncated", _truncated, "not a readable netCDF posterior", "re-create it"),
    _pf("another-netcdf", _not_ours, "not a carbon_bayes posterior", "carbon-bayes fit"),
    _pf("no-fit-data-group", _edited(lambda f: f.__delitem__("fit_data")), "missing the 'fit_data' group"),
    _pf("no-posterior-group", _edited(lambda f: f.__delitem__("posterior")), "missing the 'posterior' group"),
    _pf("variable-missing", _edited(lambda f: f["posterior"].__delitem__("u_intercept")), "lacks 'u_intercept'"),
    _pf("nan-draw", _edited(_nan), "u_intercept has non-finite draws"),
    _pf("format-attribute-missing", _edited(lambda f: f.attrs.__delitem__("format")), "not a carbon_bayes posterior"),
    _pf("model-config-not-json", _edited(lambda f: f.attrs.__setitem__("model_config", "{oops")),
        "corrupt configuration attributes"),
    _pf("draws-edited", _edited(lambda f: f["posterior/u_intercept"].__setitem__((0, 0), 0.123)), "content hash"),
    _pf("wrong-dims", _transposed, "u_intercept has dims ('draw', 'chain')"),
    Case("cli-posterior-truncated", lambda p: cli("estimate", *RUN, "--posterior", str(write(
        p, "half.nc", default_posterior_path().read_bytes()[: 1 << 20]))), "posterior", ("not a readable netCDF",)),
    Case("posterior-an-unchanged-copy-loads", lambda p: load_posterior(_copy(p)),
         check=lambda post: post.n_draws == load_posterior().n_draws),
]

CASES = CLI_CASES + INPUT_CASES + POSTERIOR_CASES


@pytest.mark.parametrize("case", CASES, ids=ids(CASES))
def test_files_and_cli_case(case, tmp_path):
    run_case(case, tmp_path)
