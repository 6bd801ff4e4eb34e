"""Package-level promises: pure imports, docstrings that run, no global random state."""

import doctest
import importlib
import inspect
import subprocess
import sys
from pathlib import Path

import pytest

import sampling

MODULES = [
    "allocation",
    "audit",
    "design",
    "draw",
    "errors",
    "estimate",
    "framehash",
    "microdata",
    "nonresponse",
    "proportions",
    "ranking",
    "ranktests",
    "rates",
    "shrinkage",
    "subgroup",
    "verify",
    "weights",
]
ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_run(name):
    module = importlib.import_module(f"sampling.{name}")
    result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0


@pytest.mark.parametrize("name", sampling.__all__)
def test_public_functions_have_numpydoc(name):
    obj = getattr(sampling, name)
    if inspect.isfunction(obj):
        doc = inspect.getdoc(obj) or ""
        for section in ("Parameters", "Returns", "References"):
            assert f"\n{section}\n---" in doc, f"{name} lacks {section}"
    elif inspect.isclass(obj):
        assert inspect.getdoc(obj)


def test_imports_only_numpy_scipy_and_stdlib():
    code = (
        "import sys, sampling; "
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in "
        "{'samplics', 'pandas', 'polars', 'flask', 'sqlalchemy', 'survey_service', "
        "'call_scripts'}); print(bad)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True
    )
    assert out.stdout.strip() == "[]"


def test_sampling_error_is_a_value_error():
    assert issubclass(sampling.SamplingError, ValueError)
