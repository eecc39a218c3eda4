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
import re
import unicodedata
from enum import Enum
from typing import Annotated, Any, Literal, Union

from pydantic import (
    AfterValidator,
    AllowInfNan,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    Strict,
    ValidationError,
    ValidatorFunctionWrapHandler,
    WrapValidator,
    model_validator,
)
from pydantic_core import PydanticCustomError

__all__ = [
    "StrictModel",
    "Int",
    "Float",
    "WeekdayFactors",
    "Document",
    "Mode",
    "ServiceTime",
    "Period",
    "Origin",
    "Country",
    "ModeSpec",
    "AirSpec",
    "Modes",
    "Crossing",
    "Travel",
    "Shock",
    "Departures",
    "Group",
    "PartyGroup",
    "Spread",
    "DocumentMix",
    "People",
    "Choice",
    "Who",
    "ClosurePolicy",
    "EntryPolicy",
    "ExitScreeningPolicy",
    "CapacityPolicy",
    "StayLimitPolicy",
    "AsylumPolicy",
    "AnnouncementPolicy",
    "Policy",
    "Scenario",
    "MAX_PERIOD_DAYS",
    "MIN_SCALE",
    "DATE_YEARS",
    "Date",
    "Text",
    "one_problem",
    "MAX_SIMULATED_PERSONS",
    "simulated_days",
    "simulated_persons",
    "too_many_persons",
    "reference_problems",
]


class Document(str, Enum):
    """Travel documents a party may hold; entry rules name the ones they accept."""

    internal_passport = "internal_passport"
    international_passport = "international_passport"
    schengen_visa_tourist = "schengen_visa_tourist"
    schengen_visa_other = "schengen_visa_other"


class Mode(str, Enum):
    """How a party passes a crossing: its own car, on foot, by bus, by boat, or by air."""

    car = "car"
    foot = "foot"
    bus = "bus"
    boat = "boat"
    air = "air"


class Group(str, Enum):
    """Kinds of party; policies select them with ``who: {groups: [...]}``."""

    draft_age_men = "draft_age_men"
    families = "families"
    others = "others"


class StrictModel(BaseModel):
    """Base of every project file's models: unknown keys are errors, so a typo never silently does nothing."""

    model_config = ConfigDict(extra="forbid", frozen=True)


_Strict = StrictModel


# Strict numbers (field by field: a model-wide strict mode would also refuse ISO
# date strings).  Int refuses booleans, text and floats, even 12.0; Float takes
# integers (YAML ``8``) and floats but refuses booleans and text.
Int = Annotated[int, Strict()]
"""A whole number, strictly: ``true``, ``"12"`` and ``12.0`` are problems."""
Float = Annotated[float, Strict(), AllowInfNan(False)]
"""A finite real number, strictly: an int or a float; ``true``, ``"8"`` and ``.nan`` are problems."""
Bool = Annotated[bool, Strict()]
"""``true`` or ``false``, strictly: ``"yes"``, ``1`` and ``"true"`` are problems."""

#: Years a date may fall in: far beyond any scenario, and far inside what the clock and
#: the warm-up before ``period.start`` can count.
DATE_YEARS = (1900, 2199)


_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def _not_a_number(value: Any) -> Any:
    # pydantic reads a number, or text of one ("1664496000"), as a Unix time; in a scenario
    # it is a slip (20220922). Text must be the ISO date itself.
    if isinstance(value, (bool, int, float)) or (isinstance(value, str) and not _ISO_DATE.fullmatch(value)):
        raise PydanticCustomError("date_type", "expected a date (YYYY-MM-DD), found {found}", {"found": value})
    return value


def _in_years(value: dt.date) -> dt.date:
    low, high = DATE_YEARS
    if not low <= value.year <= high:
        raise PydanticCustomError(
            "date_range",
            "expected a date in the years {low}–{high}, found {found}",
            {"low": low, "high": high, "found": value.isoformat()},
        )
    return value


Date = Annotated[dt.date, BeforeValidator(_not_a_number), AfterValidator(_in_years)]
"""A calendar date (YAML ``2022-09-21`` or the same text), in the years of :data:`DATE_YEARS`."""


def _plain_text(value: str) -> str:
    # Names and descriptions are printed one per line (``crossings list``, memos, figures):
    # a control character, a line break or an unpaired surrogate would break the line or the terminal.
    bad = next((c for c in value if unicodedata.category(c) in ("Cc", "Cs", "Zl", "Zp") and c != "\t"), None)
    if bad is not None:
        raise PydanticCustomError(
            "text", "expected one line of text, found the character {code}", {"code": f"U+{ord(bad):04X}"}
        )
    return value


Text = Annotated[str, AfterValidator(_plain_text)]
"""One line of printable text: no control characters, line breaks or unpaired surrogates."""

def one_problem(expected: str) -> WrapValidator:
    """A validator that reports a value fitting none of a union's kinds as one problem.

    Without it, pydantic lists one problem per kind the value might have been
    (``place.str``, ``place.list[str]``), several lines for one mistake.
    """

    def validate(value: Any, handler: ValidatorFunctionWrapHandler) -> Any:
        try:
            return handler(value)
        except ValidationError as error:
            if len(error.errors()) == 1:
                raise
            from sim.scenario.messages import describe

            raise PydanticCustomError("one_of", f"expected {expected}, found {describe(value)}", {}) from None

    return WrapValidator(validate)


MIN_SCALE = 1e-6
"""Smallest fraction of people simulated (a millionth: about one party of the default scenario)."""


def _a_week(factors: list[float]) -> list[float]:
    if min(factors) < 0 or sum(factors) <= 0:
        raise PydanticCustomError(
            "weekday_factors", "expected factors >= 0 with a positive sum, found {found}", {"found": factors}
        )
    return factors


#: Seven factors, Monday to Sunday, of which only the shape counts (their mean is taken as 1).
WeekdayFactors = Annotated[list[Float], Field(min_length=7, max_length=7), AfterValidator(_a_week)]


# Bounds no real value comes near, so that a valid file cannot overflow the engine's
# clock (hours as int64 days) or its memory (a lane bank per lane).
MAX_LANES = 1_000
"""Most lanes of one mode at one crossing."""
MAX_SERVICE_MINUTES = 100_000.0
"""Longest mean service time, minutes (about 70 days)."""
MAX_TRAVEL_HOURS = 10_000.0
"""Longest travel time given for an origin, hours (about 14 months)."""
MAX_CV = 100.0
"""Largest coefficient of variation of a random duration (beyond it the lognormal overflows)."""


class ServiceTime(_Strict):
    """Time one lane spends on one unit (a car, or one person on foot or in a bus)."""

    distribution: Literal["exponential", "lognormal", "gamma", "fixed"] = Field(
        "lognormal", description="Shape of the service-time distribution."
    )
    mean_minutes: Float = Field(gt=0, le=MAX_SERVICE_MINUTES, description="Mean service time, minutes.")
    cv: Float = Field(
        0.5,
        ge=0,
        le=MAX_CV,
        description="Coefficient of variation (sd / mean); ignored for exponential (1) and fixed (0).",
    )


class Spread(_Strict):
    """A positive random duration: a distribution by its mean and coefficient of variation."""

    distribution: Literal["exponential", "lognormal", "gamma", "fixed"] = Field(
        "lognormal", description="Shape of the distribution."
    )
    mean: Float = Field(gt=0, description="Mean, in the unit the field's name gives.")
    cv: Float = Field(
        0.5, ge=0, le=MAX_CV, description="Coefficient of variation; ignored for exponential (1) and fixed (0)."
    )


class Period(_Strict):
    """Simulated period: from ``start`` 00:00 to ``end`` 24:00 (both dates included)."""

    start: Date = Field(description="First simulated day (ISO date).")
    end: Date = Field(description="Last simulated day (ISO date), inclusive.")
    warmup_days: Int = Field(
        0,
        ge=0,
        le=366,
        description=(
            "Days simulated before start and not reported, so that the first reported day finds the roads,"
            " queues and trips abroad already filled by baseline traffic."
        ),
    )

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
    name: Text = Field(description="Human-readable name.")
    lat: Float = Field(ge=-90, le=90, description="Latitude, degrees.")
    lon: Float = Field(ge=-180, le=180, description="Longitude, degrees.")
    population_weight: Float = Field(gt=0, description="Relative share of departures from here.")
    schengen_visa_factor: Float = Field(
        1.0,
        ge=0,
        description=(
            "How often would-be emigrants from here hold Schengen visas, relative to the other origins: the"
            " factors are divided by their population-weighted mean, so the pool's people.schengen_visa_share"
            " is kept overall, unless an origin's share reaches its passport share (every passport holder"
            " there holds a visa), which caps it and lowers the overall share. Regular travellers are not"
            " concerned."
        ),
    )


class Country(_Strict):
    """A destination country: its standing entry rules, and how long people stay and where they go next."""

    iso: str = Field(pattern=r"^[A-Z]{2}$", description="ISO 3166-1 alpha-2 code.")
    name: Text = Field(description="Human-readable name.")
    accepts: list[Document] = Field(
        description="Documents that admit a Russian citizen when no policy says otherwise."
    )
    visa_free_days: Int = Field(ge=0, description="Visa-free stay, days (0: a visa is needed).")
    visa_runs: Bool = Field(
        False,
        description=(
            "Whether a border run (leaving and re-entering at once) renews the visa-free stay, as it did in"
            " Kazakhstan until 27 Jan 2023: the visa-free days then force no one out (the run itself is not"
            " simulated). A stay_limit policy caps the whole stay, runs or not."
        ),
    )
    appeal: Float = Field(0.0, description="Destination appeal in the route-choice utility (utils).")
    refusal_share: Float = Field(
        0.0, ge=0, le=1, description="Share of otherwise admissible parties refused anyway."
    )
    dwell_days: Spread = Field(
        default_factory=lambda: Spread(distribution="fixed", mean=10_000.0),
        description="How long an emigrant party stays before deciding to move on, return or stay, days.",
    )
    onward_share: Float = Field(
        0.0, ge=0, le=1, description="Share of emigrant parties that move on to another country after their stay."
    )
    return_share: Float = Field(
        0.0, ge=0, le=1, description="Share of emigrant parties that go home after their stay (the rest stay on)."
    )
    trip_days: Spread | None = Field(
        None,
        description="How long a regular traveller's trip here lasts, days; departures.baseline_trip_days if absent.",
    )
    trip_end_weekday_factors: WeekdayFactors | None = Field(
        None,
        description=(
            "When regular travellers' trips here end, by weekday, Monday to Sunday: trip_days run on a clock"
            " that goes this much faster on each day (mean 1), so trips end on the busy days; absent, any day."
        ),
    )
    transit_share: Float = Field(
        0.0,
        ge=0,
        le=1,
        description=(
            "Share of regular travellers entering here who are passing through: they stay dwell_days,"
            " move on like emigrants, and end their trip in the next country (they pass through one country at most)."
        ),
    )

    @model_validator(mode="after")
    def _next_shares(self) -> "Country":
        if self.onward_share + self.return_share > 1 + 1e-9:
            raise PydanticCustomError(
                "shares_sum",
                "expected onward_share + return_share <= 1, found {total}",
                {"total": round(self.onward_share + self.return_share, 6)},
            )
        return self


class ModeSpec(_Strict):
    """Lanes of one mode at one crossing, and how long each unit takes."""

    lanes: Int = Field(
        ge=1, le=MAX_LANES, description="Parallel lanes (booths) serving this mode, outbound to the destination."
    )
    service: ServiceTime = Field(description="Service time per unit: a car for car, a person for foot, bus and boat.")
    car_parties: Bool = Field(
        False,
        description=(
            "Parties travelling by car may also leave their car and cross in this mode (foot, bus or boat),"
            " at the utility cost choice.leave_car_utility; only parties without a car use it otherwise."
        ),
    )


class AirSpec(_Strict):
    """An air route: seats a day (sold first come, first served) and time in the air."""

    seats_per_day: Float = Field(ge=1, description="Seats a day on this route, persons (at least one).")
    flight_hours: Float = Field(3.0, ge=0, description="Time in the air before the entry check, hours.")


class Modes(_Strict):
    """The modes served at a crossing; at least one.  Reads like a mapping from :class:`Mode` to its spec."""

    car: ModeSpec | None = Field(None, description="Cars: one unit per car, whatever the party size.")
    foot: ModeSpec | None = Field(None, description="Pedestrians (and bicycles): one unit per person.")
    bus: ModeSpec | None = Field(None, description="Bus passengers: one unit per person.")
    boat: ModeSpec | None = Field(None, description="Boat passengers: one unit per person.")
    air: AirSpec | None = Field(None, description="An air route.")

    @model_validator(mode="after")
    def _at_least_one(self) -> "Modes":
        if not any(getattr(self, m.value) is not None for m in Mode):
            raise PydanticCustomError("no_modes", "expected at least one of car, foot, bus, boat, air, found none", {})
        if self.car is not None and self.car.car_parties:
            raise PydanticCustomError(
                "car_parties_on_car", "expected car_parties only on foot, bus or boat, found it on car", {}
            )
        return self

    def items(self) -> list[tuple[Mode, ModeSpec | AirSpec]]:
        """(mode, spec) for the modes served, in the fixed order car, foot, bus, boat, air."""
        return [(m, getattr(self, m.value)) for m in Mode if getattr(self, m.value) is not None]

    def __contains__(self, mode: object) -> bool:
        return isinstance(mode, Mode) and getattr(self, mode.value) is not None

    def __getitem__(self, mode: Mode) -> ModeSpec | AirSpec:
        spec = getattr(self, Mode(mode).value)
        if spec is None:
            raise KeyError(mode)
        return spec

    def __iter__(self):  # type: ignore[override]  # iterate modes, like a mapping
        return iter([m for m, _ in self.items()])

    def __len__(self) -> int:
        return len(self.items())


class Crossing(_Strict):
    """A border crossing (or an air route) from one country into another."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$", description="Identifier, lower-case with dashes.")
    name: Text = Field(description="Human-readable name.")
    from_: str | None = Field(
        None,
        alias="from",
        pattern=r"^[A-Z]{2}$",
        description="ISO code of the country left; the home country if absent.",
    )
    to: str = Field(pattern=r"^[A-Z]{2}$", description="ISO code of the destination country.")
    lat: Float = Field(ge=-90, le=90, description="Latitude, degrees (an air route: the departure airport).")
    lon: Float = Field(ge=-180, le=180, description="Longitude, degrees (an air route: the departure airport).")
    arrival_lat: Float | None = Field(
        None, ge=-90, le=90, description="Where travellers come out, latitude (an air route's arrival airport); lat if absent."
    )
    arrival_lon: Float | None = Field(
        None, ge=-180, le=180, description="Where travellers come out, longitude; lon if absent."
    )
    modes: Modes = Field(description="Modes served here: car, foot, bus, boat, air.")
    travel_hours: dict[str, Float] = Field(
        default_factory=dict,
        description="Travel time from an origin id, hours; origins not listed use travel.speed_kmh.",
    )
    appeal: Float = Field(0.0, description="Extra appeal of this crossing in route choice (utils).")


class Travel(_Strict):
    """How travel times are computed where they are not given."""

    speed_kmh: Float = Field(60.0, ge=1, description="Door-to-border speed, km/h.")
    detour_factor: Float = Field(
        1.3, ge=1, le=10, description="Road distance / great-circle distance."
    )


class Shock(_Strict):
    """A dated jump in the departure hazard, e.g. the mobilization announcement."""

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$", description="Identifier.")
    date: Date = Field(description="Date of the shock (ISO date).")
    hour: Float = Field(0.0, ge=0, lt=24, description="Hour of day it starts, hours.")
    peak_per_day: Float = Field(ge=0, description="Added departure hazard at the peak, per pool member per day.")
    rise_hours: Float = Field(12.0, ge=0, description="Linear rise to the peak, hours.")
    half_life_days: Float = Field(gt=0, description="Exponential decay after the peak, half-life in days.")
    abroad_stay_share: dict[str, Annotated[Float, Field(ge=0, le=1)]] = Field(
        default_factory=dict,
        description=(
            "By country (ISO code): share of regular travellers whose trip there ends at the shock's peak who do"
            " not go home but stay abroad as emigrants (they then stay, move on or go home by the country's"
            " onward_share and return_share, like any emigrant); it follows the shock's rise and decay, so"
            " a trip ending one half-life after the peak stays abroad at half the share."
        ),
    )


class PartyGroup(_Strict):
    """A kind of party, with its own size distribution and patience."""

    id: Group = Field(description="Group name.")
    share: Float = Field(ge=0, le=1, description="Share of parties in this group.")
    party_size: list[Float] = Field(
        min_length=5, max_length=5, description="Probabilities of party sizes 1..5 (sum to 1)."
    )
    patience_hours: Spread | None = Field(
        None, description="Longest wait in a queue before giving up, hours; unlimited if absent."
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
    can_fly_share: Float = Field(
        0.0, ge=0, le=1, description="Share of parties with the means to fly (air routes need it)."
    )

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

    groups: list[PartyGroup] = Field(min_length=1, description="Party groups; shares sum to 1.")
    rechoose_share: Float = Field(
        0.8, ge=0, le=1, description="Share of refused or turned-away parties that try another crossing."
    )
    max_attempts: Int = Field(
        6, ge=1, le=12, description="Crossings a party tries in all (onward moves included) before it stops."
    )

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
    baseline_trip_days: Spread = Field(
        default_factory=lambda: Spread(distribution="lognormal", mean=7.0, cv=0.8),
        description="How long a regular traveller stays abroad before going home, days.",
    )
    baseline_weekday_factors: WeekdayFactors | None = Field(
        None,
        description=(
            "Regular travellers' departures by weekday, Monday to Sunday, as factors of baseline_per_day"
            " (their mean is taken as 1); a flat week if absent."
        ),
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
    mode_utility: dict[Mode, Float] = Field(
        default_factory=dict, description="Extra utility of a mode (e.g. air fares, comfort), utils; 0 if absent."
    )
    leave_car_utility: Float = Field(
        0.0,
        le=0,
        description=(
            "Utility of leaving one's car behind to cross on foot, by bus or boat where a mode admits car"
            " parties (car_parties), utils."
        ),
    )
    onward_option_weight: Float = Field(
        0.0,
        ge=0,
        le=1,
        description=(
            "How far people look ahead when they choose a country: the weight of the ways on out of it"
            " (a logsum, see sim.model.lookahead); 0 sees only the next country's appeal, 1 a nested logit."
        ),
    )


class Who(_Strict):
    """Which parties a policy concerns: all of the listed groups, holding any of the listed documents."""

    groups: list[Group] | None = Field(None, min_length=1, description="Groups concerned; all groups if absent.")
    documents: list[Document] | None = Field(
        None, min_length=1, description="Concerned only if holding one of these documents; any party if absent."
    )


class _PolicyBase(_Strict):
    id: str | None = Field(None, description="Optional identifier (for extends merging and outputs).")
    from_: Date = Field(alias="from", description="First day in force (ISO date), from 00:00.")
    until: Date | None = Field(None, description="Last day in force (ISO date), inclusive; open-ended if absent.")

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
    """A country changes which documents it accepts (e.g. Finland bars tourist visas), for some or all."""

    kind: Literal["entry"]
    country: str = Field(pattern=r"^[A-Z]{2}$", description="ISO code of the country.")
    accepts: list[Document] = Field(description="Documents accepted while in force.")
    visa_free_days: Int | None = Field(None, ge=0, description="Visa-free stay while in force, days.")
    who: Who = Field(
        default_factory=Who, description="Whom the rule concerns, by group only (its accepts selects by document); everyone if absent."
    )


class ExitScreeningPolicy(_PolicyBase):
    """On the home side of a crossing, a share of a group is turned back, or mobilised on the spot."""

    kind: Literal["exit_screening"]
    crossing: str | None = Field(None, description="Id of the crossing; every crossing out of the home country if absent.")
    who: Who = Field(default_factory=Who, description="Whom the screening concerns.")
    share: Float = Field(ge=0, le=1, description="Share of the concerned parties stopped.")
    outcome: Literal["turned_back", "mobilised"] = Field(
        "turned_back", description="What happens to those stopped: sent home, or mobilised."
    )
    deterred_share: Float = Field(
        0.0,
        ge=0,
        le=1,
        description=(
            "Share of the parties it would stop who, knowing of it (from its start, or an announcement of it),"
            " do not try a crossing it screens: they choose another, or stay home (no_route_home). 0: all"
            " learn of it at the booth."
        ),
    )


class CapacityPolicy(_PolicyBase):
    """A crossing's lanes, service time or seats change (a country adds staff, an airline adds flights)."""

    kind: Literal["capacity"]
    crossing: str = Field(description="Id of the crossing.")
    mode: Mode = Field(description="The mode whose capacity changes.")
    lanes: Int | None = Field(None, ge=1, le=MAX_LANES, description="Lanes while in force.")
    lanes_factor: Float | None = Field(
        None,
        gt=0,
        le=100,
        description=(
            "Lanes while in force as a multiple of the mode's own (rounded, at least one): 2 doubles them, whatever"
            " a calibration or --set made them; not with lanes."
        ),
    )
    service_mean_minutes: Float | None = Field(
        None, gt=0, le=MAX_SERVICE_MINUTES, description="Mean service time while in force, minutes."
    )
    seats_per_day: Float | None = Field(None, ge=1, description="Air: seats a day while in force (at least one).")


class StayLimitPolicy(_PolicyBase):
    """A cap on how long a party may stay (e.g. Kazakhstan's 90 days in any 180): it moves on or goes home.

    Unlike a country's ``visa_free_days``, a border run does not renew it (``Country.visa_runs``).
    """

    kind: Literal["stay_limit"]
    country: str = Field(pattern=r"^[A-Z]{2}$", description="ISO code of the country.")
    days: Int = Field(ge=1, description="Longest stay, days.")
    window_days: Int = Field(
        180, ge=1, description="Rolling window, days (one stay per party in a run: the cap applies to it)."
    )

    @model_validator(mode="after")
    def _days_within_window(self) -> "StayLimitPolicy":
        if self.days > self.window_days:
            raise PydanticCustomError(
                "stay_window",
                "expected days <= window_days ({w}), found {d}",
                {"w": self.window_days, "d": self.days},
            )
        return self


class AsylumPolicy(_PolicyBase):
    """Who may claim asylum in a country, how many decisions it makes, and how many it grants."""

    kind: Literal["asylum"]
    country: str = Field(pattern=r"^[A-Z]{2}$", description="ISO code of the country.")
    who: Who = Field(default_factory=Who, description="Who may claim.")
    claim_share: Float = Field(ge=0, le=1, description="Share of those who may claim, on entry, who do.")
    at_border: Bool = Field(
        False, description="Claims can be made at the border by those the entry rules would refuse."
    )
    decisions_per_day: Float = Field(gt=0, description="Decisions a day, persons.")
    grant_share: Float = Field(ge=0, le=1, description="Share of decisions that grant protection.")
    processing_days: Float = Field(0.0, ge=0, description="Least time from claim to decision, days.")


class AnnouncementPolicy(_PolicyBase):
    """A rule made public before it takes effect: people know it from ``from``, and some rush ahead."""

    kind: Literal["announcement"]
    of: str = Field(description="Id of the announced policy (which must start after this one).")
    who: Who = Field(default_factory=Who, description="Who rushes ahead.")
    departure_multiplier: Float = Field(
        1.0, ge=0, description="Factor on the pool's departure hazard of those concerned until the rule starts."
    )


Policy = Annotated[
    Union[
        ClosurePolicy,
        EntryPolicy,
        ExitScreeningPolicy,
        CapacityPolicy,
        StayLimitPolicy,
        AsylumPolicy,
        AnnouncementPolicy,
    ],
    Field(discriminator="kind"),
]


class Scenario(_Strict):
    """A complete scenario: the world, the people, and the dated policies."""

    name: str = Field(
        pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$",
        max_length=100,
        description="Scenario name; names the default output folder outputs/<name>-<seed>/.",
    )
    description: Text = Field(description="One line: the question this scenario answers.")
    home: str = Field("RU", pattern=r"^[A-Z]{2}$", description="ISO code of the country people leave.")
    period: Period
    seed: Int = Field(ge=0, description="Root seed of the run's numpy SeedSequence.")
    scale: Float = Field(
        1.0, ge=MIN_SCALE, le=1, description="Fraction of people simulated; outputs are scaled back to persons."
    )
    tick_minutes: Int = Field(
        60, ge=1, le=1440, description="Batch step of the simulation clock, minutes (divides 1440)."
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

MAX_PERIOD_DAYS = 731
"""Most days a scenario may simulate, warm-up included (two years).  The engine's rule
tables hold every (decision day, day) pair, so memory grows with the square of the period."""
MAX_SIMULATED_PERSONS = 10_000_000
"""Most persons a run may simulate (about 3 GB of memory; the default scenario at full
scale simulates 1.1 million).  Larger cases run at a smaller ``scale``."""


def simulated_days(scenario: Scenario) -> int:
    """Days a run simulates: the period and the warm-up before it."""
    return (scenario.period.end - scenario.period.start).days + 1 + scenario.period.warmup_days


def simulated_persons(scenario: Scenario, scale: float) -> float:
    """Persons a run of ``scenario`` at ``scale`` generates: its pool and baseline travellers.

    Parameters
    ----------
    scenario
        The scenario.
    scale
        Fraction of people simulated.

    Returns
    -------
    float
        ``scale × (pool_persons + baseline_per_day × days)``, warm-up days included:
        what the run holds in memory (the pool is drawn in full, whoever of it leaves).
    """
    days = simulated_days(scenario)
    departures = scenario.departures
    return scale * (departures.pool_persons + departures.baseline_per_day * days)


def too_many_persons(persons: float) -> str:
    """The message for a run that would simulate more than :data:`MAX_SIMULATED_PERSONS`."""
    return (
        f"expected at most {MAX_SIMULATED_PERSONS:,} simulated persons "
        f"(scale × (pool_persons + baseline_per_day × days)), found {persons:,.0f}"
    )


def reference_problems(scenario: Scenario) -> ProblemList:
    """Cross-field problems of a scenario that is valid field by field.

    Returns
    -------
    list of (path, message)
        ``path`` is the key path at fault (as in pydantic's ``loc``), ``message``
        reads ``expected …, found …``.  Empty when the scenario is consistent.
    """

    problems: ProblemList = []
    days = simulated_days(scenario)
    if days > MAX_PERIOD_DAYS:
        problems.append(
            (("period", "end"), f"expected at most {MAX_PERIOD_DAYS} days simulated (warm-up included), found {days}")
        )
    elif (persons := simulated_persons(scenario, scenario.scale)) > MAX_SIMULATED_PERSONS:
        problems.append((("departures",), too_many_persons(persons)))
    if 1440 % scenario.tick_minutes != 0:
        problems.append((("tick_minutes",), f"expected a divisor of 1440, found {scenario.tick_minutes}"))
    _unique(problems, "origins", [o.id for o in scenario.origins])
    _unique(problems, "countries", [c.iso for c in scenario.countries], key="iso")
    _unique(problems, "crossings", [c.id for c in scenario.crossings])
    isos = [c.iso for c in scenario.countries]
    origin_ids = [o.id for o in scenario.origins]
    crossing_ids = [c.id for c in scenario.crossings]
    if scenario.home in isos:
        problems.append(
            (("countries", isos.index(scenario.home), "iso"), f"expected a destination, found the home country {scenario.home}")
        )
    for i, crossing in enumerate(scenario.crossings):
        if crossing.to not in isos:
            problems.append((("crossings", i, "to"), _unknown("country", crossing.to, isos)))
        leaving = crossing.from_ or scenario.home
        if leaving != scenario.home and leaving not in isos:
            problems.append((("crossings", i, "from"), _unknown("country", leaving, [scenario.home, *isos])))
        if leaving == crossing.to:
            problems.append((("crossings", i, "to"), f"expected a country other than {leaving}, found {crossing.to}"))
        if crossing.travel_hours and leaving != scenario.home:
            problems.append(
                (
                    ("crossings", i, "travel_hours"),
                    f"expected travel_hours only on crossings from {scenario.home}, found them on one from {leaving}",
                )
            )
        for origin_id, hours in crossing.travel_hours.items():
            if origin_id not in origin_ids:
                problems.append(
                    (("crossings", i, "travel_hours", origin_id), _unknown("origin", origin_id, origin_ids))
                )
            elif hours <= 0:
                problems.append(
                    (("crossings", i, "travel_hours", origin_id), f"expected hours > 0, found {hours}")
                )
            elif hours > MAX_TRAVEL_HOURS:
                problems.append(
                    (("crossings", i, "travel_hours", origin_id), f"expected hours <= {MAX_TRAVEL_HOURS:g}, found {hours:g}")
                )
    _unique(problems, "departures.shocks", [s.id for s in scenario.departures.shocks])
    for i, shock in enumerate(scenario.departures.shocks):
        if not scenario.period.start <= shock.date <= scenario.period.end:
            problems.append((("departures", "shocks", i, "date"), _outside(shock.date, scenario.period)))
        for iso in shock.abroad_stay_share:
            if iso not in isos:
                problems.append((("departures", "shocks", i, "abroad_stay_share", iso), _unknown("country", iso, isos)))
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
        where = ("policies", i)
        if isinstance(policy, (ClosurePolicy, CapacityPolicy, ExitScreeningPolicy)) and policy.crossing is not None:
            if policy.crossing not in crossing_ids:
                problems.append(((*where, "crossing"), _unknown("crossing", policy.crossing, crossing_ids)))
                continue
            crossing = scenario.crossings[crossing_ids.index(policy.crossing)]
            mode = getattr(policy, "mode", None)
            if mode is not None and mode not in crossing.modes:
                found = ", ".join(m.value for m in crossing.modes)
                problems.append(
                    ((*where, "mode"), f"expected a mode served at {policy.crossing} ({found}), found {mode.value}")
                )
            if isinstance(policy, ExitScreeningPolicy) and (crossing.from_ or scenario.home) != scenario.home:
                problems.append(
                    (
                        (*where, "crossing"),
                        f"expected a crossing out of {scenario.home}, found {policy.crossing} out of {crossing.from_}",
                    )
                )
            if isinstance(policy, CapacityPolicy) and mode in crossing.modes:
                problems.extend(_capacity_problems(where, policy))
        if isinstance(policy, EntryPolicy) and policy.who.documents is not None:
            # The entry tables are per group: a documents selector would be silently ignored.
            problems.append(
                (
                    (*where, "who", "documents"),
                    "expected only groups in who of an entry rule (its accepts says which documents admit), "
                    "found documents",
                )
            )
        country = getattr(policy, "country", None)
        if country is not None and country not in isos:
            problems.append(((*where, "country"), _unknown("country", country, isos)))
        if isinstance(policy, AnnouncementPolicy):
            ids = [p.id for p in scenario.policies]
            if policy.of not in ids:
                problems.append(((*where, "of"), _unknown("policy id", policy.of, [x for x in ids if x])))
            else:
                announced = scenario.policies[ids.index(policy.of)]
                if isinstance(announced, AnnouncementPolicy):
                    problems.append(((*where, "of"), f"expected a rule, found the announcement {policy.of!r}"))
                elif announced.from_ <= policy.from_:
                    problems.append(
                        (
                            (*where, "from"),
                            f"expected a date before {policy.of} takes effect ({announced.from_.isoformat()}), "
                            f"found {policy.from_.isoformat()}",
                        )
                    )
    return problems


def _capacity_problems(where: tuple[str | int, ...], policy: CapacityPolicy) -> ProblemList:
    """Air changes seats; other modes change lanes or service time; at least one thing changes."""
    if policy.mode is Mode.air:
        wrong = [k for k in ("lanes", "lanes_factor", "service_mean_minutes") if getattr(policy, k) is not None]
        missing = policy.seats_per_day is None
    else:
        wrong = ["seats_per_day"] if policy.seats_per_day is not None else []
        missing = policy.lanes is None and policy.lanes_factor is None and policy.service_mean_minutes is None
    problems: ProblemList = [((*where, k), f"expected no {k} for mode {policy.mode.value}, found one") for k in wrong]
    if policy.lanes is not None and policy.lanes_factor is not None:
        problems.append(((*where, "lanes_factor"), "expected lanes or lanes_factor, found both"))
    if missing:
        what = "seats_per_day" if policy.mode is Mode.air else "lanes, lanes_factor or service_mean_minutes"
        problems.append(((*where,), f"expected {what} to change, found nothing"))
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
