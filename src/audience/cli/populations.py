"""The population line each step prints: how many it counted, who they are, and how that
differs from the persons after cleaning (the number a user compares every other one with)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from audience.cli.figures import count
from audience.cli.terminal import console, print_warnings

if TYPE_CHECKING:
    from audience.quality.clean import CleanReport
    from audience.store.population import Population

SEGMENTED = (
    "persons with features: every person after cleaning, and any id known only from orders "
    "or events"
)


def print_cleaned(report: CleanReport) -> None:
    """``1,905 persons after cleaning (2,000 customer records, 95 merged into others, ...)``."""
    quarantined = sum(s.quarantined for s in report.sources.values())
    merged = sum(s.merged for s in report.sources.values())
    console.print(
        f"[bold]{count(report.profiles)}[/] persons after cleaning "
        f"({count(report.records)} customer records resolved into people: "
        f"{count(merged)} merged into another record's person, "
        f"{count(quarantined)} quarantined)",
        highlight=False,
    )


def print_population(what: str, definition: str, population: Population) -> None:
    """``<n> <what> (<definition>)``, then each way it differs from the persons after
    cleaning; customer records that are not persons any more are a warning: those persons
    are counted twice."""
    console.print(f"[bold]{count(population.counted)}[/] {what} ({definition})", highlight=False)
    differences = []
    if population.others:
        differences.append(
            f"+{count(population.others)} known only from their orders or events "
            "(no customer file names them)"
        )
    if population.persons_left_out:
        differences.append(
            f"−{count(population.persons_left_out)} persons after cleaning not counted here"
        )
    if differences:
        console.print(
            f"  vs {count(population.persons)} persons after cleaning: " + "; ".join(differences),
            highlight=False,
        )
    if population.merged_records:
        print_warnings(
            [
                f"{count(population.merged_records)} of the {count(population.counted)} {what} "
                "are customer records that cleaning merged into another person: those persons "
                "are counted twice"
            ]
        )
