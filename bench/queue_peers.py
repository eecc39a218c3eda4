"""The queueing core against Ciw, the peer discrete-event queueing library, on the same M/M/c networks.

Usage::

    python bench/queue_peers.py                      # M/M/3 and a tandem M/M/3 -> M/M/2, rho 0.7
    python bench/queue_peers.py --customers 50000 --long-run 1000000

Both sides are fed the **same** inter-arrival and service times (Ciw through its
``Sequential`` distributions, which hand out a given list in order), so they must
give every customer the same wait: the check is exact, not statistical.  Speed is
customers served per second on each side, the same customers.  Then the core alone
serves a long run (millions of customers, which Ciw would take many minutes over)
whose mean wait is held against Erlang C, with its standard error from batch means
(20 batches), small enough for a 2% agreement to mean something; as both sides give
the same waits on the same times, it holds for Ciw's waits too.

A tandem: arrivals at rate lambda to node 1 (c1 lanes, rate mu1 each), then node 2
(c2 lanes, rate mu2).  By Burke's theorem node 2 sees Poisson arrivals too, so each
node's mean wait is its own Erlang C.  Through the core, node 2 serves node 1's
departures in the order they leave node 1, which is the order Ciw hands out node 2's
service times in.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent


def erlang_c_wait(arrival_rate: float, service_rate: float, lanes: int) -> float:
    """Mean wait in queue of M/M/c (Erlang C)."""
    offered = arrival_rate / service_rate
    rho = offered / lanes
    if rho >= 1:
        raise ValueError(f"utilisation {rho} >= 1: no steady state")
    top = offered**lanes / math.factorial(lanes) / (1 - rho)
    bottom = sum(offered**k / math.factorial(k) for k in range(lanes)) + top
    return top / bottom / (lanes * service_rate - arrival_rate)


def batch_means_se(values: np.ndarray, batches: int = 20) -> float:
    """Standard error of the mean of a correlated series, from the means of consecutive batches."""
    means = np.array([chunk.mean() for chunk in np.array_split(values, batches)])
    return float(means.std(ddof=1) / math.sqrt(batches))


@dataclass(frozen=True)
class NodeResult:
    """One node of a network: both sides' mean waits on the same customers, and the core against Erlang C.

    ``max_abs_difference`` is the largest difference between the two sides' waits of
    one customer.  The Erlang C check is on the core's own long run (``long_run_*``),
    long enough for a standard error well under 2%.
    """

    lanes: int
    rho: float
    mean_wait_core: float
    mean_wait_ciw: float
    max_abs_difference: float
    erlang_c: float
    long_run_mean_wait: float
    relative_to_erlang_c: float
    standard_error: float


@dataclass(frozen=True)
class NetworkResult:
    """A network run through both: per node results, customers, and each side's speed on the same customers."""

    name: str
    customers: int
    long_run_customers: int
    nodes: list[NodeResult]
    core_seconds: float
    ciw_seconds: float
    core_customers_per_second: float
    ciw_customers_per_second: float
    long_run_core_customers_per_second: float


def _times(customers: int, arrival_rate: float, nodes: tuple[tuple[int, float], ...], seed: int):
    rng = np.random.default_rng(seed)
    return rng.exponential(1.0 / arrival_rate, customers), [rng.exponential(1.0 / mu, customers) for _, mu in nodes]


def core_network(inter: np.ndarray, services: list[np.ndarray], lanes: list[int]) -> tuple[list[np.ndarray], float]:
    """Each node's waits through the queueing core, in the order customers reach it, and the seconds it took.

    Node ``k`` serves, in the order they reach it, the departures of node ``k - 1``;
    its ``j``-th service time goes to the ``j``-th customer to reach it.
    """
    from sim.model.queueing import SERVED, LaneBank, scaled_schedule

    began = time.perf_counter()
    arrive, waits = np.cumsum(inter), []
    for c, service in zip(lanes, services):
        start, leave, outcome = LaneBank(scaled_schedule([0.0], [c], 1.0)).serve(arrive, service)
        if not (outcome == SERVED).all():
            raise AssertionError("an M/M/c lane bank turned someone away")
        waits.append(start - arrive)
        arrive = np.sort(leave, kind="stable")  # who reaches the next node when
    return waits, time.perf_counter() - began


def ciw_network(inter: np.ndarray, services: list[np.ndarray], lanes: list[int]) -> tuple[list[np.ndarray], float]:
    """Each node's waits through Ciw, fed the same times, in the order customers reach it, and the seconds it took."""
    import ciw

    # After the last customer the next arrival is pushed past the end of the run, which
    # is late enough for everyone to have been served (the last arrival plus all service).
    n = len(lanes)
    end = float(inter.sum() + sum(s.sum() for s in services)) + 1.0
    network = ciw.create_network(
        arrival_distributions=[ciw.dists.Sequential([*inter.tolist(), 2 * end])] + [None] * (n - 1),
        service_distributions=[ciw.dists.Sequential(s.tolist()) for s in services],
        number_of_servers=list(lanes),
        routing=[[1.0 if j == k + 1 else 0.0 for j in range(n)] for k in range(n)],
    )
    began = time.perf_counter()
    simulation = ciw.Simulation(network)
    simulation.simulate_until_max_time(end)
    seconds = time.perf_counter() - began
    records = simulation.get_all_records()
    waits = []
    for k in range(n):
        at_node = sorted((r for r in records if r.node == k + 1), key=lambda r: r.arrival_date)
        if len(at_node) != len(inter):
            raise AssertionError(f"Ciw served {len(at_node)} customers at node {k + 1}, expected {len(inter)}")
        waits.append(np.array([r.waiting_time for r in at_node]))
    return waits, seconds


def compare_network(
    customers: int,
    *,
    long_run_customers: int | None = None,
    arrival_rate: float = 2.1,
    nodes: tuple[tuple[int, float], ...] = ((3, 1.0),),
    seed: int = 20220921,
) -> NetworkResult:
    """A line of M/M/c nodes ((lanes, service rate) each) through the queueing core and Ciw, and the core against Erlang C.

    ``customers`` go through both; the core alone then serves ``long_run_customers``
    more (other random times; default: the same number) for the Erlang C check.  The
    first 5% of customers are left out of the means (the empty-system start).
    """
    lanes = [c for c, _ in nodes]
    inter, services = _times(customers, arrival_rate, nodes, seed)
    core, core_seconds = core_network(inter, services, lanes)
    peer, ciw_seconds = ciw_network(inter, services, lanes)
    long_run_customers = long_run_customers or customers
    long_inter, long_services = _times(long_run_customers, arrival_rate, nodes, seed + 1)
    long_core, long_seconds = core_network(long_inter, long_services, lanes)
    warm, long_warm = customers // 20, long_run_customers // 20
    results = []
    for (c, mu), core_wait, ciw_wait, long_wait in zip(nodes, core, peer, long_core):
        theory = erlang_c_wait(arrival_rate, mu, c)
        long_mean = float(long_wait[long_warm:].mean())
        results.append(
            NodeResult(
                lanes=c,
                rho=arrival_rate / (c * mu),
                mean_wait_core=float(core_wait[warm:].mean()),
                mean_wait_ciw=float(ciw_wait[warm:].mean()),
                max_abs_difference=float(np.abs(core_wait - ciw_wait).max()),
                erlang_c=theory,
                long_run_mean_wait=long_mean,
                relative_to_erlang_c=long_mean / theory - 1.0,
                standard_error=batch_means_se(long_wait[long_warm:]) / theory,
            )
        )
    return NetworkResult(
        name=" -> ".join(f"M/M/{c}" for c in lanes),
        customers=customers,
        long_run_customers=long_run_customers,
        nodes=results,
        core_seconds=core_seconds,
        ciw_seconds=ciw_seconds,
        core_customers_per_second=customers / core_seconds,
        ciw_customers_per_second=customers / ciw_seconds,
        long_run_core_customers_per_second=long_run_customers / long_seconds,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--customers", type=int, default=200_000, help="Through both [default: 200,000].")
    parser.add_argument("--long-run", type=int, default=4_000_000, help="Through the core alone, for Erlang C [default: 4,000,000].")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    for nodes in (((3, 1.0),), ((3, 1.0), (2, 1.5))):
        print(json.dumps(asdict(compare_network(args.customers, long_run_customers=args.long_run, nodes=nodes))))


if __name__ == "__main__":
    main()
