"""Shared helpers: small scenarios built in code, so each test states its model."""

from __future__ import annotations

import copy
import io

import pytest
from ruamel.yaml import YAML

from sim import Scenario, parse_scenario


def scenario_data(**overrides) -> dict:
    """A one-stream loss system (c = 20, exponential stays of mean 10, rate 2/day),
    with `overrides` merged into the top level."""
    data = {
        "version": 1,
        "name": "test",
        "horizon": 400,
        "warmup": 50,
        "replications": 4,
        "seed": 11,
        "max_detention": 100_000,
        "capacity": {"beds": 20},
        "streams": [
            {
                "name": "s",
                "arrivals": {"rate": 2.0},
                "origins": [
                    {"name": "all", "share": 1, "return_probability": 1,
                     "time_to_return": {"dist": "exponential", "mean": 10}},
                ],
            }
        ],
    }
    data.update(copy.deepcopy(overrides))
    return data


def to_yaml(data: dict) -> str:
    buffer = io.StringIO()
    YAML().dump(data, buffer)
    return buffer.getvalue()


def make_scenario(**overrides) -> Scenario:
    """Through the YAML parser, so the cross-checks of a real file apply."""
    return parse_scenario(to_yaml(scenario_data(**overrides)), "test.yaml")


@pytest.fixture
def small_scenario() -> Scenario:
    return make_scenario()
