"""The benchmark's parts work: the naive simpy model accounts for everyone and does the engine's work, the
queueing core and Ciw give every customer the same wait, and the benchmark runs end to end at a tiny size.

No timing is checked here: speed is measured by ``bench/run.py``, never in the tests.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

import sim
from model_scenarios import network_scenario
from sim.run.api import resolve_scenario

BENCH = Path(__file__).resolve().parent.parent / "bench"
sys.path.insert(0, str(BENCH))

from naive_simpy import simulate_naive  # noqa: E402
from queue_peers import compare_network  # noqa: E402
from run import Plan, fit_line, in_process, render, run_benchmark  # noqa: E402


@pytest.mark.parametrize("weight", [0.0, 1.0])
def test_naive_model_looks_ahead_as_the_engine(weight: float) -> None:
    """Two equally good countries, one with a flight on (tests/test_lookahead.py): looking ahead, half
    the parties (those who can fly) lean to it, in the naive model as in the engine."""
    from test_lookahead import _world

    world = _world(weight)
    naive = simulate_naive(resolve_scenario(world).scenario, scale=1.0, seed=7).entries_by_country
    daily = sim.run(world, seed=7).daily.to_pylist()
    engine_x, engine_y = (
        sum(row["value"] for row in daily if row["place"] == iso and row["measure"] == "entries") for iso in ("XA", "YB")
    )
    naive_share, engine_share = naive["XA"] / (naive["XA"] + naive["YB"]), engine_x / (engine_x + engine_y)
    # Myopic: an even split; looking ahead: 0.5 x 0.74 + 0.5 x 0.5 = 0.62 (binomial noise ~0.005 each).
    expected = 0.5 if weight == 0 else 0.62
    assert naive_share == pytest.approx(expected, abs=0.03)
    assert engine_share == pytest.approx(expected, abs=0.03)


def test_naive_model_accounts_for_everyone_and_enters_as_many_as_the_engine() -> None:
    scenario = resolve_scenario(network_scenario()).scenario
    naive = simulate_naive(scenario, scale=0.02, seed=7)
    engine = sim.run(network_scenario(), scale=0.02, seed=7)
    assert naive.persons == engine.people["departed"] > 1000
    assert sum(naive.by_state.values()) == naive.persons
    legs = engine.ledger.legs
    entered = int(engine.ledger.parties.size[legs["party"][legs["decision"] == 0]].sum())
    # Not equal (its own random numbers, live waits), but the same work: within 10%.
    assert sum(naive.entries_by_country.values()) == pytest.approx(entered, rel=0.10)
    assert naive.legs == pytest.approx(len(legs["party"]), rel=0.10)


@pytest.mark.parametrize("nodes", [((3, 1.0),), ((3, 1.0), (2, 1.5))], ids=["M/M/3", "M/M/3 -> M/M/2"])
def test_queueing_core_and_ciw_give_every_customer_the_same_wait(nodes: tuple[tuple[int, float], ...]) -> None:
    result = compare_network(20_000, long_run_customers=20_000, nodes=nodes)
    for node in result.nodes:
        assert node.max_abs_difference <= 1e-9
        assert node.mean_wait_ciw == pytest.approx(node.mean_wait_core, rel=0.02)
        assert node.rho == pytest.approx(0.7)


def test_fit_line_recovers_a_line() -> None:
    fit = fit_line([10_000, 100_000, 1_000_000], [0.5 + 2e-6 * n for n in (10_000, 100_000, 1_000_000)])
    assert fit == {"fixed_seconds": 0.5, "microseconds_per_person": 2.0, "r_squared": 1.0}


def test_benchmark_runs_end_to_end_at_a_tiny_size() -> None:
    plan = Plan(scale=0.002, repeat=1, big=0.002, naive_scale=0.002, customers=2_000, tandem_customers=1_000,
                long_run_customers=5_000, scaling_persons=(1_000, 2_000))
    result = run_benchmark(plan, progress=lambda _: None, runner=in_process)
    table = render(result)
    for heading in ("Engine", "Naive simpy", "Ciw", "Scaling"):
        assert heading in table
    assert [r["persons"] > 0 for r in result["engine"]] == [True, True, True]
    assert result["naive_simpy"]["persons"] == result["engine"][0]["persons"]
    assert len(result["scaling"]["runs"]) == 2 and result["commit"]
