"""Turn the config folder (SLA table, hour packages, demo seed) into validated domain objects.

Each TOML file has a pydantic model; any problem becomes one `ConfigError` naming the file and
the field path (e.g. ``demo.toml: clients[0].people[2].email: ...``).
"""

from __future__ import annotations

import re
import tomllib
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Literal, Self, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    RootModel,
    ValidationError,
    field_validator,
    model_validator,
)

from itsm.domain.calendar import BusinessCalendar
from itsm.domain.errors import ConfigError
from itsm.domain.packages import PackageOffer
from itsm.domain.people import CLIENT_ROLES, PROVIDER_ROLES, Role
from itsm.domain.sla import EscalationPolicy, ServiceType, SlaPolicy, SlaTarget, SlaTier
from itsm.domain.sla_clock import ClockRules
from itsm.domain.tickets import TicketStatus

SLA_TIERS_FILE = "sla_tiers.toml"
SLA_CLOCK_FILE = "sla_clock.toml"
HOUR_PACKAGES_FILE = "hour_packages.toml"
DEMO_FILE = "demo.toml"

Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
_WEEKDAYS: tuple[Weekday, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def _must_match(pattern: str, meaning: str) -> AfterValidator:
    """A validator whose error says what was expected, not which regex failed."""

    def check(value: str) -> str:
        if re.fullmatch(pattern, value) is None:
            raise ValueError(f"must be {meaning}, got {value!r}")
        return value

    return AfterValidator(check)


_DOMAIN = r"[a-z0-9-]+(\.[a-z0-9-]+)*\.example"
Username = Annotated[
    str, _must_match(r"[a-z][a-z0-9-]*(\.[a-z][a-z0-9-]*)+", 'an ASCII login like "jan.nowak"')
]
# Only reserved .example domains, so demo data can never reach a real mailbox.
ExampleDomain = Annotated[str, _must_match(_DOMAIN, 'a domain ending in ".example"')]
ExampleEmail = Annotated[
    str, _must_match(r"[a-z0-9._-]+@" + _DOMAIN, 'an e-mail address in a ".example" domain')
]
PolishPhone = Annotated[
    str, _must_match(r"\+48( ?\d){9}", 'a Polish number like "+48 600 100 200"')
]
ClientCode = Annotated[str, _must_match(r"[A-Z]{2,8}", 'a short uppercase code like "ACME"')]


class _ConfigModel(BaseModel):
    # extra="forbid" so that a misspelt key is reported instead of silently ignored.
    model_config = ConfigDict(frozen=True, extra="forbid")


# --- sla_tiers.toml ---------------------------------------------------------------------------


class SlaTargetConfig(_ConfigModel):
    reaction_hours: int = Field(gt=0, description="Business hours until the first reaction.")
    resolution_hours: int | None = Field(
        default=None, gt=0, description="Business hours until resolution; omit for no target."
    )

    @model_validator(mode="after")
    def _is_valid_target(self) -> Self:
        self.to_target()
        return self

    def to_target(self) -> SlaTarget:
        return SlaTarget(self.reaction_hours, self.resolution_hours)


class SlaTiersConfig(RootModel[dict[SlaTier, dict[ServiceType, SlaTargetConfig]]]):
    root: dict[SlaTier, dict[ServiceType, SlaTargetConfig]] = Field(
        description="SLA targets by tier, then by service type; every cell must be present."
    )

    @model_validator(mode="after")
    def _is_complete(self) -> Self:
        self.to_policy()
        return self

    def to_policy(self) -> SlaPolicy:
        return SlaPolicy(
            {
                (tier, service_type): target.to_target()
                for tier, by_service in self.root.items()
                for service_type, target in by_service.items()
            }
        )


# --- sla_clock.toml ---------------------------------------------------------------------------


class EscalationConfig(_ConfigModel):
    raise_priority_on_breach: bool = Field(
        default=True, description="Make a breached ticket one priority step more urgent."
    )
    warn_lead: bool = Field(
        default=False, description="Copy the warnings to the service desk lead too."
    )


class SlaClockConfig(_ConfigModel):
    warning_percent: int = Field(
        default=75, gt=0, lt=100, description="Share of a target after which to warn."
    )
    paused_statuses: tuple[TicketStatus, ...] = Field(
        default=(TicketStatus.AWAITING_APPROVAL,),
        description="Statuses that wait on the client and stop the clock.",
    )
    pause_while_with_vendor: bool = Field(
        default=False, description="Also stop the clock while an external vendor works on it."
    )
    escalation: EscalationConfig = Field(default_factory=EscalationConfig)

    @field_validator("paused_statuses")
    @classmethod
    def _can_pause(cls, statuses: tuple[TicketStatus, ...]) -> tuple[TicketStatus, ...]:
        cannot = {TicketStatus.NEW, TicketStatus.RESOLVED, TicketStatus.CLOSED}
        wrong = sorted(status.value for status in statuses if status in cannot)
        if wrong:
            raise ValueError(f"these statuses cannot pause the clock: {', '.join(wrong)}")
        return statuses

    def rules(self) -> ClockRules:
        paused = set(self.paused_statuses)
        if self.pause_while_with_vendor:
            paused.add(TicketStatus.WITH_VENDOR)
        return ClockRules(frozenset(paused), self.warning_percent / 100)

    def escalation_policy(self) -> EscalationPolicy:
        return EscalationPolicy(
            raise_priority_on_breach=self.escalation.raise_priority_on_breach,
            warn_lead=self.escalation.warn_lead,
        )


# --- hour_packages.toml -----------------------------------------------------------------------


class PackageSizeConfig(_ConfigModel):
    hours: int = Field(gt=0, description="Prepaid hours in the package.")
    discount_percent: Decimal = Field(
        ge=0, lt=100, description="Discount on the hourly rate, in percent."
    )


class HourPackagesConfig(_ConfigModel):
    validity_months: int = Field(gt=0, description="Calendar months a bought package can be used.")
    hourly_rates_pln: dict[ServiceType, Annotated[Decimal, Field(gt=0)]] = Field(
        description="Net hourly rate in PLN for every service type."
    )
    sizes: tuple[PackageSizeConfig, ...] = Field(
        min_length=1, description="Package sizes on offer, each with its discount."
    )

    @field_validator("hourly_rates_pln")
    @classmethod
    def _every_service_has_a_rate(
        cls, rates: dict[ServiceType, Decimal]
    ) -> dict[ServiceType, Decimal]:
        missing = [service.value for service in ServiceType if service not in rates]
        if missing:
            raise ValueError(f"missing rates for {', '.join(missing)}")
        return rates

    @field_validator("sizes")
    @classmethod
    def _sizes_are_unique(
        cls, sizes: tuple[PackageSizeConfig, ...]
    ) -> tuple[PackageSizeConfig, ...]:
        repeated = _repeated(size.hours for size in sizes)
        if repeated:
            raise ValueError(f"package sizes listed twice: {repeated}")
        return sizes

    def to_offer(self) -> PackageOffer:
        return PackageOffer(
            hourly_rates=self.hourly_rates_pln,
            size_discounts={size.hours: size.discount_percent for size in self.sizes},
            validity_months=self.validity_months,
        )


# --- demo.toml --------------------------------------------------------------------------------


class DemoPerson(_ConfigModel):
    username: Username = Field(description='Login, e.g. "jan.nowak" (ASCII).')
    full_name: str = Field(min_length=1, description="Name as shown to others.")
    email: ExampleEmail = Field(description="E-mail address in a .example domain.")
    phone: PolishPhone = Field(description='Polish number, e.g. "+48 600 100 200".')
    role: Role = Field(description="What the person does in the helpdesk.")


class DemoStaffMember(DemoPerson):
    @field_validator("role")
    @classmethod
    def _is_provider_role(cls, role: Role) -> Role:
        if role not in PROVIDER_ROLES:
            raise ValueError(f"{role.value} is a client role, not a provider one")
        return role


class DemoClientPerson(DemoPerson):
    authorised: bool = Field(
        default=False,
        description="An authorised person: may order changes (permissions, hardware, software).",
    )

    @field_validator("role")
    @classmethod
    def _is_client_role(cls, role: Role) -> Role:
        if role not in CLIENT_ROLES:
            raise ValueError(f"{role.value} is a provider role, not a client one")
        return role


class DemoSite(_ConfigModel):
    name: str = Field(min_length=1, description="Site name, e.g. the head office.")
    address: str = Field(min_length=1, description="Street address, postcode and town.")


class DemoBusinessHours(_ConfigModel):
    timezone: str = Field(description='IANA time zone of the client, e.g. "Europe/Warsaw".')
    working_days: tuple[Weekday, ...] = Field(
        min_length=1, description='Working weekdays as "mon" .. "sun".'
    )
    day_start: time = Field(description="Local opening time on working days.")
    day_end: time = Field(description="Local closing time on working days.")
    round_the_clock: bool = Field(
        default=False, description="24/7 contract: every hour counts for the SLA."
    )
    holidays: tuple[date, ...] = Field(
        default=(), description="The client's own extra days off (beyond public holidays)."
    )
    holiday_country: str | None = Field(
        default="PL",
        description='Country whose public holidays are days off (ISO code, "PL"); none if empty.',
    )

    @field_validator("timezone")
    @classmethod
    def _is_known_zone(cls, timezone: str) -> str:
        try:
            ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError) as error:
            raise ValueError(f"unknown IANA time zone {timezone!r}") from error
        return timezone

    @model_validator(mode="after")
    def _is_valid_calendar(self) -> Self:
        self.calendar()
        return self

    def calendar(self) -> BusinessCalendar:
        return BusinessCalendar(
            timezone=self.timezone,
            working_days=frozenset(_WEEKDAYS.index(day) for day in self.working_days),
            day_start=self.day_start,
            day_end=self.day_end,
            holidays=frozenset(self.holidays),
            round_the_clock=self.round_the_clock,
            holiday_country=self.holiday_country or None,
        )


class DemoPackage(_ConfigModel):
    service_type: ServiceType = Field(description="Service type the hours can be used for.")
    hours: int = Field(gt=0, description="Package size in hours; must be an offered size.")
    purchased_days_ago: int = Field(ge=0, description="Days before seeding it was bought.")

    def purchased_at(self, now: datetime) -> datetime:
        return now - timedelta(days=self.purchased_days_ago)


class DemoClient(_ConfigModel):
    code: ClientCode = Field(description='Short uppercase code, e.g. "ACME".')
    name: str = Field(min_length=1, description="Registered company name.")
    tier: SlaTier = Field(description="SLA tier of the contract.")
    default_service_type: ServiceType = Field(description="Service type of a new ticket.")
    language: Literal["pl", "en"] = Field(description="Language of messages and reports.")
    email_domain: ExampleDomain = Field(description="Domain of people's e-mails.")
    business_hours: DemoBusinessHours = Field(description="When the SLA clock runs.")
    sites: tuple[DemoSite, ...] = Field(min_length=1, description="Places a technician may visit.")
    people: tuple[DemoClientPerson, ...] = Field(
        min_length=1, description="The IT coordinator, authorised persons and requesters."
    )
    packages: tuple[DemoPackage, ...] = Field(default=(), description="Bought hour packages.")

    @model_validator(mode="after")
    def _has_one_coordinator(self) -> Self:
        coordinators = [p.username for p in self.people if p.role is Role.COORDINATOR]
        if len(coordinators) != 1:
            raise ValueError(f"needs exactly one coordinator, found {coordinators or 'none'}")
        return self

    @model_validator(mode="after")
    def _emails_in_own_domain(self) -> Self:
        _check_email_domain(self.people, self.email_domain)
        return self

    @property
    def coordinator(self) -> DemoClientPerson:
        return next(person for person in self.people if person.role is Role.COORDINATOR)


class DemoProvider(_ConfigModel):
    name: str = Field(min_length=1, description="The outsourcing company running the helpdesk.")
    email_domain: ExampleDomain = Field(description="Domain of staff e-mails.")
    phone: PolishPhone = Field(description="Service desk phone number.")
    address: str = Field(min_length=1, description="Office address.")
    staff: tuple[DemoStaffMember, ...] = Field(min_length=1, description="Provider employees.")

    @model_validator(mode="after")
    def _emails_in_own_domain(self) -> Self:
        _check_email_domain(self.staff, self.email_domain)
        return self


class DemoSeed(_ConfigModel):
    provider: DemoProvider = Field(description="The provider and its staff.")
    clients: tuple[DemoClient, ...] = Field(min_length=1, description="Client companies.")

    @model_validator(mode="after")
    def _identities_are_unique(self) -> Self:
        people = [*self.provider.staff, *(p for client in self.clients for p in client.people)]
        for label, values in (
            ("usernames", [person.username for person in people]),
            ("e-mails", [person.email for person in people]),
            ("client codes", [client.code for client in self.clients]),
        ):
            repeated = _repeated(values)
            if repeated:
                raise ValueError(f"{label} used more than once: {repeated}")
        return self


# --- loading ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Catalog:
    """Everything the config folder defines, validated and ready for the domain."""

    sla_policy: SlaPolicy
    package_offer: PackageOffer
    demo: DemoSeed
    clock_rules: ClockRules
    escalation: EscalationPolicy


def load_catalog(config_dir: Path) -> Catalog:
    """Read and validate the config folder; raise ConfigError naming the file and field."""
    sla_tiers = _load(config_dir / SLA_TIERS_FILE, SlaTiersConfig)
    sla_clock = _load(config_dir / SLA_CLOCK_FILE, SlaClockConfig)
    hour_packages = _load(config_dir / HOUR_PACKAGES_FILE, HourPackagesConfig)
    demo = _load(config_dir / DEMO_FILE, DemoSeed)
    offer = hour_packages.to_offer()
    _check_package_sizes(demo, offer, config_dir / DEMO_FILE)
    return Catalog(
        sla_policy=sla_tiers.to_policy(),
        package_offer=offer,
        demo=demo,
        clock_rules=sla_clock.rules(),
        escalation=sla_clock.escalation_policy(),
    )


_Model = TypeVar("_Model", bound=BaseModel)


def _load(path: Path, model: type[_Model]) -> _Model:
    try:
        with path.open("rb") as file:
            raw = tomllib.load(file)
    except OSError as error:
        raise ConfigError(f"{path}: cannot read: {error.strerror or error}") from error
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{path}: invalid TOML: {error}") from error
    try:
        return model.model_validate(raw)
    except ValidationError as error:
        problems = "; ".join(
            f"{_field_path(detail['loc'])}: {detail['msg']}" for detail in error.errors()
        )
        raise ConfigError(f"{path}: {problems}") from error


def _check_package_sizes(demo: DemoSeed, offer: PackageOffer, path: Path) -> None:
    # Cross-file rule, so it cannot live in the demo model itself.
    for client_index, client in enumerate(demo.clients):
        for package_index, package in enumerate(client.packages):
            if package.hours not in offer.size_discounts:
                field = f"clients[{client_index}].packages[{package_index}].hours"
                offered = ", ".join(str(size) for size in offer.sizes)
                raise ConfigError(
                    f"{path}: {field}: {package.hours} h is not an offered size ({offered})"
                )


def _check_email_domain(people: Iterable[DemoPerson], domain: str) -> None:
    strangers = [person.username for person in people if not person.email.endswith("@" + domain)]
    if strangers:
        raise ValueError(f"e-mail outside {domain}: {', '.join(strangers)}")


def _repeated(values: Iterable[object]) -> list[object]:
    return [value for value, count in Counter(values).items() if count > 1]


def _field_path(loc: tuple[int | str, ...]) -> str:
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        elif part == "[key]":
            # pydantic's marker for a bad mapping key, e.g. a misspelt service type.
            path += " (key)"
        else:
            path += f".{part}" if path else part
    return path or "(top level)"
