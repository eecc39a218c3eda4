"""The scenario format, as pydantic models.

A scenario file is YAML; after ``extends`` merging and ``--set`` overrides it is
validated against :class:`Scenario`.  Every field carries a description (shown by
``crossings schema``) and a unit in its name where it has one.  Cross-field rules
(a policy naming a crossing that does not exist, an end before a start, …) live
in :func:`reference_problems` so that every problem in a file is reported at
once, each with the path of the key at fault.

Numbers are strict: a whole-number field (:data:`Int`: ``lanes``, ``seed``, …)
takes only an integer, and a real-number field (:data:`Float`) an integer or a
float; neither takes a boolean or text, so ``lanes: true`` or ``lanes: "12"`` is
a problem ("expected an integer, found true"), not silently ``1`` or ``12``.

Times inside the model are hours since ``period.start`` 00:00; the file speaks in
ISO dates.
"""

from __future__ import annotations

import datetime as dt
from enum import Enum
from typing import Annotated, Literal, Union

from pydantic import AllowInfNan, BaseModel, ConfigDict, Field, Strict, model_validator
from pydantic_core import PydanticCustomError

__all__ = [
    "Document",
    "Mode",
    "ServiceTime",
    "Period",
    "Origin",
    "Country",
    "ModeSpec",
    "Crossing",
    "Travel",
    "Shock",
    "Departures",
    "Group",
    "DocumentMix",
    "People",
    "Choice",
    "ClosurePolicy",
    "EntryPolicy",
    "Policy",
    "Scenario",
    "reference_problems",
]


class Document(str, Enum):
    """Travel documents a party may hold; entry rules name the ones they accept."""

    internal_passport = "internal_passport"
    international_passport = "international_passport"
    schengen_visa_tourist = "schengen_visa_tourist"
    schengen_visa_other = "schengen_visa_other"


class Mode(str, Enum):
    """How a party passes a crossing: its own car, on foot, or by bus."""

    car = "car"
    foot = "foot"
    bus = "bus"


class _Strict(BaseModel):
    """Base: unknown keys are errors, so a typo never silently does nothing."""

    model_config = ConfigDict(extra="forbid", frozen=True)


# Strict numbers (field by field: a model-wide strict mode would also refuse ISO
# date strings).  Int refuses booleans, text and floats, even 12.0; Float takes
# integers (YAML ``8``) and floats but refuses booleans and text.
Int = Annotated[int, Strict()]
"""A whole number, strictly: ``true``, ``"12"`` and ``12.0`` are problems."""
Float = Annotated[float, Strict(), AllowInfNan(False)]
"""A finite real number, strictly: an int or a float; ``true``, ``"8"`` and ``.nan`` are problems."""


class ServiceTime(_Strict):
    """Time one lane spends on one unit (a car, or one person on foot or in a bus)."""

    distribution: Literal["exponential", "lognormal", "gamma", "fixed"] = Field(
        "lognormal", description="Shape of the service-time distribution."
    )
    mean_minutes: Float = Field(gt=0, description="Mean service time, minutes.")
    cv: Float = Field(
        0.5,
        ge=0,
        description="Coefficient of variation (sd / mean); ignored for exponential (1) and fixed (0).",
    )


class Period(_Strict):
    """Simulated period: from ``start`` 00:00 to ``end`` 24:00 (both dates included)."""

    start: dt.date = Field(description="First simulated day (ISO date).")
    end: dt.date = Field(description="Last simulated day (ISO date), inclusive.")

    @model_validator(mode="after")
    def _ordered(self) -> "Period":
        if self.end < self.start:
            raise PydanticCustomError(
                "date_order",
                "expected period.end on or after period.start ({start}), found {end}",
                {"start": self.start.isoformat(), "end": self.end.isoformat()},
            )
        return self


class Origin(_Strict):
    """A place people leave from, with its share of the would-be emigrants."""

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$", description="Identifier, lower-case with dashes.")
    name: str = Field(description="Human-readable name.")
    lat: Float = Field(ge=-90, le=90, description="Latitude, degrees.")
    lon: Float = Field(ge=-180, le=180, description="Longitude, degrees.")
    population_weight: Float = Field(gt=0, description="Relative share of departures from here.")


class Country(_Strict):
    """A destination country and its standing entry rules (policies may change them)."""

    iso: str = Field(pattern=r"^[A-Z]{2}$", description="ISO 3166-1 alpha-2 code.")
    name: str = Field(description="Human-readable name.")
    accepts: list[Document] = Field(
        description="Documents that admit a Russian citizen when no policy says otherwise."
    )
    visa_free_days: Int = Field(ge=0, description="Visa-free stay, days (0: a visa is needed).")
    appeal: Float = Field(0.0, description="Destination appeal in the route-choice utility (utils).")
    refusal_share: Float = Field(
        0.0, ge=0, le=1, description="Share of otherwise admissible parties refused anyway."
    )


class ModeSpec(_Strict):
    """Lanes of one mode at one crossing, and how long each unit takes."""

    lanes: Int = Field(ge=1, description="Parallel lanes (booths) serving this mode, outbound to the destination.")
    service: ServiceTime = Field(description="Service time per unit (car for car, person for foot/bus).")


class Crossing(_Strict):
    """A border crossing point from the origin country into a destination."""

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$", description="Identifier, lower-case with dashes.")
    name: str = Field(description="Human-readable name.")
    to: str = Field(pattern=r"^[A-Z]{2}$", description="ISO code of the destination country.")
    lat: Float = Field(ge=-90, le=90, description="Latitude, degrees.")
    lon: Float = Field(ge=-180, le=180, description="Longitude, degrees.")
    modes: dict[Mode, ModeSpec] = Field(min_length=1, description="Modes served here: car, foot, bus.")
    travel_hours: dict[str, Float] = Field(
        default_factory=dict,
        description="Travel time from an origin id, hours; origins not listed use travel.speed_kmh.",
    )
    appeal: Float = Field(0.0, description="Extra appeal of this crossing in route choice (utils).")


class Travel(_Strict):
    """How travel times are computed where they are not given."""

    speed_kmh: Float = Field(60.0, gt=0, description="Door-to-border speed, km/h.")
    detour_factor: Float = Field(
        1.3, ge=1, description="Road distance / great-circle distance."
    )


class Shock(_Strict):
    """A dated jump in the departure hazard, e.g. the mobilization announcement."""

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$", description="Identifier.")
    date: dt.date = Field(description="Date of the shock (ISO date).")
    hour: Float = Field(0.0, ge=0, lt=24, description="Hour of day it starts, hours.")
    peak_per_day: Float = Field(ge=0, description="Added departure hazard at the peak, per pool member per day.")
    rise_hours: Float = Field(12.0, ge=0, description="Linear rise to the peak, hours.")
    half_life_days: Float = Field(gt=0, description="Exponential decay after the peak, half-life in days.")


class Group(_Strict):
    """A kind of party, with its own size distribution."""

    id: Literal["draft_age_men", "families", "others"] = Field(description="Group name.")
    share: Float = Field(ge=0, le=1, description="Share of parties in this group.")
    party_size: list[Float] = Field(
        min_length=5, max_length=5, description="Probabilities of party sizes 1..5 (sum to 1)."
    )


class DocumentMix(_Strict):
    """Documents and cars among a set of parties (the emigrant pool, or regular travellers)."""

    international_passport_share: Float = Field(
        ge=0, le=1, description="Share of parties holding an international passport."
    )
    schengen_visa_share: Float = Field(
        ge=0, le=1, description="Share of parties holding a Schengen visa (subset of passport holders)."
    )
    schengen_visa_tourist_share: Float = Field(
        0.8, ge=0, le=1, description="Share of Schengen visas that are tourist visas (rest: family, work, study)."
    )
    car_share: Float = Field(ge=0, le=1, description="Share of parties travelling in their own car.")

    @model_validator(mode="after")
    def _visa_within_passports(self) -> "DocumentMix":
        if self.schengen_visa_share > self.international_passport_share:
            raise PydanticCustomError(
                "visa_share",
                "expected schengen_visa_share <= international_passport_share ({p}), found {v}",
                {"p": self.international_passport_share, "v": self.schengen_visa_share},
            )
        return self


class People(DocumentMix):
    """Who the emigrants of the pool are: groups, documents, vehicles, persistence."""

    groups: list[Group] = Field(min_length=1, description="Party groups; shares sum to 1.")
    rechoose_share: Float = Field(
        0.8, ge=0, le=1, description="Share of refused or turned-away parties that try another crossing."
    )
    max_attempts: Int = Field(4, ge=1, le=8, description="Crossings a party tries before going home.")

    @model_validator(mode="after")
    def _shares(self) -> "People":
        total = sum(g.share for g in self.groups)
        if abs(total - 1.0) > 1e-6:
            raise PydanticCustomError(
                "shares_sum", "expected group shares summing to 1, found {total}", {"total": round(total, 6)}
            )
        return self


class Departures(_Strict):
    """Who leaves when: a latent pool drained by a hazard, plus steady baseline traffic."""

    pool_persons: Float = Field(ge=0, description="Would-be emigrants at full scale, persons.")
    pool_hazard_per_day: Float = Field(
        0.0, ge=0, description="Standing departure hazard of the pool, per member per day."
    )
    shocks: list[Shock] = Field(default_factory=list, description="Dated hazard shocks.")
    baseline_per_day: Float = Field(
        0.0, ge=0, description="Regular travellers (tourists, business, family) at full scale, persons per day."
    )
    baseline_people: DocumentMix | None = Field(
        None,
        description="Documents and cars of regular travellers, who mostly hold passports; the pool's (people) if absent.",
    )


class Choice(_Strict):
    """Route choice: a multinomial logit over (crossing, mode) alternatives."""

    travel_hour_utility: Float = Field(-0.05, le=0, description="Utility per hour of travel.")
    wait_hour_utility: Float = Field(-0.05, le=0, description="Utility per hour of reported wait.")
    information_lag_hours: Float = Field(
        12.0, ge=0, description="Age of the wait reports people act on, hours."
    )
    report_interval_hours: Float = Field(
        6.0, gt=0, description="How often waits are reported (Telegram chats, news), hours."
    )


class _PolicyBase(_Strict):
    id: str | None = Field(None, description="Optional identifier (for extends merging and outputs).")
    from_: dt.date = Field(alias="from", description="First day in force (ISO date), from 00:00.")
    until: dt.date | None = Field(None, description="Last day in force (ISO date), inclusive; open-ended if absent.")

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    @model_validator(mode="after")
    def _ordered(self) -> "_PolicyBase":
        if self.until is not None and self.until < self.from_:
            raise PydanticCustomError(
                "date_order",
                "expected until on or after from ({start}), found {end}",
                {"start": self.from_.isoformat(), "end": self.until.isoformat()},
            )
        return self


class ClosurePolicy(_PolicyBase):
    """A crossing, or one mode at it, closed: people there are turned away to re-choose."""

    kind: Literal["closure"]
    crossing: str = Field(description="Id of the crossing closed.")
    mode: Mode | None = Field(None, description="Close only this mode; all modes if absent.")


class EntryPolicy(_PolicyBase):
    """A country changes which documents it accepts (e.g. Finland bars tourist visas)."""

    kind: Literal["entry"]
    country: str = Field(pattern=r"^[A-Z]{2}$", description="ISO code of the country.")
    accepts: list[Document] = Field(description="Documents accepted while in force.")
    visa_free_days: Int | None = Field(None, ge=0, description="Visa-free stay while in force, days.")


Policy = Annotated[Union[ClosurePolicy, EntryPolicy], Field(discriminator="kind")]


class Scenario(_Strict):
    """A complete scenario: the world, the people, and the dated policies."""

    name: str = Field(
        pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$",
        max_length=100,
        description="Scenario name; names the default output folder outputs/<name>-<seed>/.",
    )
    description: str = Field(description="One line: the question this scenario answers.")
    period: Period
    seed: Int = Field(ge=0, description="Root seed of the run's numpy SeedSequence.")
    scale: Float = Field(
        1.0, gt=0, le=1, description="Fraction of people simulated; outputs are scaled back to persons."
    )
    tick_minutes: Int = Field(
        60, description="Batch step of the simulation clock, minutes (divides 1440)."
    )
    origins: list[Origin] = Field(min_length=1)
    countries: list[Country] = Field(min_length=1)
    crossings: list[Crossing] = Field(min_length=1)
    travel: Travel = Field(default_factory=Travel)
    departures: Departures
    people: People
    choice: Choice = Field(default_factory=Choice)
    policies: list[Policy] = Field(default_factory=list)


ProblemList = list[tuple[tuple[str | int, ...], str]]


def reference_problems(scenario: Scenario) -> ProblemList:
    """Cross-field problems of a scenario that is valid field by field.

    Returns
    -------
    list of (path, message)
        ``path`` is the key path at fault (as in pydantic's ``loc``), ``message``
        reads ``expected …, found …``.  Empty when the scenario is consistent.
    """

    problems: ProblemList = []
    if 1440 % scenario.tick_minutes != 0:
        problems.append((("tick_minutes",), f"expected a divisor of 1440, found {scenario.tick_minutes}"))
    _unique(problems, "origins", [o.id for o in scenario.origins])
    _unique(problems, "countries", [c.iso for c in scenario.countries], key="iso")
    _unique(problems, "crossings", [c.id for c in scenario.crossings])
    isos = [c.iso for c in scenario.countries]
    origin_ids = [o.id for o in scenario.origins]
    crossing_ids = [c.id for c in scenario.crossings]
    for i, crossing in enumerate(scenario.crossings):
        if crossing.to not in isos:
            problems.append((("crossings", i, "to"), _unknown("country", crossing.to, isos)))
        for origin_id, hours in crossing.travel_hours.items():
            if origin_id not in origin_ids:
                problems.append(
                    (("crossings", i, "travel_hours", origin_id), _unknown("origin", origin_id, origin_ids))
                )
            elif hours <= 0:
                problems.append(
                    (("crossings", i, "travel_hours", origin_id), f"expected hours > 0, found {hours}")
                )
    _unique(problems, "departures.shocks", [s.id for s in scenario.departures.shocks])
    for i, shock in enumerate(scenario.departures.shocks):
        if not scenario.period.start <= shock.date <= scenario.period.end:
            problems.append((("departures", "shocks", i, "date"), _outside(shock.date, scenario.period)))
    _unique(problems, "people.groups", [g.id for g in scenario.people.groups])
    for i, group in enumerate(scenario.people.groups):
        total = sum(group.party_size)
        if abs(total - 1.0) > 1e-6 or min(group.party_size) < 0:
            problems.append(
                (
                    ("people", "groups", i, "party_size"),
                    f"expected 5 non-negative probabilities summing to 1, found sum {total:.6g}",
                )
            )
    _unique(problems, "policies", [p.id or f"#{i}" for i, p in enumerate(scenario.policies)])
    for i, policy in enumerate(scenario.policies):
        if policy.from_ > scenario.period.end:
            problems.append((("policies", i, "from"), _outside(policy.from_, scenario.period)))
        if policy.until is not None and policy.until < scenario.period.start:
            # Over before the run begins: it would never apply, surely a mistake.
            problems.append((("policies", i, "until"), _outside(policy.until, scenario.period)))
        if isinstance(policy, ClosurePolicy):
            if policy.crossing not in crossing_ids:
                problems.append(
                    (("policies", i, "crossing"), _unknown("crossing", policy.crossing, crossing_ids))
                )
            elif policy.mode is not None:
                modes = scenario.crossings[crossing_ids.index(policy.crossing)].modes
                if policy.mode not in modes:
                    found = ", ".join(m.value for m in modes)
                    problems.append(
                        (
                            ("policies", i, "mode"),
                            f"expected a mode served at {policy.crossing} ({found}), found {policy.mode.value}",
                        )
                    )
        elif isinstance(policy, EntryPolicy) and policy.country not in isos:
            problems.append((("policies", i, "country"), _unknown("country", policy.country, isos)))
    return problems


def _unique(problems: ProblemList, where: str, ids: list[str], key: str = "id") -> None:
    seen: set[str] = set()
    path = tuple(where.split("."))
    for index, item in enumerate(ids):
        if item in seen:
            problems.append(((*path, index, key), f"expected a unique {key}, found {item!r} twice"))
        seen.add(item)


def _unknown(kind: str, found: str, known: list[str]) -> str:
    # Imported here: sim.scenario.messages imports this module.
    from sim.scenario.messages import did_you_mean

    return f"expected a known {kind}, found {found!r}{did_you_mean(found, known)}"


def _outside(date: dt.date, period: Period) -> str:
    return (
        f"expected a date within the period {period.start.isoformat()}..{period.end.isoformat()}, "
        f"found {date.isoformat()}"
    )
