"""capsim check: the exact tier, the statistical tier (Welch + Holm) and the
scenario-hash guard, on small scenarios written to tmp_path."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from conftest import make_scenario, scenario_data

from sim import run, write
from sim.output.check import check_exact, check_statistical, holm, scenario_changed

REPS = 30


def results_dir(tmp_path, name, scenario, seed):
    return write(run(scenario, replications=REPS, seed=seed), tmp_path / name)


@pytest.fixture(scope="module")
def base_scenario():
    return make_scenario(horizon=300, warmup=50)


@pytest.fixture(scope="module")
def baseline(tmp_path_factory, base_scenario):
    return results_dir(tmp_path_factory.mktemp("base"), "base", base_scenario, seed=1)


def test_exact_tier_passes_on_a_rerun(tmp_path, base_scenario, baseline):
    """Same scenario, same seed: byte-identical data files."""
    rerun = results_dir(tmp_path, "rerun", base_scenario, seed=1)
    assert check_exact(rerun, baseline).passed


def test_exact_tier_fails_on_one_character_and_shows_it(tmp_path, base_scenario, baseline):
    """A one-character change in a data file fails, and the diff shows the line."""
    rerun = results_dir(tmp_path, "rerun", base_scenario, seed=1)
    occupancy = (rerun / "occupancy.csv").read_text().splitlines()
    occupancy[10] = occupancy[10][:-1] + ("7" if occupancy[10][-1] != "7" else "8")
    (rerun / "occupancy.csv").write_text("\n".join(occupancy) + "\n")
    report = check_exact(rerun, baseline)
    assert not report.passed
    assert "occupancy.csv differs" in report.messages[0]
    assert "+" + occupancy[10] in report.messages[0]


@pytest.mark.slow
def test_statistical_false_alarm_rate_is_what_alpha_promises(tmp_path, base_scenario, baseline):
    """Only the seed changes, 20 times: with Holm at alpha = 0.01 the family-wise
    false-alarm rate is at most 1%, so 2 or more alarms in 20 (probability 1.7%
    if the rate were 1%) means the test is miscalibrated."""
    alarms = sum(
        not check_statistical(results_dir(tmp_path, f"seed{seed}", base_scenario, seed=100 + seed), baseline).passed
        for seed in range(20)
    )
    assert alarms <= 1


@pytest.mark.parametrize("change", [
    {"return_probability": 0.66},
    {"beds": 18},
])
def test_statistical_tier_catches_a_real_change_and_names_it(tmp_path, change):
    """A return probability moved from 0.60 to 0.66, or capacity cut by 10%:
    the check fails and names metrics that moved."""
    def variant(return_probability=0.6, beds=20):
        data = scenario_data(horizon=300, warmup=50, capacity={"beds": beds}, max_detention=15)
        data["streams"][0]["origins"][0]["return_probability"] = return_probability
        return make_scenario(**data)
    old = results_dir(tmp_path, "old", variant(), seed=1)
    new = results_dir(tmp_path, "new", variant(**change), seed=2)
    report = check_statistical(new, old)
    assert not report.passed
    moved = {m.metric for m in report.metrics if m.regression}
    expected = "returned" if "return_probability" in change else "occupancy_mean"
    assert expected in moved


def test_a_changed_scenario_is_reported_as_such(tmp_path, baseline):
    """The scenario hash is compared first: a new scenario is not model drift."""
    other = results_dir(tmp_path, "other", make_scenario(horizon=300, warmup=50, max_detention=50), seed=1)
    message = scenario_changed(other, baseline)
    assert "scenario changed" in message
    assert scenario_changed(baseline, baseline) is None
    # what changed, from the scenarios as run (durations in days), and how to refresh the baseline
    changed = [line for line in message.splitlines() if line[:1] in "+-" and line[:3] not in ("+++", "---")]
    assert changed == ["-max_detention: 100000.0", "+max_detention: 50.0"]
    assert "--update" in message


def test_holm_matches_the_textbook_example():
    """Oracle: Holm (1979) step-down, computed by hand for four p-values."""
    assert np.allclose(holm([0.01, 0.04, 0.03, 0.005]), [0.03, 0.06, 0.06, 0.02])


@pytest.mark.slow
def test_update_writes_a_baseline_that_the_next_check_passes(tmp_path):
    """Another project's CI recipe: `check --scenario F --update` writes BASELINES/NAME from the
    scenario's own seed; the next `check --scenario F` passes the exact tier."""
    from click.testing import CliRunner

    from sim.cli import main

    scenario = tmp_path / "mine.yaml"
    scenario.write_text((Path(__file__).parents[1] / "scenarios" / "today.yaml").read_text(), encoding="utf-8")
    runner = CliRunner()
    written = runner.invoke(main, ["check", "--scenario", str(scenario), "--baselines", str(tmp_path / "b"),
                                   "--update", "-j", "1"])
    assert written.exit_code == 0, written.output
    assert (tmp_path / "b" / "today" / "summary.json").is_file()
    checked = runner.invoke(main, ["check", "--scenario", str(scenario), "--baselines", str(tmp_path / "b"),
                                   "--tier", "exact", "-j", "1"])
    assert checked.exit_code == 0 and "PASS" in checked.output, checked.output
