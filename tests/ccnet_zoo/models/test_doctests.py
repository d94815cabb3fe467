"""The examples in the docstrings of the models package run as written."""

from __future__ import annotations

import doctest
import importlib

import pytest


@pytest.mark.parametrize("name", ["acq_time", "checkpoint", "config", "factory", "mean", "schedulers", "text"])
def test_docstring_examples(name: str) -> None:
    module = importlib.import_module(f"ccnet_zoo.models.{name}")
    result = doctest.testmod(module)
    assert result.attempted > 0 and result.failed == 0
