"""Recommendations in the report's language, from the figures the KPI rules attach to them.

The KPI functions write English; a Polish report says the same advice in Polish, with the
numbers formatted the Polish way. Advice without words here keeps the English text.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from itsm.domain.kpis import Recommendation
from itsm.reporting.formatting import Formatter
from itsm.reporting.labels import value_name
from itsm.reporting.model import Language

Facts = Mapping[str, str | int | float]
Words = Callable[[Facts, Formatter, Callable[[str], str]], tuple[str, str]]


def _where(facts: Facts) -> str:
    return f" w lokalizacji {facts['site']}" if facts.get("site") else ""


def _times(count: object) -> str:
    number = int(str(count))
    return "raz" if number == 1 else "razy"


_POLISH: dict[str, Words] = {
    "recurring_problem": lambda f, fmt, name: (
        f"Powtarzający się problem: {f['subject']}",
        f"{f['count']} zgłoszeń w kategorii „{name(str(f['category']))}” dotyczyło tego samego "
        "problemu. Proponujemy otworzyć rekord problemu, usunąć przyczynę źródłową (zarządzanie "
        "problemami) i opisać rozwiązanie w bazie wiedzy.",
    ),
    "recurring_alert": lambda f, fmt, name: (
        f"Powtarzający się alert: {f['alert']}{_where(f)}",
        f"Monitoring zgłosił {f['alert']}{_where(f)} {f['count']} {_times(f['count'])}. "
        "Proponujemy zbadać przyczynę, aby alert przestał się powtarzać.",
    ),
    "recurring_disk_alert": lambda f, fmt, name: (
        f"Powtarzający się alert: {f['alert']}{_where(f)}",
        f"Monitoring zgłosił {f['alert']}{_where(f)} {f['count']} {_times(f['count'])}. "
        "Proponujemy powiększyć wolumen lub go uporządkować, np. poprosić użytkowników o "
        "usunięcie prywatnych plików z dysku sieciowego, zanim znów się zapełni.",
    ),
    "training": lambda f, fmt, name: (
        f"Szkolenie dla: {f['person']}",
        f"{f['person']} {f['count']} {_times(f['count'])} prosił(a) o pomoc w sprawie pytań lub "
        "dostępu do kont. Krótkie szkolenie (lub instrukcja samoobsługowa) zaoszczędzi czas.",
    ),
    "reaction_sla_risk": lambda f, fmt, name: (
        "Zagrożone SLA czasu reakcji",
        f"{f['breached']} z {f['measured']} zgłoszeń przekroczyło czas reakcji (dotrzymano "
        f"{fmt.percent(float(f['rate']))}, cel {fmt.percent(float(f['goal']))}). Proponujemy "
        "przejrzeć obsadę kolejki i sposób eskalacji tych zgłoszeń.",
    ),
    "resolution_sla_risk": lambda f, fmt, name: (
        "Zagrożone SLA czasu rozwiązania",
        f"{f['breached']} z {f['measured']} zgłoszeń przekroczyło czas rozwiązania (dotrzymano "
        f"{fmt.percent(float(f['rate']))}, cel {fmt.percent(float(f['goal']))}). Proponujemy "
        "przejrzeć obsadę kolejki i sposób eskalacji tych zgłoszeń.",
    ),
    "fcr_below_goal": lambda f, fmt, name: (
        "Rozwiązania przy pierwszym kontakcie poniżej celu",
        f"{fmt.percent(float(f['rate']))} rozwiązanych zgłoszeń rozwiązano przy pierwszym "
        f"kontakcie (cel {fmt.percent(float(f['goal']))}); {f['beyond']} wymagało kolejnej "
        "linii, dostawcy, wizyty serwisanta lub ponownego otwarcia. Opisanie ich rozwiązań w "
        "bazie wiedzy pozwoli 1. linii rozwiązać je następnym razem.",
    ),
    "package_expiring": lambda f, fmt, name: (
        f"Niewykorzystane godziny ({name(str(f['service']))}) wkrótce wygasną",
        f"{fmt.hours_with_unit(float(f['hours_left']))} z pakietu {f['package_hours']} h "
        f"nr {f['package_id']} wygasa w ciągu {f['days']} dni po okresie. Proponujemy "
        "zaplanować na nie prace (np. konserwację lub aktualizacje), zanim przepadną.",
    ),
    "package_low": lambda f, fmt, name: (
        f"Doładowanie godzin ({name(str(f['service']))})",
        f"Pozostało {fmt.hours_with_unit(float(f['hours_left']))} z "
        f"{fmt.hours_with_unit(float(f['hours_bought']))} kupionych (poniżej "
        f"{fmt.percent(float(f['share']))}). Proponujemy kupić nowy pakiet, zanim się skończą; "
        "praca ponad pakiety jest rozliczana według stawki godzinowej z cennika.",
    ),
}


def advice_text(item: Recommendation, language: Language, fmt: Formatter) -> tuple[str, str]:
    """(title, detail) of one recommendation in ``language``."""
    words = _POLISH.get(item.code) if language == "pl" else None
    if words is None:
        return item.title, item.detail
    try:
        return words(item.facts, fmt, lambda code: value_name(language, code))
    except (KeyError, ValueError):  # facts of an older rule: the English text still says it
        return item.title, item.detail
