"""Setting catalogues: how a setting delivers each need, validated like rulesets."""

from __future__ import annotations

import difflib
import functools
import hashlib
from collections import defaultdict
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Final

import attrs

from ._yaml import (
    ID_PATTERN,
    Keys,
    Located,
    Reporter,
    check_mapping,
    describe,
    load_located,
    parse_clean,
    read_source,
    require_choice,
    require_choices,
    require_list,
    require_string,
)
from .errors import CatalogueError, Diagnostic, Location
from .model import Delivery, Dose, Plain
from .vocabulary import MODALITIES, PLACEMENTS, ROLES

CATALOGUE_KEYS: Final = Keys(
    ("catalogue", "version", "setting", "items"), ("description", "vocabulary")
)
#: Roles and modalities a catalogue uses beyond the shared ones (MODALITIES, ROLES).
VOCABULARY_KEYS: Final = Keys((), ("roles", "modalities"))
ITEM_KEYS: Final = Keys(
    ("id", "meets", "title", "description", "modality", "delivered_by", "audience", "ages"),
    (
        "dose",
        "contraindications",
        "reference",
        "placements",
        "conditions",
        "release",
        "builds_on",
        "plain",
    ),
)
RELEASE_TIMINGS: Final = ("before", "after")
#: Interests an item of each modality can build on, as lower-case word stems an interest
#: is searched for ("drumming" contains "drum"). An item's `builds_on` replaces them.
MODALITY_INTERESTS: Final[dict[str, tuple[str, ...]]] = {
    "music": ("music", "drum", "sing", "song", "guitar", "piano", "rap", "band", "choir", "dj"),
    "movement": (
        "sport",
        "football",
        "soccer",
        "basketball",
        "run",
        "danc",
        "swim",
        "walk",
        "bike",
        "cycl",
        "skat",
        "gym",
        "yoga",
        "box",
        "martial",
        "climb",
        "hik",
        "trampolin",
        "horse",
        "cricket",
        "rugby",
        "tennis",
        "hockey",
        "baseball",
        "wrestl",
        "fitness",
    ),
    "art": (
        "art",
        "draw",
        "paint",
        "craft",
        "photo",
        "film",
        "design",
        "pottery",
        "graffiti",
        "poet",
        "writ",
        "comic",
    ),
    "play": ("lego", "game", "play", "toy", "puzzle", "animal", "dog", "pet"),
    "practical": ("cook", "bak", "garden", "fix", "car", "wood", "mechanic", "build"),
    "mentoring": ("sport", "music", "art", "cook", "game", "faith", "church", "mosque"),
}
#: A need's own protocol (core ruleset safety needs): an item whose `meets` is that need.
PROTOCOL_KEYS: Final = Keys(
    tuple(k for k in ITEM_KEYS.required if k != "meets"), ITEM_KEYS.optional
)
AGES_KEYS: Final = Keys(("min", "max"))
DOSE_KEYS: Final = Keys(("frequency", "duration"))
#: Plain-language texts for handouts (needs, catalogue and protocol items).
PLAIN_KEYS: Final = Keys(("title", "do"))


@attrs.frozen
class RolesAndModalities:
    """The roles and modalities a catalogue's items may use: the shared ones and those the
    catalogue declares (an agency with speech therapists does not fork nmt-rules)."""

    roles: tuple[str, ...] = ROLES
    modalities: tuple[str, ...] = MODALITIES


@attrs.frozen
class CatalogueItem:
    """One way a setting meets one or more needs, for an age range."""

    id: str
    meets: tuple[str, ...]
    title: str
    description: str
    modality: str
    delivered_by: tuple[str, ...]
    audience: tuple[str, ...]
    min_age: int
    max_age: int
    dose: Dose | None
    contraindications: tuple[str, ...]
    reference: str | None
    location: Location
    #: Placements the item suits (empty: any); conditions it is for (empty: anyone).
    placements: tuple[str, ...] = ()
    conditions: tuple[str, ...] = ()
    #: Reentry: in place by the day of release ("before") or started after it ("after").
    release: str | None = None
    #: Interest word stems the item can build on (defaults from its modality).
    builds_on: tuple[str, ...] = ()
    plain: Plain | None = None

    def suits(self, age: int, placement: str | None, conditions: frozenset[str]) -> bool:
        """Whether the item fits a person of this age, placement and conditions."""
        return (
            self.min_age <= age <= self.max_age
            and (not self.placements or placement is None or placement in self.placements)
            and (not self.conditions or not conditions.isdisjoint(self.conditions))
        )

    def delivery(self, catalogue: str) -> Delivery:
        """This item as it appears in a plan."""
        return Delivery(
            id=self.id,
            catalogue=catalogue,
            title=self.title,
            description=self.description,
            modality=self.modality,
            delivered_by=self.delivered_by,
            audience=self.audience,
            dose=self.dose,
            contraindications=self.contraindications,
            reference=self.reference,
            release=self.release,
            conditions=self.conditions,
            plain=self.plain,
        )


@attrs.frozen
class Catalogue:
    """A validated catalogue of one setting."""

    name: str
    version: str
    setting: str
    description: str
    items: tuple[CatalogueItem, ...]
    source: str
    sha256: str
    plugin: str = "?"


def load_catalogue(path: str | Path, plugin: str = "?") -> Catalogue:
    """Read and validate a catalogue file; raise CatalogueError listing every problem."""
    return parse_catalogue(read_source(path, CatalogueError), str(path), plugin)


def parse_catalogue(text: str, file: str, plugin: str = "?") -> Catalogue:
    """Validate catalogue text; raise CatalogueError unless it is clean (warnings allowed)."""
    return parse_clean(text, file, functools.partial(read_catalogue, plugin=plugin), CatalogueError)


def read_catalogue(text: str, reporter: Reporter, plugin: str = "?") -> Catalogue | None:
    """Validate catalogue text, recording every diagnostic; None when it cannot be built."""
    root = load_located(text, reporter)
    if root is None:
        return None
    top = check_mapping(
        root,
        reporter,
        "the catalogue",
        *CATALOGUE_KEYS,
    )
    if top is None:
        return None
    name = require_string(top.get("catalogue"), reporter, "catalogue")
    version = require_string(top.get("version"), reporter, "version (quote numbers: '1.0')")
    setting = require_string(top.get("setting"), reporter, "setting")
    for value, node in ((name, top.get("catalogue")), (setting, top.get("setting"))):
        if value is not None and node is not None and not ID_PATTERN.match(value):
            reporter.error(node, f"{value!r} must be lower-case words joined by '-'")
    description = (
        require_string(top.get("description"), reporter, "description")
        if "description" in top
        else ""
    )
    declared = _read_vocabulary(top.get("vocabulary"), reporter)
    vocabulary = RolesAndModalities(
        (*ROLES, *declared.get("roles", {})), (*MODALITIES, *declared.get("modalities", {}))
    )
    items: list[CatalogueItem] = []
    seen: dict[str, Location] = {}
    for node in require_list(top.get("items"), reporter, "items") or ():
        item = read_item(node, reporter, vocabulary=vocabulary)
        if item is None:
            continue
        if item.id in seen:
            reporter.error(
                node.value["id"],
                f"duplicate item id {item.id!r} (first defined at {seen[item.id]})",
            )
            continue
        seen[item.id] = item.location
        items.append(item)
    if not reporter.has_errors:  # an item with an error may be the one that uses a word
        _unused_vocabulary(declared, items, reporter)
    if name is None or version is None or setting is None:
        return None
    return Catalogue(
        name=name,
        version=version,
        setting=setting,
        description=description or "",
        items=tuple(items),
        source=reporter.file,
        sha256=hashlib.sha256(text.encode("utf-8")).hexdigest(),
        plugin=plugin,
    )


def _read_vocabulary(node: Located | None, reporter: Reporter) -> dict[str, dict[str, Located]]:
    """The roles and modalities a catalogue declares, each with where it was declared."""
    fields = check_mapping(node, reporter, "vocabulary", *VOCABULARY_KEYS) if node else None
    out: dict[str, dict[str, Located]] = {}
    shared = {"roles": ROLES, "modalities": MODALITIES}
    for key, value in (fields or {}).items():
        if key not in shared:
            continue
        out[key] = {}
        for item in require_list(value, reporter, f"vocabulary.{key}") or ():
            word = require_string(item, reporter, f"each of vocabulary.{key}")
            if word is None:
                continue
            if not ID_PATTERN.match(word):
                reporter.error(item, f"{word!r} must be lower-case words joined by '-'")
            elif word in shared[key]:
                reporter.warning(item, f"{word!r} is already one of the shared {key}")
            else:
                out[key][word] = item
    return out


def _unused_vocabulary(
    declared: Mapping[str, Mapping[str, Located]],
    items: Iterable[CatalogueItem],
    reporter: Reporter,
) -> None:
    used = {
        "roles": {r for i in items for r in (*i.delivered_by, *i.audience)},
        "modalities": {i.modality for i in items},
    }
    for key, words in declared.items():
        for word, at in words.items():
            if word not in used[key]:
                reporter.warning(
                    at, f"{word!r} is declared in vocabulary.{key} but no item uses it"
                )


def read_item(
    node: Located,
    reporter: Reporter,
    need: str | None = None,
    vocabulary: RolesAndModalities = RolesAndModalities(),
) -> CatalogueItem | None:
    """Validate one catalogue item; with `need`, a need's protocol item that meets it.

    Roles and modalities must be in the vocabulary: the shared one, or the catalogue's."""
    fields = check_mapping(
        node,
        reporter,
        "a catalogue item" if need is None else "a protocol item",
        *(ITEM_KEYS if need is None else PROTOCOL_KEYS),
    )
    if fields is None:
        return None
    before = len(reporter.diagnostics)
    item_id = require_string(fields.get("id"), reporter, "item id")
    if item_id is not None and not ID_PATTERN.match(item_id):
        reporter.error(fields["id"], f"item id {item_id!r} must be lower-case words joined by '-'")
    meets = _strings(fields.get("meets"), reporter, "meets") if need is None else (need,)
    title = require_string(fields.get("title"), reporter, "title")
    description = require_string(fields.get("description"), reporter, "description")
    modality = _word(fields.get("modality"), vocabulary.modalities, "modality", reporter)
    delivered_by = _roles(fields.get("delivered_by"), vocabulary.roles, reporter, "delivered_by")
    audience = _roles(fields.get("audience"), vocabulary.roles, reporter, "audience")
    ages = _ages(fields.get("ages"), reporter)
    dose = _dose(fields["dose"], reporter) if "dose" in fields else None
    contraindications = (
        _strings(fields["contraindications"], reporter, "contraindications")
        if "contraindications" in fields
        else ()
    )
    reference = (
        require_string(fields["reference"], reporter, "reference")
        if "reference" in fields
        else None
    )
    placements = tuple(
        require_choices(fields.get("placements"), PLACEMENTS, "placements", reporter)
    )
    conditions = tuple(_ids(fields.get("conditions"), reporter, "conditions"))
    release = require_choice(fields.get("release"), RELEASE_TIMINGS, "release", reporter)
    builds_on = (
        _strings(fields["builds_on"], reporter, "builds_on") if "builds_on" in fields else ()
    )
    plain = read_plain(fields["plain"], reporter) if "plain" in fields else None
    if any(d.level == "error" for d in reporter.diagnostics[before:]) or None in (
        item_id,
        meets,
        title,
        description,
        modality,
        delivered_by,
        audience,
        ages,
        contraindications,
    ):
        return None
    assert (
        item_id
        and meets
        and title
        and description
        and modality
        and delivered_by
        and audience
        and ages
    )
    if any(text.lstrip().upper().startswith("TODO") for text in (title, description)):
        reporter.warning(node, f"item {item_id!r} still says TODO: write how your staff do it")
    return CatalogueItem(
        id=item_id,
        meets=meets,
        title=title.strip(),
        description=description.strip(),
        modality=modality,
        delivered_by=delivered_by,
        audience=audience,
        min_age=ages[0],
        max_age=ages[1],
        dose=dose,
        contraindications=contraindications or (),
        reference=reference,
        location=Location(reporter.file, node.line, node.col),
        placements=placements,
        conditions=conditions,
        release=release,
        builds_on=tuple(b.lower() for b in builds_on or ()) or MODALITY_INTERESTS.get(modality, ()),
        plain=plain,
    )


def _ids(node: Located | None, reporter: Reporter, what: str) -> list[str]:
    out = []
    for item in (require_list(node, reporter, what) or []) if node is not None else []:
        value = require_string(item, reporter, f"each of {what}")
        if value is not None and not ID_PATTERN.match(value):
            reporter.error(item, f"{value!r} must be lower-case words joined by '-'")
        elif value is not None:
            out.append(value)
    return out


def _strings(node: Located | None, reporter: Reporter, what: str) -> tuple[str, ...] | None:
    items = require_list(node, reporter, what)
    if items is None:
        return None
    values = [require_string(i, reporter, f"each of {what}") for i in items]
    return None if None in values else tuple(v for v in values if v is not None)


def _roles(
    node: Located | None, roles: tuple[str, ...], reporter: Reporter, what: str
) -> tuple[str, ...] | None:
    items = require_list(node, reporter, what)
    if items is None:
        return None
    found = [_word(i, roles, what, reporter) for i in items]
    return None if None in found else tuple(r for r in found if r is not None)


def _word(
    node: Located | None, known: tuple[str, ...], what: str, reporter: Reporter
) -> str | None:
    """A role or modality of the vocabulary; an unknown one is an error with the closest
    known word and how to declare a new one."""
    if node is None:
        return None
    value = node.value
    if isinstance(value, str) and value in known:
        return value
    kind = "modality" if what == "modality" else "role"
    section = "modalities" if kind == "modality" else "roles"
    hint = difflib.get_close_matches(str(value), known, n=1)
    suggestion = f"did you mean {hint[0]!r}? " if hint else ""
    reporter.error(
        node,
        f"unknown {kind} {describe(value)} in {what}; {suggestion}"
        f"a {kind} of your own is declared under `vocabulary: {section}:`",
    )
    return None


def _ages(node: Located | None, reporter: Reporter) -> tuple[int, int] | None:
    if node is None:
        return None
    fields = check_mapping(node, reporter, "ages", *AGES_KEYS)
    if not fields or "min" not in fields or "max" not in fields:
        return None
    low, high = fields["min"].value, fields["max"].value
    for part in (fields["min"], fields["max"]):
        if (
            not isinstance(part.value, int)
            or isinstance(part.value, bool)
            or not 0 <= part.value <= 120
        ):
            reporter.error(part, f"ages are whole years 0-120, got {describe(part.value)}")
            return None
    if low > high:
        reporter.error(node, f"ages: min {low} is above max {high}")
        return None
    return low, high


def _dose(node: Located, reporter: Reporter) -> Dose | None:
    fields = check_mapping(node, reporter, "dose", *DOSE_KEYS)
    if not fields:
        return None
    frequency = require_string(fields.get("frequency"), reporter, "frequency")
    duration = require_string(fields.get("duration"), reporter, "duration")
    return Dose(frequency, duration) if frequency and duration else None


def read_plain(node: Located, reporter: Reporter) -> Plain | None:
    """Validate a `plain` block: a plain-language title and what to do."""
    fields = check_mapping(node, reporter, "plain", *PLAIN_KEYS)
    if not fields:
        return None
    title = require_string(fields.get("title"), reporter, "plain title")
    do = require_string(fields.get("do"), reporter, "plain do")
    return Plain(" ".join(title.split()), " ".join(do.split())) if title and do else None


def missing_plain(what: str, location: Location) -> Diagnostic:
    """The warning for a need or item without plain texts (handouts fall back to its
    clinical title and description)."""
    return Diagnostic(
        location.file,
        location.line,
        location.col,
        "warning",
        f"{what} has no `plain` texts: handouts for caregivers, teachers and the person "
        "will show its clinical title and description",
    )


def catalogue_diagnostics(catalogue: Catalogue) -> list[Diagnostic]:
    """Warnings about a loaded catalogue: items without plain texts."""
    return [
        missing_plain(f"item {item.id!r}", item.location)
        for item in catalogue.items
        if item.plain is None
    ]


#: Most resolutions kept (settings x needs x ages stays far below it for real catalogues).
_RESOLVED_LIMIT: Final = 100_000
_Key = tuple[str, str, int, str | None, frozenset[str]]


@attrs.frozen
class CatalogueIndex:
    """Every loaded catalogue, indexed by setting and need for fast resolution."""

    catalogues: tuple[Catalogue, ...]
    #: Every setting some catalogue serves, sorted (checked on every plan, so worked out once).
    settings: tuple[str, ...] = attrs.field(init=False)
    _by_need: Mapping[tuple[str, str], tuple[tuple[CatalogueItem, str], ...]] = attrs.field(
        init=False, repr=False, eq=False
    )
    #: Resolutions already worked out, by (setting, need, whole years, placement,
    #: conditions): a plan reuses them.
    _resolved: dict[_Key, tuple[Delivery, ...]] = attrs.field(init=False, repr=False, eq=False)
    #: Interest word stems of every item, by item id.
    _builds_on: Mapping[str, tuple[str, ...]] = attrs.field(init=False, repr=False, eq=False)

    def __attrs_post_init__(self) -> None:
        index: dict[tuple[str, str], list[tuple[CatalogueItem, str]]] = defaultdict(list)
        for catalogue in self.catalogues:
            for item in catalogue.items:
                for need in item.meets:
                    index[(catalogue.setting, need)].append((item, catalogue.name))
        frozen = {
            k: tuple(sorted(v, key=lambda p: (p[0].min_age, p[0].id))) for k, v in index.items()
        }
        object.__setattr__(self, "_by_need", frozen)
        object.__setattr__(self, "_resolved", {})
        object.__setattr__(
            self,
            "_builds_on",
            {i.id: i.builds_on for c in self.catalogues for i in c.items},
        )
        object.__setattr__(self, "settings", tuple(sorted({c.setting for c in self.catalogues})))

    def resolve(
        self,
        setting: str,
        need: str,
        age_years: float,
        placement: str | None = None,
        conditions: frozenset[str] = frozenset(),
    ) -> tuple[Delivery, ...]:
        """The setting's items meeting a need that suit the age, placement and conditions;
        items adapted to one of the person's conditions come first."""
        key = (setting, need, int(age_years), placement, conditions)
        found = self._resolved.get(key)
        if found is None:
            age = key[2]
            suited = [
                (item, catalogue)
                for item, catalogue in self._by_need.get((setting, need), ())
                if item.suits(age, placement, conditions)
            ]
            suited.sort(key=lambda pair: not pair[0].conditions)  # stable: adapted items first
            found = tuple(item.delivery(catalogue) for item, catalogue in suited)
            if len(self._resolved) < _RESOLVED_LIMIT:
                self._resolved[key] = found
        return found

    def builds_on(self, item_id: str) -> tuple[str, ...]:
        """Interest word stems a catalogue item can build on."""
        return self._builds_on.get(item_id, ())

    def items_meeting_undeclared_needs(
        self, needs: Iterable[str]
    ) -> dict[str, list[CatalogueItem]]:
        """Items that meet needs outside `needs`, by need (for warnings)."""
        known = set(needs)
        out: dict[str, list[CatalogueItem]] = defaultdict(list)
        for catalogue in self.catalogues:
            for item in catalogue.items:
                for need in item.meets:
                    if need not in known:
                        out[need].append(item)
        return dict(out)


def unknown_need_diagnostics(
    index: CatalogueIndex, needs: Mapping[str, object]
) -> list[Diagnostic]:
    """Warnings for catalogue items that meet needs no loaded ruleset declares."""
    out = []
    for need, items in sorted(index.items_meeting_undeclared_needs(needs).items()):
        for item in items:
            loc = item.location
            out.append(
                Diagnostic(
                    loc.file,
                    loc.line,
                    loc.col,
                    "warning",
                    f"item {item.id!r} meets {need!r}, which no loaded ruleset declares",
                )
            )
    return out
