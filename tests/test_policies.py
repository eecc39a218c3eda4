"""Each policy kind against an exact or theoretical expectation, in small purpose-made worlds.

Every test builds its own scenario with :func:`model_scenarios.policy_world` (one origin,
a few crossings, scale 1, fixed service times where the expectation needs them) and
checks the ledger, not just the daily table.  Every run is also held to the accounting
identities (:func:`assert_accounted`): the final states partition the departed, and the
final ``stock`` of each country equals the persons the ledger leaves there.
"""

from __future__ import annotations

import heapq
import math

import numpy as np
import pytest

import sim
from sim.model.ledger import Decision, MoveKind, Status
from sim.model.policies import GROUPS
from sim.model.population import BASELINE, POOL
from sim.model.queueing import ABANDONED, CLOSED, SERVED
from sim.scenario.schema import Group
from helpers import STAYING, persons_in_countries
from model_scenarios import country, crossing, day, group, lanes, policy_world

DRAFT = GROUPS.index(Group.draft_age_men)
FAMILIES = GROUPS.index(Group.families)


# -- helpers -----------------------------------------------------------------------------


def daily(result: sim.Result, place: str, measure: str) -> np.ndarray:
    """One measure at one place, day by day (zeros where the table has no row)."""
    table = result.daily
    days = int(round(result.ledger.horizon_hours / 24))
    dates = [day(n) for n in range(days)]
    values = np.zeros(days)
    for d, p, m, v in zip(*(table[c].to_pylist() for c in ("date", "place", "measure", "value"))):
        if p == place and m == measure:
            values[dates.index(d)] = v
    return values


def assert_accounted(result: sim.Result) -> None:
    """Accounting: states partition the departed; each country's final stock is who the ledger leaves there.

    Exact: ``sum(by_state) == departed`` (persons), and for every country the last
    day's ``stock`` times ``scale`` equals the persons whose final country is that
    country and whose status is in_country, asylum_pending or asylum_granted, plus
    those who left their stay there to move on and have not passed the next border.
    """
    people, ledger = result.people, result.ledger
    assert sum(people["by_state"].values()) == people["departed"] == int(ledger.parties.size.sum())
    staying = np.isin(ledger.status, STAYING)
    in_countries = persons_in_countries(ledger)
    for index, c in enumerate(result.scenario.countries):
        stock = daily(result, c.iso, "stock")[-1] * result.scale
        assert stock == pytest.approx(in_countries[index], abs=1e-6), c.iso
    # Nobody is counted in a country without being in one, nor the other way round.
    assert (ledger.country[staying] >= 0).all()
    assert (ledger.country[~staying] == -1).all()


def legs_at(result: sim.Result, crossing_id: str) -> np.ndarray:
    """Mask of the legs at one crossing."""
    ledger = result.ledger
    index = [c.id for c in result.scenario.crossings].index(crossing_id)
    return ledger.alternatives.crossing[ledger.legs["alt"]] == index


def country_index(result: sim.Result, iso: str) -> int:
    return [c.iso for c in result.scenario.countries].index(iso)


def entries_into(result: sim.Result, iso: str) -> np.ndarray:
    """Mask of the legs that entered country ``iso``."""
    ledger = result.ledger
    return (ledger.legs["decision"] == Decision.ENTERED) & (
        ledger.alternatives.country[ledger.legs["alt"]] == country_index(result, iso)
    )


# -- exit screening ------------------------------------------------------------------------


def screening_world(policies: list[dict]) -> dict:
    """Two foot crossings out of the home country, x into KZ and y into GE; a pool of three groups."""
    return policy_world(
        days=10,
        countries=[country("KZ"), country("GE")],
        crossings=[
            crossing("x", "KZ", hours=5, foot=lanes(2, 1.0, "exponential")),
            crossing("y", "GE", hours=6, foot=lanes(2, 1.0, "exponential")),
        ],
        departures={"pool_persons": 3000, "pool_hazard_per_day": 0.1},
        groups=[
            group("draft_age_men", 0.5, (0.6, 0.3, 0.1, 0, 0)),
            group("families", 0.3, (0, 0.3, 0.4, 0.2, 0.1)),
            group("others", 0.2),
        ],
        policies=policies,
    )


@pytest.mark.parametrize("outcome", ["turned_back", "mobilised"])
def test_exit_screening_stops_every_draft_age_man_at_its_crossing_and_no_one_else(outcome: str) -> None:
    """Exit screening of draft-age men at x, share 1, days 3–6: none of them passes x then.

    Exact expectations, against the same run without the screening (common seed):

    * no draft-age-men leg at x ending (``leave``) on days 3–6 enters; every one of
      them is stopped with the policy's outcome, and none is stopped on other days;
    * those parties end as ``turned_back`` (or ``mobilised``) in ``by_state``, with
      exactly their persons; they try no other crossing;
    * every other leg — other groups at x, everyone at y — is identical to the run
      without the screening (screening follows service, so queues are unchanged);
    * the daily ``turned_back``/``mobilised`` at x sums to the same persons.
    """
    screening = {
        "kind": "exit_screening", "crossing": "x", "from": day(3), "until": day(6),
        "who": {"groups": ["draft_age_men"]}, "share": 1, "outcome": outcome,
    }
    free, screened = sim.run(screening_world([])), sim.run(screening_world([screening]))
    for result in (free, screened):
        assert_accounted(result)
    legs, parties = screened.ledger.legs, screened.ledger.parties
    at_x = legs_at(screened, "x")
    draft = parties.group[legs["party"]] == DRAFT
    leave_day = legs["leave"] // 24
    in_force = (leave_day >= 3) & (leave_day <= 6)
    code = Decision.TURNED_BACK if outcome == "turned_back" else Decision.MOBILISED
    status = Status.TURNED_BACK if outcome == "turned_back" else Status.MOBILISED
    stopped = legs["decision"] == code
    assert not (at_x & draft & in_force & (legs["decision"] == Decision.ENTERED)).any()
    np.testing.assert_array_equal(stopped, at_x & draft & in_force & (legs["served"] == SERVED))
    assert stopped.sum() > 50  # the test has teeth
    # Those stopped end there, with exactly their persons, and try nothing else.
    stopped_parties = legs["party"][stopped]
    assert (screened.ledger.status[stopped_parties] == status).all()
    persons = int(parties.size[stopped_parties].sum())
    assert screened.people["by_state"][outcome] == persons
    assert screened.people["by_state"]["turned_back" if outcome == "mobilised" else "mobilised"] == 0
    assert np.bincount(legs["party"], minlength=len(parties))[stopped_parties].max() == 1
    assert daily(screened, "x", outcome).sum() == pytest.approx(persons)
    # Everyone else is untouched: the same legs, to the bit.
    base = free.ledger.legs
    assert len(base["party"]) == len(legs["party"])
    np.testing.assert_array_equal(base["party"], legs["party"])
    others = ~stopped
    for column in ("attempt", "alt", "arrive", "start", "leave", "served", "decision"):
        np.testing.assert_array_equal(base[column][others], legs[column][others], err_msg=column)
    assert (base["decision"][stopped] == Decision.ENTERED).all()
    # Draft-age men still pass y while x screens them, and pass x outside the window.
    assert (legs_at(screened, "y") & draft & in_force & (legs["decision"] == Decision.ENTERED)).any()
    assert (at_x & draft & ~in_force & (legs["decision"] == Decision.ENTERED)).any()


def screen_draws(result: sim.Result, legs: np.ndarray) -> np.ndarray:
    """Each leg's own exit-screening uniform (its party's, for its attempt)."""
    ledger = result.ledger
    return ledger.parties.draws(ledger.legs["party"][legs], ledger.legs["attempt"][legs], "screen")


def test_a_known_exit_screening_keeps_away_exactly_those_it_would_stop() -> None:
    """Screening of draft-age men at x for the whole run, share 0.6, ``deterred_share`` 1.

    Exact expectations: the booth would stop a draft-age party whose screening
    uniform for the attempt is below 0.6, and the choice reads that same uniform, so

    * no one is turned back, yet draft-age men still pass x: every one of their legs
      at x has its uniform at or above 0.6;
    * the deterred choose y instead (draft-age legs at y with a uniform below 0.6,
      and more draft-age men enter GE than without the screening);
    * with ``deterred_share`` 0.5, half of those it would stop keep away: legs at x
      with a uniform below 0.3 do not exist, and those between 0.3 and 0.6 are all
      turned back;
    * screened at both crossings with share 1, every draft-age party stays home with
      no crossing to try (``no_route_home``, exactly their persons), and none is stopped.
    """
    def screening(share: float, deterred: float, crossing: str | None = "x") -> dict:
        rule = {"kind": "exit_screening", "from": day(0), "who": {"groups": ["draft_age_men"]},
                "share": share, "deterred_share": deterred}
        return rule | ({"crossing": crossing} if crossing else {})

    free = sim.run(screening_world([]))
    kept_away = sim.run(screening_world([screening(0.6, 1.0)]))
    half = sim.run(screening_world([screening(0.6, 0.5)]))
    nowhere = sim.run(screening_world([screening(1.0, 1.0, crossing=None)]))
    for result in (free, kept_away, half, nowhere):
        assert_accounted(result)

    legs, parties = kept_away.ledger.legs, kept_away.ledger.parties
    draft = parties.group[legs["party"]] == DRAFT
    at_x, at_y = legs_at(kept_away, "x"), legs_at(kept_away, "y")
    assert kept_away.people["by_state"]["turned_back"] == 0
    assert (at_x & draft).sum() > 50  # the test has teeth
    assert (screen_draws(kept_away, at_x & draft) >= np.float32(0.6)).all()
    assert (screen_draws(kept_away, at_y & draft) < np.float32(0.6)).sum() > 50
    draft_into = lambda r: (entries_into(r, "GE") & (r.ledger.parties.group[r.ledger.legs["party"]] == DRAFT)).sum()  # noqa: E731
    assert draft_into(kept_away) > draft_into(free) + 50

    legs = half.ledger.legs
    tried_x = legs_at(half, "x") & (half.ledger.parties.group[legs["party"]] == DRAFT)
    uniform = screen_draws(half, tried_x)
    assert not (uniform < np.float32(0.3)).any()
    between = uniform < np.float32(0.6)
    assert between.sum() > 20
    assert (legs["decision"][tried_x][between & (legs["served"][tried_x] == SERVED)] == Decision.TURNED_BACK).all()
    assert half.people["by_state"]["turned_back"] > 0

    parties, status = nowhere.ledger.parties, nowhere.ledger.status
    assert not (parties.group[nowhere.ledger.legs["party"]] == DRAFT).any()
    assert (status[parties.group == DRAFT] == Status.NO_ROUTE_HOME).all()
    assert nowhere.people["by_state"]["no_route_home"] == int(parties.size[parties.group == DRAFT].sum()) > 500
    assert nowhere.people["by_state"]["turned_back"] == 0


def test_an_exit_screening_deters_only_once_known() -> None:
    """Screening of draft-age men at x from day 3 on, share 1, ``deterred_share`` 1; announced on day 1, or not.

    A party knows of it from its start, or from its announcement, and keeps away from
    x if it expects to reach x while the screening is in force:

    * no draft-age leg at x is chosen on or after day 3 (from then on every arrival is
      in force), and only legs chosen before day 3 are turned back;
    * without the announcement, legs chosen before day 3 reach x after it starts and
      are turned back; with it, those chosen on days 1–2 keep away unless they expect
      to be through before day 3, so fewer are turned back, and fewer draft-age legs
      chosen on days 1–2 go to x.
    """
    rule = {"id": "ban", "kind": "exit_screening", "crossing": "x", "from": day(3),
            "who": {"groups": ["draft_age_men"]}, "share": 1, "deterred_share": 1}
    stopped_count, chosen_early = {}, {}
    for name, policies in (("plain", [rule]), ("announced", [rule, {"kind": "announcement", "of": "ban", "from": day(1)}])):
        result = sim.run(screening_world(policies))
        assert_accounted(result)
        legs = result.ledger.legs
        draft_at_x = legs_at(result, "x") & (result.ledger.parties.group[legs["party"]] == DRAFT)
        chosen_day = decision_times(result) // 24
        assert not (draft_at_x & (chosen_day >= 3)).any()
        stopped = legs["decision"] == Decision.TURNED_BACK
        assert (chosen_day[stopped] < 3).all()
        stopped_count[name] = int(stopped.sum())
        chosen_early[name] = int((draft_at_x & (chosen_day >= 1) & (chosen_day < 3)).sum())
    assert stopped_count["plain"] >= 5  # the test has teeth
    assert stopped_count["announced"] < stopped_count["plain"]
    assert chosen_early["announced"] < chosen_early["plain"]


# -- stay limit ----------------------------------------------------------------------------


@pytest.mark.parametrize(("limit_from", "dwell"), [(0, 10_000), (60, 10_000), (0, 30)])
def test_stay_limit_ends_every_stay_in_time(limit_from: int, dwell: int) -> None:
    """A 90-day stay limit in KZ from day ``limit_from``, over 200 days, with a fixed dwell.

    Expectations (exact, tolerance 1e-6 h):

    * for every entry into KZ, the stay counted from the later of entry and the
      limit's first day — (exit move time, or the horizon for those still there) −
      max(entry, limit start) — is at most 90 × 24 h.  With the limit in force from
      day 0 that is the stay itself;
    * every exit is at the natural end of the stay (entry + dwell, or + 120 days for
      regular travellers) or at the deadline max(entry, start) + 90 days, and
      everyone whose deadline falls within the period has left by then;
    * with a 10,000-day dwell the limit binds for every emigrant; with 30 days, a
      quarter (1 − onward_share − return_share, 4 binomial standard errors) stay on
      at the end of their stay and are made to leave at the deadline.

    Those forced to leave split onward : home as onward_share : return_share
    (0.5 : 0.25), so 2 : 1, within 4 binomial standard errors — including those
    who had chosen to stay on (regression: they all used to go home, their
    uniform having been spent on staying).  Regular travellers all go home.
    """
    limit, trip = 90, 120
    scenario = policy_world(
        days=200,
        countries=[
            country("KZ", onward_share=0.5, return_share=0.25, dwell_days={"distribution": "fixed", "mean": dwell}),
            country("KG"),
        ],
        crossings=[
            crossing("x", "KZ", foot=lanes(4, 1.0)),
            crossing("z", "KG", from_="KZ", lat=50.0, lon=42.0, foot=lanes(4, 1.0)),
        ],
        departures={
            "pool_persons": 3000,
            "pool_hazard_per_day": 0.02,
            "baseline_per_day": 3,
            "baseline_trip_days": {"distribution": "fixed", "mean": trip},
        },
        policies=[{"kind": "stay_limit", "country": "KZ", "from": day(limit_from), "days": limit}],
        tick_minutes=240,  # times in the ledger are exact whatever the batch step
    )
    result = sim.run(scenario)
    assert_accounted(result)
    ledger = result.ledger
    legs, moves = ledger.legs, ledger.moves
    horizon = ledger.horizon_hours
    kz = country_index(result, "KZ")
    entered = entries_into(result, "KZ")
    party, entry = legs["party"][entered], legs["leave"][entered]
    assert len(np.unique(party)) == len(party)  # one stay per party
    from_kz = moves["country"] == kz
    assert len(np.unique(moves["party"][from_kz])) == from_kz.sum()
    exit_time = np.full(len(ledger.parties), horizon)
    exit_time[moves["party"][from_kz]] = moves["time"][from_kz]
    kind = np.full(len(ledger.parties), -1)
    kind[moves["party"][from_kz]] = moves["kind"][from_kz]
    left, exit_time, kind = np.isin(party, moves["party"][from_kz]), exit_time[party], kind[party]
    counted_from = np.maximum(entry, limit_from * 24.0)
    assert (exit_time - counted_from).max() <= limit * 24.0 + 1e-6
    # Exits at the natural end or at the deadline, and nobody overstays within the period.
    pool = ledger.parties.component[party] == POOL
    natural = entry + np.where(pool, dwell, trip) * 24.0
    deadline = counted_from + limit * 24.0
    at_natural = np.abs(exit_time - natural) <= 1e-6
    at_deadline = np.abs(exit_time - deadline) <= 1e-6
    assert (at_natural | at_deadline)[left].all()
    assert left[deadline <= horizon].all()
    assert not left[np.minimum(natural, deadline) > horizon].any()
    # Who stays on, and how those made to leave split.
    ended = pool & (natural < deadline) & (natural <= horizon)
    if dwell < limit:
        stay_on = ~(left & at_natural)[ended]
        assert stay_on.mean() == pytest.approx(0.25, abs=4 * math.sqrt(0.25 * 0.75 / ended.sum()))
    else:
        assert not ended.any()
    forced = pool & left & at_deadline & ~at_natural
    stayed_then_forced = forced & (natural < deadline)
    assert forced.sum() > (100 if dwell < limit else 500)
    for who in (forced, stayed_then_forced) if dwell < limit else (forced,):
        onward = kind[who] == MoveKind.ONWARD
        assert onward.mean() == pytest.approx(2 / 3, abs=4 * math.sqrt(2 / 9 / len(onward)))
    baseline = ~pool & left
    assert baseline.sum() > 50
    assert (kind[baseline] == MoveKind.HOME).all()
    assert (ledger.status[party[baseline]] == Status.RETURNED_HOME).all()


def _visa_run_world(visa_runs: bool, policies: list[dict]) -> dict:
    """Emigrants who would stay in KZ for good, under its 90 visa-free days, over 200 days."""
    return policy_world(
        days=200,
        countries=[
            country(
                "KZ", visa_free_days=90, visa_runs=visa_runs, onward_share=0.5, return_share=0.25,
                dwell_days={"distribution": "fixed", "mean": 10_000},
            ),
            country("KG"),
        ],
        crossings=[
            crossing("x", "KZ", foot=lanes(4, 1.0)),
            crossing("z", "KG", from_="KZ", lat=50.0, lon=42.0, foot=lanes(4, 1.0)),
        ],
        departures={"pool_persons": 2000, "pool_hazard_per_day": 0.02},
        policies=policies,
        tick_minutes=240,
    )


def test_visa_runs_renew_the_visa_free_stay_but_not_a_stay_limit() -> None:
    """Kazakhstan's 2022 rule against its 2023 one (``visa_runs``), with 10,000-day stays.

    Expectations (exact):

    * visa-free days that border runs renew force no one out: nobody leaves KZ;
    * without the renewal every emigrant who entered by day 110 has left by entry + 90 days;
    * a ``stay_limit`` of 90 days from day 0 caps the renewed stay: the ledger's moves and
      final states are exactly those of the country's 90 days without renewal (the same
      deadline, and the same draws for the split that follows).
    """
    renewed = sim.run(_visa_run_world(True, []))
    capped = sim.run(_visa_run_world(False, []))
    limited = sim.run(_visa_run_world(True, [{"kind": "stay_limit", "country": "KZ", "from": day(0), "days": 90}]))
    for result in (renewed, capped, limited):
        assert_accounted(result)
    kz = country_index(renewed, "KZ")
    assert not (renewed.ledger.moves["country"] == kz).any()
    assert entries_into(renewed, "KZ").sum() > 500
    entered = entries_into(capped, "KZ")
    legs, moves = capped.ledger.legs, capped.ledger.moves
    early = entered & (legs["leave"] <= 110 * 24.0)
    left_at = dict(zip(moves["party"][moves["country"] == kz].tolist(), moves["time"][moves["country"] == kz].tolist()))
    for party, entry in zip(legs["party"][early].tolist(), legs["leave"][early].tolist()):
        assert left_at[party] == pytest.approx(entry + 90 * 24.0, abs=1e-6)
    for key in ("party", "country", "time", "kind"):
        np.testing.assert_array_equal(limited.ledger.moves[key], capped.ledger.moves[key])
    np.testing.assert_array_equal(limited.ledger.status, capped.ledger.status)


# -- asylum --------------------------------------------------------------------------------


def test_asylum_queue_obeys_littles_law_and_the_backlog_output_adds_up() -> None:
    """A steady stream of claimants into DE, about 40 a day, decided at 50 a day.

    A pool of 400,000 drained at 1e-4 a day sends 40 parties of one a day, falling by
    3% over the 300 days: a nearly steady Poisson stream.  All claim on entry; claims
    wait 5 processing days, then queue for decisions (fixed 24/50 h each): an M/D/1
    queue behind a fixed delay, at ρ ≈ 0.79.

    * Little's law over days 30–270, computed exactly from the claim table: the
      time-average number of persons pending (lodged, not yet decided) equals the
      persons lodged per hour in the window times their mean time from lodging to
      decision, within 5% (measured: within 0.3%; only boundary terms differ).
    * The wait for a decision beyond processing and service agrees with the
      Pollaczek–Khinchine mean ρ/(2μ(1−ρ)) at the window's ρ within 25% (about four
      standard errors: across seeds it scatters by 6%).
    * The daily ``asylum_backlog`` equals persons lodged minus persons decided, both
      cumulated day by day from the claim table (exact), and its last value is the
      persons whose status is asylum_pending (exact).
    * The share of decisions that grant is grant_share = 0.3 within 4 binomial
      standard errors; granted persons are those in asylum_granted and the daily
      ``asylum_grants`` (exact); refused claimants go home.
    """
    decisions, processing, grant_share, hazard = 50.0, 5.0, 0.3, 1e-4
    scenario = policy_world(
        days=300,
        countries=[country("DE")],
        crossings=[crossing("x", "DE", hours=5, foot=lanes(4, 1.0, "exponential"))],
        departures={"pool_persons": 40 / hazard, "pool_hazard_per_day": hazard},
        policies=[
            {
                "kind": "asylum", "country": "DE", "from": day(0), "claim_share": 1,
                "decisions_per_day": decisions, "grant_share": grant_share, "processing_days": processing,
            }
        ],
        tick_minutes=360,  # nothing here depends on the batch step; fewer ticks run faster
    )
    result = sim.run(scenario)
    assert_accounted(result)
    ledger = result.ledger
    claims = ledger.claims
    size = ledger.parties.size[claims["party"]].astype(np.float64)
    lodged = claims["lodged"]
    decided = np.where(np.isnan(claims["decided"]), np.inf, claims["decided"])
    # Little's law over a steady window, exactly from the table.
    t1, t2 = 30 * 24.0, 270 * 24.0
    overlap = np.clip(np.minimum(decided, t2) - np.maximum(lodged, t1), 0.0, None)
    backlog = (size * overlap).sum() / (t2 - t1)
    window = (lodged >= t1) & (lodged < t2)
    rate = size[window].sum() / (t2 - t1)
    time_in_system = np.average(decided[window] - lodged[window], weights=size[window])
    assert np.isfinite(time_in_system) and backlog > 150
    assert backlog == pytest.approx(rate * time_in_system, rel=0.05)
    # The queueing part against M/D/1 (Pollaczek–Khinchine).
    service_h = 24.0 / decisions
    rho = rate * service_h
    queueing = time_in_system - processing * 24 - service_h
    assert queueing == pytest.approx(rho * service_h / (2 * (1 - rho)), rel=0.25)
    # The daily backlog is lodged − decided, cumulated.
    days = int(ledger.horizon_hours // 24)
    edges = (np.arange(days) + 1) * 24.0
    lodged_by = np.array([size[lodged < e].sum() for e in edges])
    decided_by = np.array([size[decided < e].sum() for e in edges])
    np.testing.assert_allclose(daily(result, "DE", "asylum_backlog") * result.scale, lodged_by - decided_by, atol=1e-6)
    size_all = ledger.parties.size.astype(np.int64)
    assert daily(result, "DE", "asylum_backlog")[-1] * result.scale == pytest.approx(
        size_all[ledger.status == Status.ASYLUM_PENDING].sum()
    )
    # Grants.
    done = claims["granted"] >= 0
    assert done.sum() == (claims["decided"] < ledger.horizon_hours).sum() > 10_000
    share = claims["granted"][done].mean()
    assert share == pytest.approx(grant_share, abs=4 * math.sqrt(grant_share * (1 - grant_share) / done.sum()))
    granted_parties = claims["party"][claims["granted"] == 1]
    assert (ledger.status[granted_parties] == Status.ASYLUM_GRANTED).all()
    assert result.people["by_state"]["asylum_granted"] == int(size_all[granted_parties].sum())
    assert daily(result, "DE", "asylum_grants").sum() * result.scale == pytest.approx(size_all[granted_parties].sum())
    refused_parties = claims["party"][claims["granted"] == 0]
    assert (ledger.status[refused_parties] == Status.RETURNED_HOME).all()


def test_at_border_asylum_is_a_way_in_that_travellers_can_plan_for() -> None:
    """DE admits no one at the door but lets anyone claim asylum at its border (at_border, claim_share 1).

    Expectation: some of the parties who know these rules head for DE and enter it
    as claimants (more than 100 claims in 20 days, against ~1,500 parties, half of
    whom would pick DE if it admitted them).
    """
    scenario = policy_world(
        days=20,
        countries=[country("DE", accepts=()), country("GE")],
        crossings=[
            crossing("x", "DE", hours=5, foot=lanes(4, 1.0)),
            crossing("y", "GE", hours=5, foot=lanes(4, 1.0)),
        ],
        departures={"pool_persons": 2000, "pool_hazard_per_day": 0.1},
        policies=[
            {
                "kind": "asylum", "country": "DE", "from": day(0), "claim_share": 1, "at_border": True,
                "decisions_per_day": 50, "grant_share": 0.5,
            }
        ],
    )
    result = sim.run(scenario)
    assert_accounted(result)
    assert len(result.ledger.claims["party"]) > 100


# -- announcement --------------------------------------------------------------------------


def announcement_world(announced: bool) -> dict:
    """Crossing x into KZ closes from day 10; y into GE stays open.  Announced on day 5, or not."""
    closure = {"id": "x-closes", "kind": "closure", "crossing": "x", "from": day(10)}
    announcement = {
        "kind": "announcement", "of": "x-closes", "from": day(5),
        "who": {"groups": ["draft_age_men"]}, "departure_multiplier": 3.0,
    }
    return policy_world(
        days=14,
        countries=[country("KZ", appeal=1.0), country("GE")],
        crossings=[
            crossing("x", "KZ", hours=10, foot=lanes(8, 1.0, "exponential")),
            crossing("y", "GE", hours=14, foot=lanes(8, 1.0, "exponential")),
        ],
        departures={"pool_persons": 4000, "pool_hazard_per_day": 0.04},
        groups=[group("draft_age_men", 0.6), group("families", 0.4, (0, 0.5, 0.5, 0, 0))],
        policies=[closure, announcement] if announced else [closure],
    )


def test_announced_closure_brings_people_forward_and_steers_later_choices_away() -> None:
    """A closure of x from day 10, announced on day 5 with a threefold hazard for draft-age men.

    Against the same closure unannounced (common seed):

    * draft-age men's pool hazard (0.04 a day) is tripled on days 5–9 and only then:
      each draft-age party's departure threshold, recovered from its departure time
      by the hazard it faced, is the same in both runs (common random numbers), to
      1e-3 (the 5-minute integration grid at the two jumps moves it by ~1e-4);
      other groups leave at the very same times;
    * more people cross at x on days 5–9 than without the announcement;
    * no party deciding on or after day 5 chooses x for an arrival at or after the
      closure (expected arrival ≥ actual arrival, so: no leg at x with decision day ≥ 5
      and arrival ≥ day 10); without the announcement there are such legs, and they
      are turned away.
    """
    plain, announced = sim.run(announcement_world(False)), sim.run(announcement_world(True))
    for result in (plain, announced):
        assert_accounted(result)
    # The rush: draft-age men only, by exactly the factor.  Each pool party leaves when
    # its cumulative hazard passes its own Exp(1) threshold, drawn alike in both runs.
    def threshold(result: sim.Result, factor: float) -> np.ndarray:
        parties = result.ledger.parties
        t = parties.depart[parties.group == DRAFT] / 24.0  # days
        extra = (factor - 1.0) * np.clip(t - 5.0, 0.0, 5.0)
        return np.sort(0.04 * (t + extra))

    plain_e, announced_e = threshold(plain, 1.0), threshold(announced, 3.0)
    # The thresholds both runs reach within the period (a margin keeps the same parties on both sides).
    n = int((plain_e < 0.04 * 13).sum())
    assert n > 500 and len(announced_e) >= n
    np.testing.assert_allclose(announced_e[:n], plain_e[:n], rtol=0, atol=1e-3)
    rushed = lambda r: ((r.ledger.parties.group == DRAFT) & (r.ledger.parties.depart // 24 >= 5) & (r.ledger.parties.depart // 24 < 10)).sum()  # noqa: E731
    assert rushed(announced) > 2 * rushed(plain)
    others_plain = plain.ledger.parties.depart[plain.ledger.parties.group != DRAFT]
    others_announced = announced.ledger.parties.depart[announced.ledger.parties.group != DRAFT]
    np.testing.assert_array_equal(others_plain, others_announced)
    # More crossings at x before the closure.
    before = slice(5, 10)
    rush = daily(announced, "x", "entries")[before].sum()
    calm = daily(plain, "x", "entries")[before].sum()
    assert rush > 1.2 * calm
    # Choices made once the closure is known avoid x for arrivals after it.
    late = {}
    for name, result in (("plain", plain), ("announced", announced)):
        ledger = result.ledger
        legs = ledger.legs
        decided_at = decision_times(result)
        at_x = legs_at(result, "x")
        late[name] = at_x & (decided_at // 24 >= 5) & (legs["arrive"] >= 10 * 24.0)
    assert late["plain"].sum() > 10
    assert (plain.ledger.legs["served"][late["plain"]] == CLOSED).all()
    assert late["announced"].sum() == 0


def decision_times(result: sim.Result) -> np.ndarray:
    """When each leg was chosen: at departure for a first leg; after a failed leg, when it
    ended; after an entry, when the party left that country (its move)."""
    ledger = result.ledger
    legs, moves = ledger.legs, ledger.moves
    chosen = np.full(len(legs["party"]), np.nan)
    first = legs["attempt"] == 0
    chosen[first] = ledger.parties.depart[legs["party"][first]]
    leg_of = {(int(p), int(a)): k for k, (p, a) in enumerate(zip(legs["party"], legs["attempt"]))}
    moved = {(int(p), int(c)): t for p, c, t in zip(moves["party"], moves["country"], moves["time"])}
    for k in np.flatnonzero(~first):
        p = int(legs["party"][k])
        before = leg_of[(p, int(legs["attempt"][k]) - 1)]
        if legs["decision"][before] == Decision.ENTERED:
            chosen[k] = moved[(p, int(ledger.alternatives.country[legs["alt"][before]]))]
        else:
            chosen[k] = legs["leave"][before]
    return chosen


# -- capacity ------------------------------------------------------------------------------


def test_capacity_changes_set_the_daily_throughput_of_a_saturated_crossing() -> None:
    """A car crossing kept saturated (1,000 cars a day against at most 720) with fixed 6-minute service.

    Parties of one, so entries in persons are cars.  Expected entries per day,
    lanes × 1440 / minutes, exactly up to one car per lane at each day boundary
    (tolerance ±lanes):

    * days 1–9, 2 lanes, 6 min: 480;
    * days 10–19, capacity policy lanes 3: 720;
    * days 20–29, capacity policy service_mean_minutes 5: 2 × 1440 / 5 = 576.

    Over each whole stretch the total is exact within ±lanes as well.  Every
    service takes exactly the minutes in force when it starts.
    """
    scenario = policy_world(
        days=30,
        countries=[country("KZ")],
        crossings=[crossing("x", "KZ", hours=2, car=lanes(2, 6.0))],
        departures={"pool_persons": 0, "baseline_per_day": 1000},
        people={"car_share": 1},
        policies=[
            {"kind": "capacity", "crossing": "x", "mode": "car", "from": day(10), "until": day(19), "lanes": 3},
            {"kind": "capacity", "crossing": "x", "mode": "car", "from": day(20), "service_mean_minutes": 5.0},
        ],
    )
    result = sim.run(scenario)
    assert_accounted(result)
    entries = daily(result, "x", "entries")
    for days, n_lanes, minutes in ((range(1, 10), 2, 6.0), (range(10, 20), 3, 6.0), (range(20, 30), 2, 5.0)):
        expected = n_lanes * 1440 / minutes
        got = entries[list(days)]
        assert np.abs(got - expected).max() <= n_lanes, (list(days), got, expected)
        assert abs(got.sum() - expected * len(days)) <= n_lanes
    # The queue never emptied: someone was waiting at every day boundary.
    assert (daily(result, "x", "queue_vehicles_max")[1:] > 100).all()
    legs = result.ledger.legs
    served = legs["served"] == SERVED
    start, service = legs["start"][served], (legs["leave"] - legs["start"])[served]
    minutes = np.where((start >= 20 * 24.0), 5.0, 6.0)
    np.testing.assert_allclose(service * 60.0, minutes, rtol=1e-9)


def test_a_lanes_factor_multiplies_the_modes_own_lanes() -> None:
    """``lanes_factor`` 1.5 on 2 lanes is 3 lanes (rounded, at least 1): the run is exactly that of ``lanes: 3``,
    and a factor of 0.1 leaves one lane, not none."""

    def world(change: dict) -> dict:
        return policy_world(
            days=20,
            countries=[country("KZ")],
            crossings=[crossing("x", "KZ", hours=2, car=lanes(2, 6.0))],
            departures={"pool_persons": 0, "baseline_per_day": 1000},
            people={"car_share": 1},
            policies=[{"kind": "capacity", "crossing": "x", "mode": "car", "from": day(10), **change}],
        )

    factor, count = sim.run(world({"lanes_factor": 1.5})), sim.run(world({"lanes": 3}))
    assert factor.daily.equals(count.daily)
    assert daily(factor, "x", "entries")[12] == pytest.approx(3 * 1440 / 6.0, abs=3)
    one = sim.run(world({"lanes_factor": 0.1}))
    assert daily(one, "x", "entries")[12] == pytest.approx(1440 / 6.0, abs=1)


# -- entry with who --------------------------------------------------------------------------


def test_entry_rule_for_some_groups_admits_only_families() -> None:
    """KZ admits only families on days 3–7 (an entry rule with no documents for the other groups).

    Exact expectations:

    * no draft-age-men (or others) leg enters KZ with its entry check (``leave``) on
      days 3–7; draft-age men do enter KZ before and after;
    * families enter KZ on days 3–7;
    * draft-age men reaching KZ then are refused, try Georgia, and enter there.
    """
    scenario = policy_world(
        days=11,
        countries=[country("KZ", appeal=1.0), country("GE")],
        crossings=[
            crossing("x", "KZ", hours=5, foot=lanes(4, 1.0, "exponential")),
            crossing("y", "GE", hours=6, foot=lanes(4, 1.0, "exponential")),
        ],
        departures={"pool_persons": 3000, "pool_hazard_per_day": 0.1},
        groups=[group("draft_age_men", 0.5), group("families", 0.3, (0, 0.5, 0.5, 0, 0)), group("others", 0.2)],
        policies=[
            {
                "kind": "entry", "country": "KZ", "from": day(3), "until": day(7), "accepts": [],
                "who": {"groups": ["draft_age_men", "others"]},
            }
        ],
    )
    result = sim.run(scenario)
    assert_accounted(result)
    ledger = result.ledger
    legs = ledger.legs
    group_of = ledger.parties.group[legs["party"]]
    leave_day = legs["leave"] // 24
    in_force = (leave_day >= 3) & (leave_day <= 7)
    into_kz = entries_into(result, "KZ")
    assert not (into_kz & in_force & (group_of != FAMILIES)).any()
    assert (into_kz & in_force & (group_of == FAMILIES)).sum() > 50
    assert (into_kz & ~in_force & (group_of == DRAFT)).sum() > 50
    refused = legs_at(result, "x") & (legs["decision"] == Decision.REFUSED)
    assert refused.any()
    assert not (refused & ~(in_force & (group_of != FAMILIES))).any()
    retried = legs["party"][refused & legs["retried"]]
    assert len(retried) > 0
    georgia = entries_into(result, "GE")
    assert np.isin(retried, legs["party"][georgia]).mean() > 0.9


# -- patience ----------------------------------------------------------------------------------


def test_patience_no_one_waits_longer_and_those_facing_longer_waits_give_up() -> None:
    """Fixed patience of 6 h at an overloaded crossing (400 a day against 288; fixed 10-minute service).

    Exact expectations:

    * every party's patience is 6 h, and no served party waited more than 6 h;
    * re-running the FIFO recurrence over the legs, in arrival order, with the lanes
      held only by those served: a party whose wait until a lane frees (its
      predicted wait) exceeds 6 h gave up at arrival + 6 h; the others were served
      after exactly that wait.  Both kinds occur;
    * with no re-choosing, the parties that gave up end as gave_up_home, with their
      persons, and the daily ``gave_up`` adds up to them.
    """
    patience = 6.0
    scenario = policy_world(
        days=10,
        countries=[country("KZ")],
        crossings=[crossing("x", "KZ", hours=3, foot=lanes(2, 10.0))],
        departures={"pool_persons": 0, "baseline_per_day": 400},
        groups=[group("others", 1.0, patience={"distribution": "fixed", "mean": patience})],
        people={"rechoose_share": 0},
    )
    result = sim.run(scenario)
    assert_accounted(result)
    ledger = result.ledger
    legs = ledger.legs
    horizon = ledger.horizon_hours
    assert (ledger.parties.patience == patience).all()
    settled = legs["served"] >= 0
    served = legs["served"] == SERVED
    assert (legs["start"][served] - legs["arrive"][served]).max() <= patience + 1e-9
    # The recurrence, independently.
    order = np.argsort(legs["arrive"], kind="stable")
    free = [0.0, 0.0]
    gave_up = 0
    for k in order[settled[order]]:
        arrive = legs["arrive"][k]
        predicted = max(free[0] - arrive, 0.0)
        if predicted > patience:
            assert legs["served"][k] == ABANDONED
            assert legs["leave"][k] == pytest.approx(arrive + patience, abs=1e-9)
            # Settled at the moment it gives up, if that is within the period.
            assert legs["decision"][k] == (Decision.GAVE_UP if legs["leave"][k] <= horizon else Decision.UNDECIDED)
            gave_up += 1
        else:
            assert legs["served"][k] == SERVED
            assert legs["start"][k] == pytest.approx(arrive + predicted, abs=1e-9)
            heapq.heapreplace(free, legs["start"][k] + 10.0 / 60.0)
    assert gave_up > 100 and served.sum() > 1000
    quitters = legs["party"][legs["decision"] == Decision.GAVE_UP]
    assert (ledger.status[quitters] == Status.GAVE_UP_HOME).all()
    persons = int(ledger.parties.size[quitters].sum())
    assert result.people["by_state"]["gave_up_home"] == persons
    assert daily(result, "x", "gave_up").sum() == pytest.approx(persons)


# -- onward transit ------------------------------------------------------------------------------


def test_onward_transit_leaves_after_exactly_the_dwell_and_regular_travellers_go_home() -> None:
    """KZ with onward_share 1 and a fixed 7-day dwell, a land crossing z from KZ into KG; 40 days.

    Exact expectations (tolerance 1e-6 h):

    * every pool party entering KZ leaves it (an onward move) exactly 7 × 24 h after
      its entry, or, if that falls after the horizon, is still there at the end;
    * each onward move is followed by a leg at z chosen at that moment, arriving the
      travel time later, and KG entries appear;
    * regular travellers (baseline, trips fixed at 4 days) never move on: each goes
      home (a home move) exactly 4 × 24 h after entering KZ.
    """
    dwell, trip = 7.0, 4.0
    scenario = policy_world(
        days=40,
        countries=[country("KZ", onward_share=1.0, dwell_days={"distribution": "fixed", "mean": dwell}), country("KG")],
        crossings=[
            crossing("x", "KZ", hours=5, foot=lanes(4, 1.0)),
            crossing("z", "KG", from_="KZ", lat=50.0, lon=42.0, foot=lanes(4, 1.0)),
        ],
        departures={
            "pool_persons": 2000,
            "pool_hazard_per_day": 0.03,
            "baseline_per_day": 20,
            "baseline_trip_days": {"distribution": "fixed", "mean": trip},
        },
    )
    result = sim.run(scenario)
    assert_accounted(result)
    ledger = result.ledger
    legs, moves, parties = ledger.legs, ledger.moves, ledger.parties
    kz = country_index(result, "KZ")
    entered = entries_into(result, "KZ")
    party, entry = legs["party"][entered], legs["leave"][entered]
    moved = np.full(len(parties), np.nan)
    kind = np.full(len(parties), -1)
    from_kz = moves["country"] == kz
    moved[moves["party"][from_kz]] = moves["time"][from_kz]
    kind[moves["party"][from_kz]] = moves["kind"][from_kz]
    pool = parties.component[party] == POOL
    horizon = ledger.horizon_hours
    due = entry + dwell * 24 <= horizon
    np.testing.assert_allclose(moved[party[pool & due]] - entry[pool & due], dwell * 24, rtol=0, atol=1e-6)
    assert (kind[party[pool & due]] == MoveKind.ONWARD).all()
    assert np.isnan(moved[party[pool & ~due]]).all()
    assert (ledger.country[party[pool & ~due]] == kz).all()
    assert (pool & due).sum() > 500
    # Each onward move leads to a leg at z, chosen then.
    z = legs_at(result, "z")
    onward_parties = party[pool & due]
    at_z = {int(p): k for k, p in zip(np.flatnonzero(z), legs["party"][z])}
    assert set(at_z) == set(onward_parties.tolist())
    travel = ledger.alternatives.between_hours[0, 1]
    for p in onward_parties[:200]:
        assert legs["arrive"][at_z[int(p)]] == pytest.approx(moved[p] + travel, abs=1e-9)
    assert daily(result, "KG", "entries").sum() > 500
    assert entries_into(result, "KG").sum() == (z & (legs["decision"] == Decision.ENTERED)).sum()
    # Regular travellers go home after their trip.
    base = ~pool
    assert base.sum() > 300
    base_due = base & (entry + trip * 24 <= horizon)
    np.testing.assert_allclose(moved[party[base_due]] - entry[base_due], trip * 24, rtol=0, atol=1e-6)
    assert (kind[party[base_due]] == MoveKind.HOME).all()
    assert (ledger.status[party[base_due]] == Status.RETURNED_HOME).all()
    assert not (z & (parties.component[legs["party"]] == BASELINE)).any()


# -- air -------------------------------------------------------------------------------------------


def test_air_route_sells_its_seats_and_lands_flight_hours_later() -> None:
    """An air route into AM with 300 seats a day and 2.5-hour flights, asked for 450 persons a day.

    Everyone can fly and has no other way.  Expected, at scale 1:

    * seat time sold on each day — the part of each party's boarding (size × 24/300 h,
      from service start) inside that day, times 300/24 — never exceeds 300 and is
      exactly 300 on saturated days (1e-6);
    * persons boarding per day (by the end of their boarding) never exceed 300 by
      more than one party (≤ 3 persons), and on saturated days fall short by at most
      one party;
    * every served party lands, and is checked on entry, exactly 2.5 h after its
      boarding ends (1e-9 h).
    """
    seats, flight = 300.0, 2.5
    scenario = policy_world(
        days=12,
        countries=[country("AM")],
        crossings=[crossing("air", "AM", hours=4, air={"seats_per_day": seats, "flight_hours": flight})],
        departures={"pool_persons": 0, "baseline_per_day": 450},
        groups=[group("others", 1.0, (0.5, 0.3, 0.2, 0, 0))],
        people={"can_fly_share": 1},
    )
    result = sim.run(scenario)
    assert_accounted(result)
    ledger = result.ledger
    legs = ledger.legs
    served = legs["served"] == SERVED
    size = ledger.parties.size[legs["party"]].astype(np.float64)
    start, leave, persons = legs["start"][served], legs["leave"][served], size[served]
    boarded = start + persons * 24.0 / seats
    np.testing.assert_allclose(leave - boarded, flight, rtol=0, atol=1e-9)
    # Settled (entry checked) on landing, if within the period.
    landed_in_time = leave <= ledger.horizon_hours
    assert (legs["decision"][served][landed_in_time] == Decision.ENTERED).all()
    assert (legs["decision"][served][~landed_in_time] == Decision.UNDECIDED).all()
    days = 12
    seat_time = np.array(
        [np.clip(np.minimum(boarded, (d + 1) * 24.0) - np.maximum(start, d * 24.0), 0, None).sum() for d in range(days)]
    ) * seats / 24.0
    per_day = np.bincount((boarded // 24).astype(int), weights=persons, minlength=days)[:days]
    saturated = np.arange(days) >= 1
    assert seat_time.max() <= seats + 1e-6
    np.testing.assert_allclose(seat_time[saturated], seats, atol=1e-6)
    assert per_day.max() <= seats + 3
    assert (per_day[saturated] >= seats - 3).all()
    # Landings are entries, on the day they land.
    landed = np.bincount((leave // 24).astype(int), weights=persons, minlength=days)[:days]
    np.testing.assert_allclose(daily(result, "air", "entries"), landed)


def test_exit_screening_at_an_air_route_stops_people_when_they_board() -> None:
    """Exit screening of draft-age men at an air route from day 6: decided at boarding, not on landing.

    Regression test (the engine used to screen on the landing day, so men boarding
    on day 5 and landing after midnight were "turned back" in the country they had
    flown to).  Exact expectations, 300 seats a day, 2.5-hour flights:

    * a served draft-age party is stopped if and only if its boarding (the end of
      its service, size × 24/300 h after it starts) is at or after day 6, 00:00;
    * those stopped leave the airport at boarding (their ``leave``), not after a flight;
    * those who board on day 5 and land on day 6 enter Armenia (there are some).
    """
    seats, flight = 300.0, 2.5
    scenario = policy_world(
        days=10,
        countries=[country("AM")],
        crossings=[crossing("air", "AM", hours=4, air={"seats_per_day": seats, "flight_hours": flight})],
        departures={"pool_persons": 0, "baseline_per_day": 250},
        groups=[group("draft_age_men", 1.0)],
        people={"can_fly_share": 1},
        policies=[{"kind": "exit_screening", "crossing": "air", "from": day(6), "who": {"groups": ["draft_age_men"]}, "share": 1}],
    )
    result = sim.run(scenario)
    assert_accounted(result)
    ledger = result.ledger
    legs = ledger.legs
    horizon = ledger.horizon_hours
    served = (legs["served"] == SERVED) & (legs["decision"] != Decision.UNDECIDED)
    size = ledger.parties.size[legs["party"]]
    boarded = legs["start"] + size * 24.0 / seats
    stopped = legs["decision"] == Decision.TURNED_BACK
    np.testing.assert_array_equal(stopped[served], boarded[served] >= 6 * 24.0)
    np.testing.assert_allclose(legs["leave"][stopped], boarded[stopped], rtol=0, atol=1e-9)
    assert stopped.sum() > 500
    overnight = served & (boarded < 6 * 24.0) & (boarded + flight >= 6 * 24.0)
    assert overnight.sum() > 5
    assert (legs["decision"][overnight] == Decision.ENTERED).all()
    assert (legs["leave"][served & ~stopped] <= horizon).all()


def test_refused_onward_move_rechooses_out_of_the_country_it_was_leaving() -> None:
    """A party refused on its way on from KZ tries another crossing out of KZ, never one out of home.

    Regression test (the engine used to let such a party re-choose among crossings
    out of the home country, as if it had been sent back there).  KZ sends everyone
    on after a fixed 3 days; KG refuses everyone at its border (refusal_share 1,
    which travellers cannot plan for); UZ, also reached from KZ, admits them; and
    everyone re-chooses.  Exact expectations:

    * every leg chosen after a refusal at z (KZ→KG) is at w (KZ→UZ), arriving the
      travel time between the two crossings after the refusal;
    * those parties enter UZ, and none uses y (a crossing out of the home country)
      after having been in KZ.
    """
    scenario = policy_world(
        days=20,
        countries=[
            country("KZ", onward_share=1.0, dwell_days={"distribution": "fixed", "mean": 3}),
            country("KG", refusal_share=1.0),
            country("GE"),
            country("UZ"),
        ],
        crossings=[
            crossing("x", "KZ", hours=5, foot=lanes(4, 1.0)),
            crossing("y", "GE", hours=50, foot=lanes(4, 1.0)),
            crossing("z", "KG", from_="KZ", lat=50.0, lon=42.0, foot=lanes(4, 1.0)),
            crossing("w", "UZ", from_="KZ", lat=49.0, lon=43.0, foot=lanes(4, 1.0)),
        ],
        departures={"pool_persons": 400, "pool_hazard_per_day": 0.1},
        people={"rechoose_share": 1.0},
    )
    result = sim.run(scenario)
    assert_accounted(result)
    ledger = result.ledger
    legs = ledger.legs
    refused_z = legs_at(result, "z") & (legs["decision"] == Decision.REFUSED)
    assert refused_z.sum() > 50
    next_leg = {(int(p), int(a)): k for k, (p, a) in enumerate(zip(legs["party"], legs["attempt"]))}
    travel = ledger.alternatives.between_hours[2, 3]
    followed = 0
    for k in np.flatnonzero(refused_z):
        after = next_leg.get((int(legs["party"][k]), int(legs["attempt"][k]) + 1))
        assert after is not None  # w is open to all, and everyone re-chooses
        followed += 1
        assert legs_at(result, "w")[after]
        assert legs["arrive"][after] == pytest.approx(legs["leave"][k] + travel, abs=1e-9)
        if legs["decision"][after] != Decision.UNDECIDED:
            assert legs["decision"][after] == Decision.ENTERED
            assert ledger.country[legs["party"][k]] == country_index(result, "UZ")
    assert followed == refused_z.sum()
    been_in_kz = np.unique(legs["party"][entries_into(result, "KZ")])
    assert not (legs_at(result, "y") & np.isin(legs["party"], been_in_kz)).any()


# -- closure -----------------------------------------------------------------------------------------


def test_closure_turns_away_the_queue_and_everyone_arriving_then_and_reopens() -> None:
    """Foot crossing x (1 lane, fixed 10 min, 144 a day), sought by ~260 a day, closed on days 4–5.

    Exact expectations, closed from 96 h to 144 h:

    * no service starts while closed; a service begun before 96 h finishes;
    * everyone still waiting at 96 h is turned away at exactly 96 h, everyone
      arriving while closed is turned away on arrival;
    * nobody deciding on or after day 4 (when the closure becomes known) picks x
      for an arrival while it is closed; they go to y instead (regression: those
      turned away at 96 h used to pick x again at once when the reported queue
      promised service after the closure, and were turned away again and again);
    * after reopening the crossing saturates again: 144 entries a day (±1) from day 7.
    """
    closed_from, closed_to = 96.0, 144.0
    scenario = policy_world(
        days=10,
        countries=[country("KZ", appeal=2.0), country("GE")],
        crossings=[
            crossing("x", "KZ", hours=5, foot=lanes(1, 10.0)),
            crossing("y", "GE", hours=6, foot=lanes(4, 1.0)),
        ],
        departures={"pool_persons": 0, "baseline_per_day": 300},
        policies=[{"kind": "closure", "crossing": "x", "from": day(4), "until": day(5)}],
        choice={"wait_hour_utility": 0.0},  # keep x in demand whatever its queue
    )
    result = sim.run(scenario)
    assert_accounted(result)
    legs = result.ledger.legs
    at_x = legs_at(result, "x")
    start, arrive, leave = legs["start"], legs["arrive"], legs["leave"]
    assert not (at_x & (start >= closed_from) & (start < closed_to)).any()
    straddling = at_x & (start < closed_from) & (leave > closed_from) & (legs["served"] == SERVED)
    assert straddling.sum() == 1 and (legs["decision"][straddling] == Decision.ENTERED).all()
    waiting = at_x & (arrive < closed_from) & ((legs["served"] != SERVED) | (start >= closed_from))
    assert waiting.sum() > 50
    assert (legs["served"][waiting] == CLOSED).all()
    np.testing.assert_array_equal(leave[waiting], closed_from)
    arriving = at_x & (arrive >= closed_from) & (arrive < closed_to)
    assert arriving.sum() > 0
    assert (legs["served"][arriving] == CLOSED).all()
    np.testing.assert_array_equal(leave[arriving], arrive[arriving])
    assert (legs["decision"][waiting | arriving] == Decision.TURNED_AWAY).all()
    decided = decision_times(result)
    assert not (at_x & (decided >= closed_from) & (arrive >= closed_from) & (arrive < closed_to)).any()
    assert daily(result, "x", "turned_away")[4] == waiting.sum() + (arriving & (arrive < 120)).sum()
    entries = daily(result, "x", "entries")
    assert np.abs(entries[7:] - 144).max() <= 1
    assert daily(result, "y", "entries")[4:6].sum() > 100
