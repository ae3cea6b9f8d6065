"""What loading did: how many things of each kind were created, updated or left alone."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Tally:
    new: int = 0
    updated: int = 0
    unchanged: int = 0

    @property
    def total(self) -> int:
        return self.new + self.updated + self.unchanged

    def describe(self, noun: str, nouns: str) -> str:
        name = noun if self.total == 1 else nouns
        return f"{self.total} {name} ({self.new} new, {self.updated} updated)"


@dataclass
class LoadSummary:
    """How many backends, branches, services, counters and kiosks of the file were created or
    updated."""

    source: str
    backends: Tally = field(default_factory=Tally)
    branches: Tally = field(default_factory=Tally)
    services: Tally = field(default_factory=Tally)
    counters: Tally = field(default_factory=Tally)
    kiosks: Tally = field(default_factory=Tally)

    @property
    def changed(self) -> bool:
        return any(t.new or t.updated for t in self._tallies())

    def _tallies(self) -> tuple[Tally, ...]:
        return (self.backends, self.branches, self.services, self.counters, self.kiosks)

    def describe(self) -> str:
        head = f"loaded {self.source}" + ("" if self.changed else ": nothing changed")
        counts = ", ".join(
            [
                self.backends.describe("backend", "backends"),
                self.branches.describe("branch", "branches"),
                self.services.describe("service", "services"),
                self.counters.describe("counter", "counters"),
                self.kiosks.describe("kiosk", "kiosks"),
            ]
        )
        return f"{head}\n  {counts}"
