"""The examples in the docstrings run and print what they say."""

import doctest
import importlib

import pytest

DOCUMENTED = ["noloop.vectorized", "noloop.linear_model._logistic", "noloop.persistence",
              "noloop.linear_model._cv"]


@pytest.mark.parametrize("module_name", DOCUMENTED)
def test_docstring_examples_run(module_name):
    module = importlib.import_module(module_name)
    failures, attempted = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert attempted > 0, f"{module_name} has no examples"
    assert failures == 0
