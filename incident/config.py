"""The one decoder of `surge_config.yaml`: YAML in, frozen msgspec Structs out.

Unknown keys are forbidden everywhere, so a typo is an error rather than a silently ignored
setting. Every error is reported as one line, `FILE:LINE: key.path: problem`, because the person
reading it is a city IT administrator at 3 a.m., not a Python developer.
"""

from __future__ import annotations

import enum
import functools
import ipaddress
import re
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import msgspec
import yaml

from incident.validation import Path as KeyPath
from incident.validation import dotted, split_error

try:  # the C loader is several times faster; the pure-Python one is a fine fallback
    _Loader: type[yaml.SafeLoader] = yaml.CSafeLoader  # type: ignore[assignment]
except AttributeError:  # pragma: no cover - depends on how PyYAML was built
    _Loader = yaml.SafeLoader


_T = TypeVar("_T")


class Priority(enum.StrEnum):
    """P1 is the most urgent. Life-safety work is always P1."""

    P1 = "P1"
    P2 = "P2"
    P3 = "P3"
    P4 = "P4"


Code = Annotated[str, msgspec.Meta(pattern=r"^[a-z][a-z0-9_]{0,39}$")]
Name = Annotated[str, msgspec.Meta(min_length=1, max_length=120)]


class _Section(msgspec.Struct, forbid_unknown_fields=True, frozen=True, kw_only=True):
    """Base for every config section: unknown keys are errors, values are immutable."""


class Jurisdiction(_Section, frozen=True):
    id: Annotated[str, msgspec.Meta(pattern=r"^[a-z0-9][a-z0-9-]{0,31}$")]
    name: Name
    timezone: str
    phone_region: Annotated[str, msgspec.Meta(pattern=r"^[A-Z]{2}$")]


class Tickets(_Section, frozen=True):
    number_digits: Annotated[int, msgspec.Meta(ge=4, le=9)]


class Intake(_Section, frozen=True):
    max_body_bytes: Annotated[int, msgspec.Meta(ge=1024, le=10_485_760)]
    max_narrative_chars: Annotated[int, msgspec.Meta(ge=100, le=100_000)]
    idempotency_ttl_hours: Annotated[int, msgspec.Meta(ge=1, le=720)]
    default_category: Code


AnswerValue = str | int | float | bool


class Question(_Section, frozen=True):
    id: Code
    ask: Annotated[str, msgspec.Meta(min_length=3, max_length=300)]
    kind: Literal["yes_no", "number", "text"] = "yes_no"
    needs: list[Code] = []  # a "yes" means the crew sent needs these capabilities


class CrewKind(enum.StrEnum):
    """What a crew is for; a category names the kinds that can work it."""

    DEBRIS_FORESTRY = "debris_forestry"
    STREETS = "streets"
    TRANSPORT_VAN = "transport_van"
    OUTREACH = "outreach"
    UTILITY_LIAISON = "utility_liaison"


class Duplicates(_Section, frozen=True):
    """When a new call is probably about an incident already open."""

    radius_m: Annotated[float, msgspec.Meta(ge=5, le=5000)]
    window_hours: Annotated[float, msgspec.Meta(gt=0, le=24 * 30)]
    raise_at: dict[Annotated[int, msgspec.Meta(ge=2, le=10_000)], Priority] = {}  # callers → priority


class Category(_Section, frozen=True):
    code: Code
    name: Name
    default_priority: Priority
    sensitive: bool
    questions: list[Question] = []
    vulnerability_raises: bool = False  # a vulnerable caller's call of this kind goes up a priority
    refer: list[Code] = []  # agencies every call of this kind is referred to
    crews: list[CrewKind] = []  # kinds of crew that work it, best first; none: not crew work
    duplicates: Duplicates | None = None  # none: every call opens its own incident
    segment_jobs: bool = False  # incidents on one block face may be grouped into one job


Lang = Literal["en", "es"]  # the languages triage reads; a concept's terms are given per language
Term = Annotated[str, msgspec.Meta(min_length=1, max_length=80, pattern=r"\w")]
# An APCO common incident type, as NENA's EIDO schema lists them (apcoIncidentCategoryCodeSimpleType).
ApcoCode = Annotated[str, msgspec.Meta(pattern=r"^[0-9A-Z]{2,10}$")]
Abbreviation = Annotated[str, msgspec.Meta(pattern=r"^[0-9A-Z]{2,6}$")]


class Concept(_Section, frozen=True):
    """Something a caller can report, and the words for it (see incident/data/triage/concepts.yaml)."""

    id: Code
    name: Name | None = None
    danger: bool | None = None  # a medical or danger concept: unsettled, it puts the screen first
    apco: list[ApcoCode] = []
    source: Annotated[str, msgspec.Meta(max_length=500)] | None = msgspec.field(default=None, name="from")
    terms: dict[Lang, list[Term]] = {}  # matched after lemmatisation
    exact: dict[Lang, list[Term]] = {}  # matched on the words as written
    abbreviations: list[Abbreviation] = []  # matched only when written in capitals
    hides: list[Code] = []  # concepts whose words inside this concept's words do not count ("fire hydrant")


ContextCategory = Literal[
    "negated", "historical", "hypothetical", "not_present", "resolved", "possible", "minor", "pseudo",
    "terminate", "past",
]  # fmt: skip


class Trigger(_Section, frozen=True):
    """ConText: words that change what a concept in their scope means (see context.yaml)."""

    category: ContextCategory
    direction: Literal["forward", "backward", "both"]
    terms: dict[Lang, list[Term]]
    scope: Annotated[int, msgspec.Meta(ge=1, le=20)] = 6


class Vocabulary(_Section, frozen=True):
    """The shipped vocabulary files, decoded."""

    concepts: list[Concept] = []
    context: list[Trigger] = []


class Rule(_Section, frozen=True):
    id: Code
    category: Code
    priority: Priority
    life_safety: bool = False
    when: list[list[Code]] = []  # groups of concept ids: each group needs one of them found and counted
    answers: dict[Code, AnswerValue] = {}  # or: every answer given equals this
    vulnerable: bool = False  # also needs a vulnerable person (a triage.vulnerability factor)
    without: list[Code] = []  # concepts that must not be found (counted) for it to fire
    overrides: list[Code] = []  # rules it sets aside when it fires
    ask_first: list[Code] = []  # questions to put before all others when it fires
    also: list[Code] = []  # other categories the call then also needs
    primary: bool = False  # when it fires (and no life-safety rule did), its category leads
    refer: list[Code] = []


class Factor(_Section, frozen=True):
    id: Code
    concepts: list[Code] = []
    answers: dict[Code, AnswerValue] = {}
    age_at_least: int | None = None


class ColdLimit(_Section, frozen=True):
    at_or_below_f: float
    hours: float


class Cold(_Section, frozen=True):
    hours_question: Code
    temperature_question: Code
    default_outdoor_temp_f: float
    limits: list[ColdLimit]


class Agency(_Section, frozen=True):
    code: Code
    name: Name


class Triage(_Section, frozen=True, kw_only=True):
    screen: list[Question]
    concepts: list[Concept] = []  # the city's own, and terms added to shipped ones (same id)
    context: list[Trigger] = []  # context triggers added to the shipped ones
    rules: list[Rule]
    vulnerability: list[Factor]
    cold: Cold
    agencies: list[Agency]
    # The learnt model that puts the screen questions first (incident/triage/model.py): unset, the
    # shipped one; "off", none; else a file `stormline triage learn` wrote, relative to this file's folder.
    model: Annotated[str, msgspec.Meta(min_length=1, max_length=500)] | None = None


class Security(_Section, frozen=True):
    session_idle_minutes: Annotated[int, msgspec.Meta(ge=5, le=24 * 60)]
    session_max_hours: Annotated[int, msgspec.Meta(ge=1, le=72)]
    min_password_length: Annotated[int, msgspec.Meta(ge=8, le=128)]
    login_free_attempts: Annotated[int, msgspec.Meta(ge=1, le=100)]
    login_free_attempts_any_address: Annotated[int, msgspec.Meta(ge=1, le=100_000)]
    login_max_delay_seconds: Annotated[int, msgspec.Meta(ge=1, le=3600)]


class ConfigPlace(_Section, frozen=True):
    name: Name
    aliases: list[Annotated[str, msgspec.Meta(min_length=2, max_length=120)]] = []
    kind: Code = "place"
    lat: Annotated[float, msgspec.Meta(ge=-90, le=90)] | None = None
    lon: Annotated[float, msgspec.Meta(ge=-180, le=180)] | None = None


class ZoneLayer(_Section, frozen=True):
    name: Code
    path: str
    property: Annotated[str, msgspec.Meta(min_length=1)]


class Provider(_Section, frozen=True):
    name: Literal["nominatim", "arcgis", "census"]
    min_delay_seconds: Annotated[float, msgspec.Meta(ge=0.1, le=60)] = 1.0
    timeout_seconds: Annotated[float, msgspec.Meta(gt=0, le=60)] = 5.0
    user_agent: str = "stormline"
    domain: str | None = None  # a self-hosted Nominatim, say


class Geo(_Section, frozen=True):
    accept_confidence: Annotated[float, msgspec.Meta(ge=0, le=1)]
    outside_referral: Annotated[str, msgspec.Meta(min_length=1, max_length=500)]
    places: list[ConfigPlace]
    zone_layers: list[ZoneLayer]
    providers: list[Provider]
    provider_cache_hours: Annotated[int, msgspec.Meta(ge=1, le=24 * 365)]


# A domain name, lower case, as NENA's agency identifiers are.
DOMAIN = r"^(?=.{4,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$"


class HandoffConfig(_Section, frozen=True, kw_only=True):
    psap_endpoint: str  # where EIDO and CAP documents are POSTed; empty: none yet (deliveries wait)
    sender: Annotated[str, msgspec.Meta(min_length=3, max_length=200)]
    agency_id: Annotated[str, msgspec.Meta(pattern=DOMAIN)]  # the 311 center's, in NENA's EIDO
    ack_seconds: Annotated[int, msgspec.Meta(ge=5, le=3600)]
    # A life-safety call with no handoff step yet alarms at once, and again this often until one is recorded.
    unstarted_repeat_seconds: Annotated[int, msgspec.Meta(ge=15, le=3600)] = 120
    retry_seconds: Annotated[int, msgspec.Meta(ge=1, le=600)]
    timeout_seconds: Annotated[float, msgspec.Meta(gt=0, le=60)]
    steps: list[Annotated[str, msgspec.Meta(min_length=3, max_length=300)]]
    state: Annotated[str, msgspec.Meta(pattern=r"^[A-Z]{2}$")] | None = None  # in EIDO civic addresses (A1)


class PartnerFeed(_Section, frozen=True):
    """The CAP feed of incidents a supervisor shares with partner agencies."""

    restriction: Annotated[str, msgspec.Meta(min_length=3, max_length=500)] = (
        "For the city's partner agencies in the storm response only; not for public release"
    )
    radius_km: Annotated[float, msgspec.Meta(ge=0.2, le=10)] = 0.5  # the circle around the rounded point
    cancelled_hours: Annotated[int, msgspec.Meta(ge=1, le=24 * 14)] = 24  # a Cancel stays in the feed


class Shift(_Section, frozen=True):
    name: Name
    start: Annotated[str, msgspec.Meta(pattern=r"^([01]\d|2[0-3]):[0-5]\d$")]
    end: Annotated[str, msgspec.Meta(pattern=r"^([01]\d|2[0-3]):[0-5]\d$")]
    agents: Annotated[int, msgspec.Meta(ge=0, le=1000)]
    crews: Annotated[int, msgspec.Meta(ge=0, le=1000)]


class ModeProfile(_Section, frozen=True):
    banner: Annotated[str, msgspec.Meta(max_length=300)]
    public_message: Annotated[str, msgspec.Meta(max_length=1000)]
    categories: list[Code]  # offered to agents, in this order
    scripts: dict[Code, Annotated[str, msgspec.Meta(max_length=2000)]]
    deadline_minutes: dict[Priority, Annotated[int, msgspec.Meta(ge=1, le=100_000)]]
    category_deadline_minutes: dict[Code, dict[Priority, Annotated[int, msgspec.Meta(ge=1, le=100_000)]]] = {}
    review_minutes: Annotated[int, msgspec.Meta(ge=0, le=10_000)] = 0  # 0: never asked
    roster: list[Shift] = []
    # A call-down's resident not answering this many calls, spaced over these minutes, gets a door knock.
    calldown_attempts: Annotated[int, msgspec.Meta(ge=1, le=20)] = 3
    calldown_minutes: Annotated[int, msgspec.Meta(ge=0, le=24 * 60)] = 60

    def deadline(self, category: str, priority: Priority) -> int:
        """Minutes from opening to due, for a category and priority in this mode."""
        return (
            self.category_deadline_minutes.get(category, {}).get(priority) or self.deadline_minutes[priority]
        )


class Surge(_Section, frozen=True):
    window_minutes: Annotated[int, msgspec.Meta(ge=5, le=120)]
    baseline_hours: Annotated[int, msgspec.Meta(ge=1, le=24 * 7)]  # counts are kept a week
    factor: Annotated[float, msgspec.Meta(ge=1.0, le=100.0)]
    min_calls: Annotated[int, msgspec.Meta(ge=1, le=100_000)]
    auto_switch: bool


class Need(enum.StrEnum):
    """What a registered resident needs in an emergency (incident/registry.py)."""

    POWERED_EQUIPMENT = "powered_equipment"  # a ventilator, a feeding pump, a powered bed, …
    OXYGEN = "oxygen"  # an oxygen concentrator (powered) or cylinders
    DIALYSIS = "dialysis"
    MOBILITY = "mobility"  # a wheelchair or walker; cannot leave alone or by the stairs
    LIVES_ALONE = "lives_alone"
    SERVICE_ANIMAL = "service_animal"
    INTERPRETER = "interpreter"  # speaks little English: call in their language


_NEED_WEIGHTS = {
    Need.POWERED_EQUIPMENT: 5.0,
    Need.OXYGEN: 5.0,
    Need.DIALYSIS: 4.0,
    Need.MOBILITY: 2.0,
    Need.SERVICE_ANIMAL: 0.5,
    Need.INTERPRETER: 0.5,
}


_NEED_ANSWERS: dict[Need, dict[str, AnswerValue]] = {
    Need.POWERED_EQUIPMENT: {"on_oxygen": "yes"},
    Need.OXYGEN: {"on_oxygen": "yes"},
    Need.DIALYSIS: {"dialysis": "yes"},
    Need.MOBILITY: {"wheelchair": "yes"},
}


class Registry(_Section, frozen=True, kw_only=True):
    """The registry of residents who need help in an emergency, and its call-downs."""

    reverify_months: Annotated[int, msgspec.Meta(ge=1, le=60)] = 12  # consent is asked again after this
    match_radius_m: Annotated[float, msgspec.Meta(ge=1, le=200)] = 20  # a call's point this near matches
    # Risk, for a call-down's order: the weights of a resident's needs, summed (at least
    # `base_weight`), times (1 + hours without power or heat / `hours_scale`), times
    # `lives_alone_factor` for someone who lives alone.
    base_weight: Annotated[float, msgspec.Meta(gt=0, le=100)] = 1.0
    weights: dict[Need, Annotated[float, msgspec.Meta(ge=0, le=100)]] = msgspec.field(
        default_factory=lambda: dict(_NEED_WEIGHTS)
    )
    hours_scale: Annotated[float, msgspec.Meta(gt=0, le=1000)] = 12.0
    lives_alone_factor: Annotated[float, msgspec.Meta(ge=1, le=10)] = 1.5
    outage_hours_property: Annotated[str, msgspec.Meta(min_length=1, max_length=60)] = "hours_out"
    # What each need tells triage, as answers to its questions (the caller's own answers win).
    answers: dict[Need, dict[Code, AnswerValue]] = msgspec.field(default_factory=lambda: dict(_NEED_ANSWERS))
    hold_minutes: Annotated[int, msgspec.Meta(ge=1, le=240)] = 15  # an agent's hold on a resident to call
    door_knock_category: Code = "welfare_check"
    door_knock_priority: Priority = Priority.P1


class ExerciseConfig(_Section, frozen=True):
    """Drills: where what a drill would send a partner goes instead (empty: nowhere)."""

    # A receiver the city runs for drills, POSTed the 911 documents and agencies' webhooks of a drill
    # (its host must be allowed by referrals.allow_private if it is on a private network).
    test_endpoint: Annotated[str, msgspec.Meta(pattern=r"^(https?://.+)?$", max_length=500)] = ""


class Modes(_Section, frozen=True):
    normal: ModeProfile
    standby: ModeProfile
    incident: ModeProfile
    surge: Surge
    stand_down_categories: dict[Code, Code] = {}  # incident-mode category → the normal queue it goes back to


class Dispatch(_Section, frozen=True):
    capabilities: list[Code]  # every capability a crew may have or a question may need
    silent_minutes: Annotated[int, msgspec.Meta(ge=1, le=24 * 60)]
    redeliver_seconds: Annotated[int, msgspec.Meta(ge=5, le=3600)]
    position_stale_minutes: Annotated[int, msgspec.Meta(ge=1, le=24 * 60)]
    segment_snap_m: Annotated[float, msgspec.Meta(ge=5, le=200)]
    speed_kmh: Annotated[float, msgspec.Meta(gt=1, le=120)]
    load_penalty_km: Annotated[float, msgspec.Meta(ge=0, le=100)]
    max_jobs_per_crew: Annotated[int, msgspec.Meta(ge=1, le=500)]


class Site(_Section, frozen=True):
    id: Code
    name: Name
    lat: Annotated[float, msgspec.Meta(ge=-85, le=85)]
    lon: Annotated[float, msgspec.Meta(ge=-180, le=180)]
    source: Annotated[str, msgspec.Meta(max_length=300)]
    address: Annotated[str, msgspec.Meta(max_length=200)] | None = None


class Warming(_Section, frozen=True):
    stale_minutes: Annotated[int, msgspec.Meta(ge=5, le=24 * 60)]
    overnight_from: Annotated[str, msgspec.Meta(pattern=r"^([01]\d|2[0-3]):[0-5]\d$")]
    overnight_until: Annotated[str, msgspec.Meta(pattern=r"^([01]\d|2[0-3]):[0-5]\d$")]
    sites: Annotated[list[Site], msgspec.Meta(min_length=1)]


class Transport(_Section, frozen=True):
    group_radius_km: Annotated[float, msgspec.Meta(gt=0, le=50)]
    stop_minutes: Annotated[float, msgspec.Meta(ge=0, le=120)]
    window_minutes: Annotated[int, msgspec.Meta(ge=5, le=240)]


class Referrals(_Section, frozen=True):
    follow_up_hours: Annotated[float, msgspec.Meta(gt=0, le=24 * 14)]
    link_days: Annotated[int, msgspec.Meta(ge=1, le=90)]
    directory: str  # an HSDS package (folder of CSVs, or a JSON file), relative to this file
    timeout_seconds: Annotated[float, msgspec.Meta(gt=0, le=60)]
    # Private networks (CIDR) or host names agencies' webhooks may be on; the public internet always is.
    allow_private: list[Annotated[str, msgspec.Meta(min_length=1, max_length=253)]] = []


class Open311(_Section, frozen=True):
    jurisdiction_id: Annotated[str, msgspec.Meta(pattern=r"^[a-z0-9][a-z0-9.-]{0,99}$")]
    services: Annotated[list[Code], msgspec.Meta(min_length=1)]  # categories apps may file, in order
    group: Name  # the group every service is listed under


class SurgeConfig(_Section, frozen=True, kw_only=True):
    jurisdiction: Jurisdiction
    tickets: Tickets
    intake: Intake
    security: Security
    geo: Geo
    triage: Triage
    handoff: HandoffConfig
    partners: PartnerFeed = PartnerFeed()
    registry: Registry = Registry()
    exercise: ExerciseConfig = ExerciseConfig()
    modes: Modes
    dispatch: Dispatch
    warming: Warming
    transport: Transport
    referrals: Referrals
    open311: Open311
    categories: Annotated[list[Category], msgspec.Meta(min_length=1)]

    def category(self, code: str) -> Category | None:
        """The category with this code, or None."""
        for category in self.categories:
            if category.code == code:
                return category
        return None

    @property
    def zone(self) -> ZoneInfo:
        """The jurisdiction's time zone (already checked to exist)."""
        return ZoneInfo(self.jurisdiction.timezone)


class ConfigError(Exception):
    """A config that cannot be used; `str()` is the one line to show the operator."""

    def __init__(self, source: str, line: int | None, path: KeyPath, problem: str) -> None:
        self.source, self.line, self.path, self.problem = source, line, path, problem
        where = f"{source}:{line}" if line else source
        super().__init__(_one_line(f"{where}: {dotted(path)}: {problem}"))


# What str.splitlines breaks at: a key or value quoting any of these must not break the one line.
_LINE_BREAKS = {ord(c): repr(c)[1:-1] for c in "\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029"}


def _one_line(text: str) -> str:
    return text.translate(_LINE_BREAKS)


def load_config(path: str | Path) -> SurgeConfig:
    """Read and decode a config file; raise ConfigError naming the key and line on any problem."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(str(path), None, [], f"cannot read the file ({error})") from error
    return decode_config(text, source=str(path), folder=path.parent)


_TOO_DEEP = "nested too deeply, or an alias (*name) that contains itself"


def decode_config(text: str, *, source: str = "surge_config.yaml", folder: Path | None = None) -> SurgeConfig:
    """Decode config text. See load_config. Files it names are looked for in `folder` when given."""
    config, root = _decode(text, SurgeConfig, source)
    for key_path, problem in _semantic_problems(config, folder):
        raise ConfigError(source, _line_of(root, key_path), key_path, problem)
    return config


# The shipped triage vocabulary: concepts and context triggers (see the files' own comments).
VOCABULARY = Path(__file__).resolve().parent / "data" / "triage"


@functools.cache
def shipped_vocabulary() -> Vocabulary:
    """The vocabulary shipped with Stormline, decoded once per process."""
    parts = []
    for name in ("concepts.yaml", "context.yaml"):
        path = VOCABULARY / name
        vocabulary, _ = _decode(path.read_text(encoding="utf-8"), Vocabulary, str(path))
        parts.append(vocabulary)
    return Vocabulary(concepts=parts[0].concepts, context=parts[1].context)


def vocabulary(triage: Triage) -> Vocabulary:
    """The shipped vocabulary with a city's concepts and triggers added.

    A city concept with a shipped concept's id adds its terms (and apco codes, abbreviations and
    hidden concepts) to it; a name, source or danger flag it gives replaces the shipped one.
    """
    shipped = shipped_vocabulary()
    merged = {concept.id: concept for concept in shipped.concepts}
    for concept in triage.concepts:
        if concept.id not in merged:
            merged[concept.id] = concept
            continue
        base = merged[concept.id]
        merged[concept.id] = msgspec.structs.replace(
            base,
            name=concept.name or base.name,
            danger=base.danger if concept.danger is None else concept.danger,
            apco=[*base.apco, *concept.apco],
            source=concept.source or base.source,
            terms=_union(base.terms, concept.terms),
            exact=_union(base.exact, concept.exact),
            abbreviations=[*base.abbreviations, *concept.abbreviations],
            hides=[*base.hides, *concept.hides],
        )
    return Vocabulary(concepts=list(merged.values()), context=[*shipped.context, *triage.context])


@functools.cache
def shipped_ids() -> frozenset[str]:
    """The ids of the shipped concepts."""
    return frozenset(concept.id for concept in shipped_vocabulary().concepts)


def _union(first: dict[Lang, list[str]], second: dict[Lang, list[str]]) -> dict[Lang, list[str]]:
    return {lang: [*first.get(lang, []), *second.get(lang, [])] for lang in {**first, **second}}


def _decode(text: str, kind: type[_T], source: str) -> tuple[_T, yaml.Node]:
    """YAML text to `kind`, or a ConfigError naming the line and key of the first problem."""
    try:
        root = yaml.compose(text, Loader=_Loader)
        if root is None:
            raise ConfigError(source, None, [], "the file is empty")
        _reject_duplicate_keys(root, [], source)
        data = yaml.load(text, Loader=_Loader)  # noqa: S506 - the loader is a SafeLoader
    except yaml.YAMLError as error:  # also what only loading finds: an unknown tag, bad !!binary
        mark = getattr(error, "problem_mark", None)
        problem = " ".join(str(getattr(error, "problem", None) or error).split())  # one line
        line = mark.line + 1 if mark else None
        raise ConfigError(source, line, [], f"not valid YAML: {problem}") from None
    except RecursionError:
        raise ConfigError(source, None, [], _TOO_DEEP) from None
    try:
        decoded = msgspec.convert(data, kind)
    except RecursionError:
        raise ConfigError(source, None, [], _TOO_DEEP) from None
    except msgspec.ValidationError as error:
        key_path, problem = split_error(error)
        problem = problem.replace("Object contains unknown field", "unknown key").replace(
            "Object missing required field", "missing required key"
        )
        raise ConfigError(source, _line_of(root, key_path), key_path, problem) from None
    return decoded, root


def _semantic_problems(config: SurgeConfig, folder: Path | None) -> list[tuple[KeyPath, str]]:
    """Checks that span keys, which a type alone cannot express."""
    problems: list[tuple[KeyPath, str]] = []
    model = config.triage.model
    if folder is not None and model is not None and model != "off" and not (folder / model).is_file():
        problems.append(
            (["triage", "model"], f"no file {folder / model} (a model `stormline triage learn` wrote)")
        )
    try:
        ZoneInfo(config.jurisdiction.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        problems.append((["jurisdiction", "timezone"], f"unknown time zone {config.jurisdiction.timezone!r}"))
    seen: set[str] = set()
    for index, category in enumerate(config.categories):
        if category.code in seen:
            problems.append((["categories", index, "code"], f"duplicate code {category.code!r}"))
        seen.add(category.code)
    agencies = {agency.code for agency in config.triage.agencies}
    questions = {q.id for q in config.triage.screen} | {q.id for c in config.categories for q in c.questions}
    concepts = {concept.id: concept for concept in vocabulary(config.triage).concepts}
    rule_ids = [rule.id for rule in config.triage.rules]
    for index, concept in enumerate(config.triage.concepts):
        if concept.id not in shipped_ids() and not (concept.terms or concept.exact or concept.abbreviations):
            problems.append((["triage", "concepts", index], "a new concept needs terms"))
    for concept in concepts.values():
        for code in concept.hides:
            if code not in concepts:
                where: KeyPath = ["triage", "concepts"]
                problems.append((where, f"{concept.id}: hides {code!r}, which is no concept"))
    for index, factor in enumerate(config.triage.vulnerability):
        for code in factor.concepts:
            if code not in concepts:
                problems.append((["triage", "vulnerability", index, "concepts"], f"{code!r} is no concept"))
    for index, rule in enumerate(config.triage.rules):
        if rule_ids.count(rule.id) > 1:
            problems.append((["triage", "rules", index, "id"], f"duplicate id {rule.id!r}"))
        for code in (rule.category, *rule.also):
            if code not in seen:
                problems.append(
                    (["triage", "rules", index, "category"], f"{code!r} is not a category's code")
                )
        if not rule.when and not rule.answers:
            problems.append(
                (["triage", "rules", index], "a rule needs `when` concepts or `answers` (or both)")
            )
        for g_index, group in enumerate(rule.when):
            for code in group:
                if code not in concepts:
                    problems.append(
                        (
                            ["triage", "rules", index, "when", g_index],
                            f"{code!r} is no concept (triage.concepts)",
                        )
                    )
        for code in rule.without:
            if code not in concepts:
                problems.append((["triage", "rules", index, "without"], f"{code!r} is no concept"))
        for code in rule.overrides:
            if code not in rule_ids:
                problems.append((["triage", "rules", index, "overrides"], f"{code!r} is no rule's id"))
        for code in rule.ask_first:
            if code not in questions:
                problems.append(
                    (["triage", "rules", index, "ask_first"], f"{code!r}: no question has this id")
                )
        for code in rule.refer:
            if code not in agencies:
                problems.append((["triage", "rules", index, "refer"], f"{code!r} is not in triage.agencies"))
        for question in rule.answers:
            if question not in questions:
                problems.append((["triage", "rules", index, "answers", question], "no question has this id"))
    for mode in ("normal", "standby", "incident"):
        profile = getattr(config.modes, mode)
        for code in [*profile.categories, *profile.scripts, *profile.category_deadline_minutes]:
            if code not in seen:
                problems.append((["modes", mode], f"{code!r} is not a category's code"))
        missing = [p for p in Priority if p not in profile.deadline_minutes]
        if missing:
            problems.append((["modes", mode, "deadline_minutes"], f"no deadline for {', '.join(missing)}"))
    if config.registry.door_knock_category not in seen:
        code = config.registry.door_knock_category
        problems.append((["registry", "door_knock_category"], f"{code!r} is not a category's code"))
    for need, given in config.registry.answers.items():
        for question in given:
            if question not in questions:
                problems.append((["registry", "answers", need, question], "no question has this id"))
    for source_code, target in config.modes.stand_down_categories.items():
        for code in (source_code, target):
            if code not in seen:
                problems.append(
                    (["modes", "stand_down_categories", source_code], f"{code!r} is not a category's code")
                )
    for index, category in enumerate(config.categories):
        for code in category.refer:
            if code not in agencies:
                problems.append((["categories", index, "refer"], f"{code!r} is not in triage.agencies"))
    capabilities = set(config.dispatch.capabilities)
    for index, category in enumerate(config.categories):
        for q_index, asked in enumerate(category.questions):
            for code in asked.needs:
                if code not in capabilities:
                    problems.append(
                        (
                            ["categories", index, "questions", q_index, "needs"],
                            f"{code!r} is not in dispatch.capabilities",
                        )
                    )
    site_ids = [site.id for site in config.warming.sites]
    for index, site in enumerate(config.warming.sites):
        if site_ids.count(site.id) > 1:
            problems.append((["warming", "sites", index, "id"], f"duplicate id {site.id!r}"))
    for index, place in enumerate(config.geo.places):
        if (place.lat is None) != (place.lon is None):
            problems.append((["geo", "places", index], "give both lat and lon, or neither (an alias)"))
    for index, code in enumerate(config.open311.services):
        if code not in seen:
            problems.append((["open311", "services", index], f"{code!r} is not one of the categories' codes"))
        elif any(rule.life_safety and rule.category == code for rule in config.triage.rules):
            problems.append((["open311", "services", index], f"{code!r} is 911's: an app must not file it"))
    for index, entry in enumerate(config.referrals.allow_private):
        if not (_is_network(entry) or _HOST.fullmatch(entry)):
            problems.append(
                (["referrals", "allow_private", index], f"{entry!r} is neither a network nor a host name")
            )
    if config.intake.default_category not in seen:
        problems.append(
            (
                ["intake", "default_category"],
                f"{config.intake.default_category!r} is not one of the categories' codes",
            )
        )
    return problems


_HOST = re.compile(
    r"(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?", re.I
)


def _is_network(entry: str) -> bool:
    try:
        ipaddress.ip_network(entry, strict=False)
    except ValueError:
        return False
    return True


def _reject_duplicate_keys(node: yaml.Node, path: KeyPath, source: str) -> None:
    # PyYAML keeps the last of two equal keys silently; in a config that hides a mistake.
    if isinstance(node, yaml.MappingNode):
        seen: set[Any] = set()
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):  # `? [a, b]`: its value is a list, unhashable
                raise ConfigError(
                    source, key_node.start_mark.line + 1, path, "a key must be a name, not a list or mapping"
                )
            if key_node.value in seen:
                raise ConfigError(
                    source,
                    key_node.start_mark.line + 1,
                    [*path, key_node.value],
                    "key appears twice in the same mapping",
                )
            seen.add(key_node.value)
            _reject_duplicate_keys(value_node, [*path, key_node.value], source)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _reject_duplicate_keys(item, [*path, index], source)


def _line_of(root: yaml.Node, path: KeyPath) -> int:
    """The 1-based line of the deepest node of `path` that exists in the document."""
    node, line = root, root.start_mark.line + 1
    for step in path:
        child: yaml.Node | None = None
        if isinstance(node, yaml.MappingNode):
            for key_node, value_node in node.value:
                if key_node.value == step:
                    child, line = value_node, key_node.start_mark.line + 1
                    break
        elif isinstance(node, yaml.SequenceNode) and isinstance(step, int) and 0 <= step < len(node.value):
            child = node.value[step]
            line = child.start_mark.line + 1
        if child is None:
            break
        node = child
    return line
