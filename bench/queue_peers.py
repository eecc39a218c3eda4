"""The queueing core against Ciw, the peer discrete-event queueing library, on the same M/M/c networks.

Usage::

    python bench/queue_peers.py                      # M/M/3 and a tandem M/M/3 -> M/M/2, rho 0.7, 400,000 customers
    python bench/queue_peers.py --customers 50000

Both sides are fed the **same** inter-arrival and service times (Ciw through its
``Sequential`` distributions, which hand out a given list in order), so they must
give every customer the same wait: the check is exact, not statistical.  The common
mean wait is then held against Erlang C, with its standard error from batch means
(20 batches), so one can see whether the run is long enough for a 2% agreement.
Speed is customers served per second on each side, the same customers.

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
    """One node of a network: the two sides' mean waits, their largest difference, Erlang C."""

    lanes: int
    rho: float
    mean_wait_core: float
    mean_wait_ciw: float
    max_abs_difference: float
    erlang_c: float
    relative_to_erlang_c: float
    standard_error: float


@dataclass(frozen=True)
class NetworkResult:
    """A network run through both: per node results, customers, and each side's speed."""

    name: str
    customers: int
    nodes: list[NodeResult]
    core_seconds: float
    ciw_seconds: float
    core_customers_per_second: float
    ciw_customers_per_second: float


def _node_result(lanes: int, rate: float, mu: float, core: np.ndarray, ciw_wait: np.ndarray, warm: int) -> NodeResult:
    theory = erlang_c_wait(rate, mu, lanes)
    mean_core = float(core[warm:].mean())
    return NodeResult(
        lanes=lanes,
        rho=rate / (lanes * mu),
        mean_wait_core=mean_core,
        mean_wait_ciw=float(ciw_wait[warm:].mean()),
        max_abs_difference=float(np.abs(core - ciw_wait).max()),
        erlang_c=theory,
        relative_to_erlang_c=mean_core / theory - 1.0,
        standard_error=batch_means_se(core[warm:]) / theory,
    )


def compare_network(
    customers: int,
    *,
    arrival_rate: float = 2.1,
    nodes: tuple[tuple[int, float], ...] = ((3, 1.0),),
    seed: int = 20220921,
) -> NetworkResult:
    """Run a line of M/M/c nodes ((lanes, service rate) each) through the queueing core and through Ciw.

    The first 5% of customers are left out of the means (the empty-system start).
    """
    import ciw

    from sim.model.queueing import SERVED, LaneBank, scaled_schedule

    rng = np.random.default_rng(seed)
    inter = rng.exponential(1.0 / arrival_rate, customers)
    services = [rng.exponential(1.0 / mu, customers) for _, mu in nodes]
    warm = customers // 20

    # The core: node k serves, in the order they reach it, the departures of node k - 1.
    began = time.perf_counter()
    arrive = np.cumsum(inter)
    core_waits, order = [], np.arange(customers)
    for (lanes, _), service in zip(nodes, services):
        start, leave, outcome = LaneBank(scaled_schedule([0.0], [lanes], 1.0)).serve(arrive, service)
        if not (outcome == SERVED).all():
            raise AssertionError("an M/M/c lane bank turned someone away")
        core_waits.append((start - arrive, order))
        # Who reaches the next node when: in order of leaving this one.
        by_leave = np.argsort(leave, kind="stable")
        arrive, order = leave[by_leave], order[by_leave]
    core_seconds = time.perf_counter() - began

    # Ciw: the same times, handed out in the order Ciw asks for them.  After the last
    # customer the next arrival is pushed past the end of the run, which is late
    # enough for everyone to have been served (the last arrival plus all the service).
    routing = [[1.0 if j == k + 1 else 0.0 for j in range(len(nodes))] for k in range(len(nodes))]
    end = float(inter.sum() + sum(s.sum() for s in services)) + 1.0
    network = ciw.create_network(
        arrival_distributions=[ciw.dists.Sequential([*inter.tolist(), 2 * end])] + [None] * (len(nodes) - 1),
        service_distributions=[ciw.dists.Sequential(s.tolist()) for s in services],
        number_of_servers=[lanes for lanes, _ in nodes],
        routing=routing,
    )
    began = time.perf_counter()
    simulation = ciw.Simulation(network)
    simulation.simulate_until_max_time(end)
    ciw_seconds = time.perf_counter() - began
    records = simulation.get_all_records()

    results = []
    for k, ((lanes, mu), (core_wait, who)) in enumerate(zip(nodes, core_waits)):
        at_node = sorted((r for r in records if r.node == k + 1), key=lambda r: r.arrival_date)
        if len(at_node) != customers:
            raise AssertionError(f"Ciw served {len(at_node)} customers at node {k + 1}, expected {customers}")
        # Both in the order customers reach the node.
        ciw_wait = np.array([r.waiting_time for r in at_node])
        results.append(_node_result(lanes, arrival_rate, mu, core_wait, ciw_wait, warm))
    name = " -> ".join(f"M/M/{lanes}" for lanes, _ in nodes)
    return NetworkResult(
        name=name,
        customers=customers,
        nodes=results,
        core_seconds=core_seconds,
        ciw_seconds=ciw_seconds,
        core_customers_per_second=customers / core_seconds,
        ciw_customers_per_second=customers / ciw_seconds,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--customers", type=int, default=400_000)
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    for nodes in (((3, 1.0),), ((3, 1.0), (2, 1.5))):
        print(json.dumps(asdict(compare_network(args.customers, nodes=nodes))))


if __name__ == "__main__":
    main()
