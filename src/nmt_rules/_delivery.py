"""How one map's plan items are delivered: the setting's catalogue items that suit the
person, else the need's own protocol; the interests they build on; what release day needs."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from ._lookups import NeedInfo
from .catalogue import CatalogueIndex
from .model import BrainMap, Delivery
from .vocabulary import ADULT_AGE


class Delivering:
    """How one map's items are delivered: the setting's catalogue items for the person's
    age (developmental age for activities, where it lags), placement and conditions, else
    the need's own protocol; what the person's interests add; what release day requires."""

    def __init__(
        self, brain_map: BrainMap, setting: str | None, catalogues: CatalogueIndex | None
    ) -> None:
        self._age = brain_map.subject.age_years
        self.adult = self._age >= ADULT_AGE
        self._setting = setting
        self._catalogues = catalogues if setting is not None else None
        self._placement = brain_map.placement
        self._conditions = frozenset(brain_map.conditions)
        self._development = brain_map.developmental_age_years
        self._interests = brain_map.interests
        release = brain_map.release_on
        self._release = release if release is not None and release > brain_map.assessed_on else None

    def deliver(self, need: NeedInfo) -> tuple[tuple[Delivery, ...], str | None, float | None]:
        """(deliveries, why there are none, the developmental age matched if not the age)."""
        age = self._age
        matched_age = None
        if not need.is_safety and self._development is not None and need.domain is not None:
            developmental = self._development.for_domain(need.domain)
            if developmental is not None and developmental < age:
                matched_age = developmental
        delivery: tuple[Delivery, ...] = ()
        if self._catalogues is not None:
            delivery = self._catalogues.resolve(
                self._setting,  # type: ignore[arg-type]
                need.id,
                age if matched_age is None else matched_age,
                self._placement,
                self._conditions,
            )
        if not delivery:
            delivery = need.protocol_for(age)
        note = None
        if not delivery and self._setting is not None:
            which = "age" if matched_age is None else "developmental age"
            shown = int(age if matched_age is None else matched_age)
            note = f"the {self._setting} setting has no item for this need at {which} {shown}"
        return delivery, note, matched_age

    def build_on(self, delivery: Sequence[Delivery]) -> tuple[str, ...]:
        """The person's interests that fit the delivery's activities."""
        if not self._interests or self._catalogues is None:
            return ()
        stems = {stem for d in delivery for stem in self._catalogues.builds_on(d.id)}
        return tuple(
            interest
            for interest in self._interests
            if any(stem in interest.lower() for stem in stems)
        )

    def in_place_by(self, delivery: Sequence[Delivery]) -> dt.date | None:
        """The release date, for an item whose delivery must be in place by then."""
        if self._release is None or not any(d.release == "before" for d in delivery):
            return None
        return self._release
