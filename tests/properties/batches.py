"""Hypothesis strategies for ingest batches, written as raw JSON so that tokens a JSON encoder
would refuse (1e400, NaN, Infinity) reach the server as a real client could send them.

A batch is a clean one (unique instants from a shared pool, written with random offsets of up
to ±14 h or `Z`, finite values including the float edges) with zero, one or two faults mixed
in: duplicate instants (also across offsets), timestamps anywhere in years 1-9999, naive or
malformed timestamps, non-finite or overflowing number tokens, length mismatches, unknown or
repeated series, unknown input fields. Each batch carries the test's own prediction:
`VALID` (must be accepted), `INVALID` (must write nothing) or `UNSURE` (instants between the
surely-valid and surely-invalid ranges; only all-or-nothing is checked).
"""

from __future__ import annotations

import enum
import json
import random
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta, timezone

from hypothesis import strategies as st

KNOWN_KEYS = ("prop:a", "prop:b")
UNKNOWN_KEY = "prop:unknown"

# Instants every sane ingest window accepts (the gateway's is 1970 .. now + 10 years), and
# instants no sane window accepts; those in between are allowed either way.
SURELY_VALID = (datetime(2016, 1, 1, tzinfo=UTC), datetime(2026, 1, 1, tzinfo=UTC))
SURELY_INVALID_BEFORE = datetime(1900, 1, 1, tzinfo=UTC)
SURELY_INVALID_AFTER = datetime(2300, 1, 1, tzinfo=UTC)


class Verdict(enum.Enum):
    VALID = "valid"
    INVALID = "invalid"
    UNSURE = "unsure"


@dataclass(frozen=True)
class Stamp:
    text: str  # what is sent
    instant: datetime | None  # the UTC instant when it parses and is aware, else None
    verdict: Verdict


@dataclass(frozen=True)
class Value:
    token: str  # raw JSON token
    number: float | None  # what a correct server stores; None when it must be refused


@dataclass
class Entry:
    key: str
    stamps: list[Stamp]
    values: list[Value]
    extra_field: bool = False  # an input field the schema does not define

    def json(self) -> str:
        parts = [
            f'"key": {json.dumps(self.key)}',
            '"timestamps": [' + ", ".join(json.dumps(s.text) for s in self.stamps) + "]",
            '"values": [' + ", ".join(v.token for v in self.values) + "]",
        ]
        if self.extra_field:
            parts.append('"unit": "MW"')
        return "{" + ", ".join(parts) + "}"


@dataclass
class Batch:
    entries: list[Entry]
    on_conflict: str
    unknown_top_level: bool = False
    faults: list[str] = field(default_factory=list)

    @property
    def points(self) -> int:
        return sum(len(e.stamps) for e in self.entries)

    def body(self, query: str) -> bytes:
        fields = ['"series": [' + ", ".join(e.json() for e in self.entries) + "]"]
        fields.append(f'"onConflict": "{self.on_conflict}"')
        if self.unknown_top_level:
            fields.append('"dryRun": true')
        variables = '{"input": {' + ", ".join(fields) + "}}"
        return ('{"query": ' + json.dumps(query) + ', "variables": ' + variables + "}").encode()

    def rows(self) -> set[tuple[str, datetime, float]]:
        """The rows a correct server stores for this batch once accepted."""
        out = set()
        for entry in self.entries:
            for stamp, value in zip(entry.stamps, entry.values, strict=True):
                assert stamp.instant is not None and value.number is not None
                out.add((entry.key, stamp.instant, value.number))
        return out

    def verdict(self) -> Verdict:
        keys = [e.key for e in self.entries]
        if self.unknown_top_level or len(set(keys)) != len(keys):
            return Verdict.INVALID
        verdicts = set()
        for entry in self.entries:
            if entry.extra_field or entry.key not in KNOWN_KEYS:
                return Verdict.INVALID
            if len(entry.stamps) != len(entry.values):
                return Verdict.INVALID
            if any(v.number is None for v in entry.values):
                return Verdict.INVALID
            instants = [s.instant for s in entry.stamps]
            if None in instants or len(set(instants)) != len(instants):
                return Verdict.INVALID
            verdicts |= {s.verdict for s in entry.stamps}
        if Verdict.INVALID in verdicts:
            return Verdict.INVALID
        return Verdict.UNSURE if Verdict.UNSURE in verdicts else Verdict.VALID


def _classify(instant: datetime) -> Verdict:
    if SURELY_VALID[0] <= instant < SURELY_VALID[1]:
        return Verdict.VALID
    if instant < SURELY_INVALID_BEFORE or instant >= SURELY_INVALID_AFTER:
        return Verdict.INVALID
    return Verdict.UNSURE


offsets = st.integers(min_value=-14 * 60, max_value=14 * 60).map(
    lambda minutes: timezone(timedelta(minutes=minutes))
)
pool_instants = st.datetimes(min_value=datetime(2016, 1, 2), max_value=datetime(2025, 12, 30)).map(
    lambda d: d.replace(tzinfo=UTC)
)
finite_floats = st.floats(allow_nan=False, allow_infinity=False)
clean_values = finite_floats.map(lambda x: Value(repr(x), x))
edge_values = st.sampled_from(
    [
        Value("1e-400", 0.0),  # underflows to zero: finite
        Value("-0.0", -0.0),
        Value("1.7976931348623157e308", 1.7976931348623157e308),
        Value("-1.7976931348623157e308", -1.7976931348623157e308),
        Value("5e-324", 5e-324),
        Value(str(10**30), 1e30),  # a JSON integer beyond 64 bits
    ]
)
bad_values = st.sampled_from(
    [
        Value("1e400", None),  # valid JSON, infinite as a double
        Value("-1e400", None),
        Value("1" + "0" * 400, None),
        Value("NaN", None),  # not JSON at all
        Value("Infinity", None),
        Value("-Infinity", None),
        Value('"1.5"', None),  # a string, not a number
        Value("null", None),
        # An integer a double cannot hold exactly: graphql-core refuses it (would lose precision).
        Value("-9007199254740993", None),
    ]
)


@st.composite
def written(draw: st.DrawFn, instant: datetime) -> Stamp:
    """One instant as a client might write it: any offset, or `Z`."""
    verdict = _classify(instant)
    if draw(st.booleans()):
        return Stamp(instant.isoformat().replace("+00:00", "Z"), instant, verdict)
    return Stamp(instant.astimezone(draw(offsets)).isoformat(), instant, verdict)


@st.composite
def wide_stamps(draw: st.DrawFn) -> Stamp:
    """Anywhere in years 1-9999 with an offset of up to ±14 h."""
    wall = draw(st.datetimes(min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31)))
    aware = wall.replace(tzinfo=draw(offsets))
    try:
        instant = aware.astimezone(UTC)
    except OverflowError:  # e.g. 0001-01-01T00:00+14:00 lies before year 1 in UTC
        return Stamp(aware.isoformat(), None, Verdict.INVALID)
    return Stamp(aware.isoformat(), instant, _classify(instant))


@st.composite
def clean_entries(draw: st.DrawFn, key: str) -> Entry:
    instants = draw(st.lists(pool_instants, max_size=30, unique=True))
    stamps = [draw(written(i)) for i in instants]
    value_strategy = st.one_of(clean_values, clean_values, clean_values, edge_values)
    values = [draw(value_strategy) for _ in stamps]
    return Entry(key, stamps, values)


FAULTS = (
    "duplicate instant",
    "wide timestamp",
    "naive timestamp",
    "malformed timestamp",
    "bad value",
    "length mismatch",
    "unknown series",
    "repeated series",
    "unknown field",
    "unknown input field",
)


def _nonempty(batch: Batch, draw: st.DrawFn) -> Entry:
    entry = draw(st.sampled_from(batch.entries))
    if not entry.stamps:
        instant = draw(pool_instants)
        entry.stamps.append(draw(written(instant)))
        entry.values.append(draw(clean_values))
    return entry


@st.composite
def batches(draw: st.DrawFn) -> Batch:
    keys = draw(st.lists(st.sampled_from(KNOWN_KEYS), min_size=1, max_size=2, unique=True))
    batch = Batch(
        [draw(clean_entries(k)) for k in keys], draw(st.sampled_from(["UPDATE", "IGNORE"]))
    )
    faults = draw(st.one_of(st.just([]), st.lists(st.sampled_from(FAULTS), min_size=1, max_size=2)))
    batch.faults = faults
    for fault in faults:
        if fault == "unknown series":
            batch.entries.append(draw(clean_entries(UNKNOWN_KEY)))
        elif fault == "repeated series":
            batch.entries.append(draw(clean_entries(batch.entries[0].key)))
        elif fault == "unknown input field":
            batch.unknown_top_level = True
        elif fault == "unknown field":
            draw(st.sampled_from(batch.entries)).extra_field = True
        elif fault == "length mismatch":
            entry = draw(st.sampled_from(batch.entries))
            if entry.values and draw(st.booleans()):
                entry.values.pop()
            else:
                entry.values.append(draw(clean_values))
        else:
            entry = _nonempty(batch, draw)
            i = draw(st.integers(min_value=0, max_value=len(entry.stamps) - 1))
            if fault == "duplicate instant":
                instant = entry.stamps[i].instant
                assert instant is not None
                entry.stamps.append(draw(written(instant)))
                entry.values.append(draw(clean_values))
            elif fault == "wide timestamp":
                entry.stamps[i] = draw(wide_stamps())
            elif fault == "naive timestamp":
                wall = draw(st.datetimes(min_value=datetime(1, 1, 1)))
                entry.stamps[i] = Stamp(wall.isoformat(), None, Verdict.INVALID)
            elif fault == "malformed timestamp":
                text = draw(
                    st.sampled_from(["2024-13-01T00:00:00Z", "2024-02-30T00:00Z", "yesterday", ""])
                )
                entry.stamps[i] = Stamp(text, None, Verdict.INVALID)
            elif fault == "bad value" and i < len(entry.values):
                entry.values[i] = draw(bad_values)
    return batch


def shuffled(batch: Batch, rng: random.Random) -> Batch:
    """The same rows in another order: series permuted, each series' pairs permuted."""
    out = []
    for entry in rng.sample(batch.entries, len(batch.entries)):
        pairs = list(zip(entry.stamps, entry.values, strict=True))
        rng.shuffle(pairs)
        out.append(replace(entry, stamps=[p[0] for p in pairs], values=[p[1] for p in pairs]))
    return replace(batch, entries=out)
