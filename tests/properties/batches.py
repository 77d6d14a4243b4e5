"""Hypothesis strategies for ingest batches, written as raw JSON so that tokens a JSON encoder
would refuse (1e400, NaN, Infinity) reach the server as a real client could send them.

A batch is a clean one (unique instants from a shared pool, finite values including the float
edges) with zero, one or two faults mixed in: duplicate instants (also across offsets),
timestamps anywhere in years 1-9999, naive or malformed timestamps, non-finite or overflowing
number tokens, length mismatches, unknown or repeated series, unknown input fields, both forms
of a column at once. Each series is sent in one of the two column forms the API offers, chosen
per column: `timestamps` (RFC 3339 with offsets of up to ±14 h, or `Z`) or the bulk
`timestampsMs` (epoch milliseconds), and `values` or the bulk `valuesColumn`.

Each batch carries the test's own prediction: `VALID` (must be accepted), `INVALID` (must
write nothing) or `UNSURE` (instants between the surely-valid and surely-invalid ranges; only
all-or-nothing is checked).
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
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class Verdict(enum.Enum):
    VALID = "valid"
    INVALID = "invalid"
    UNSURE = "unsure"


@dataclass(frozen=True)
class Stamp:
    token: str  # the raw JSON token sent
    instant: datetime | None  # the UTC instant when it is a valid aware instant, else None
    verdict: Verdict


@dataclass(frozen=True)
class Value:
    token: str  # raw JSON token
    number: float | None  # what a correct server stores from `values`; None: must refuse
    # From `valuesColumn` (a plain JSON array of numbers) when that differs from `number`.
    column_number: float | None | str = "same"

    def stored(self, bulk: bool) -> float | None:
        if bulk and not isinstance(self.column_number, str):
            return self.column_number
        return self.number


@dataclass
class Entry:
    key: str
    stamps: list[Stamp]
    values: list[Value]
    bulk_timestamps: bool = False  # `timestampsMs` instead of `timestamps`
    bulk_values: bool = False  # `valuesColumn` instead of `values`
    extra_field: bool = False  # an input field the schema does not define
    both_forms: bool = False  # the timestamps sent as `timestamps` and `timestampsMs`

    def json(self) -> str:
        stamps = "[" + ", ".join(s.token for s in self.stamps) + "]"
        parts = [
            f'"key": {json.dumps(self.key)}',
            ('"timestampsMs": ' if self.bulk_timestamps else '"timestamps": ') + stamps,
            ('"valuesColumn": [' if self.bulk_values else '"values": [')
            + ", ".join(v.token for v in self.values)
            + "]",
        ]
        if self.both_forms:  # the same instants once more, in the other form
            other = iso_token if self.bulk_timestamps else ms_token
            name = '"timestamps": ' if self.bulk_timestamps else '"timestampsMs": '
            parts.append(name + "[" + ", ".join(other(s.instant) for s in self.stamps) + "]")
        if self.extra_field:
            parts.append('"unit": "MW"')
        return "{" + ", ".join(parts) + "}"


def iso_token(instant: datetime | None) -> str:
    return json.dumps((instant or EPOCH).isoformat())


def ms_token(instant: datetime | None) -> str:
    return str(_ms(instant or EPOCH))


def _ms(instant: datetime) -> int:
    return (instant - EPOCH) // timedelta(milliseconds=1)


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
                number = value.stored(entry.bulk_values)
                assert stamp.instant is not None and number is not None
                out.add((entry.key, stamp.instant, number))
        return out

    def verdict(self) -> Verdict:
        keys = [e.key for e in self.entries]
        if self.unknown_top_level or len(set(keys)) != len(keys):
            return Verdict.INVALID
        verdicts = set()
        for entry in self.entries:
            if entry.extra_field or entry.key not in KNOWN_KEYS:
                return Verdict.INVALID
            if entry.both_forms and entry.stamps:
                return Verdict.INVALID
            if len(entry.stamps) != len(entry.values):
                return Verdict.INVALID
            if any(v.stored(entry.bulk_values) is None for v in entry.values):
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


def _whole_ms(instant: datetime) -> datetime:
    return instant.replace(microsecond=instant.microsecond // 1000 * 1000)


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
        Value("true", None),
        # An integer a double cannot hold exactly: GraphQL's Float refuses it (it would lose
        # precision); a plain JSON number column rounds it like any JSON parser.
        Value("-9007199254740993", None, column_number=-9007199254740992.0),
    ]
)


@st.composite
def written(draw: st.DrawFn, instant: datetime, bulk: bool) -> Stamp:
    """One instant as a client might write it: epoch ms, or RFC 3339 with any offset or `Z`."""
    if bulk:
        instant = _whole_ms(instant)
        return Stamp(str(_ms(instant)), instant, _classify(instant))
    verdict = _classify(instant)
    if draw(st.booleans()):
        return Stamp(json.dumps(instant.isoformat().replace("+00:00", "Z")), instant, verdict)
    return Stamp(json.dumps(instant.astimezone(draw(offsets)).isoformat()), instant, verdict)


@st.composite
def wide_stamps(draw: st.DrawFn, bulk: bool) -> Stamp:
    """Anywhere in years 1-9999 with an offset of up to ±14 h."""
    wall = draw(st.datetimes(min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31)))
    aware = wall.replace(tzinfo=draw(offsets))
    try:
        instant = aware.astimezone(UTC)
    except OverflowError:  # e.g. 0001-01-01T00:00+14:00 lies before year 1 in UTC
        if bulk:
            offset = aware.utcoffset()
            assert offset is not None  # a fixed offset was just attached
            ms = _ms(wall.replace(tzinfo=UTC)) - offset // timedelta(milliseconds=1)
            return Stamp(str(ms), None, Verdict.INVALID)
        return Stamp(json.dumps(aware.isoformat()), None, Verdict.INVALID)
    if bulk:
        instant = _whole_ms(instant)
        return Stamp(str(_ms(instant)), instant, _classify(instant))
    return Stamp(json.dumps(aware.isoformat()), instant, _classify(instant))


@st.composite
def clean_entries(draw: st.DrawFn, key: str) -> Entry:
    bulk_timestamps, bulk_values = draw(st.booleans()), draw(st.booleans())
    instants = draw(st.lists(pool_instants, max_size=30, unique=True))
    stamps = [draw(written(i, bulk_timestamps)) for i in instants]
    value_strategy = st.one_of(clean_values, clean_values, clean_values, edge_values)
    values = [draw(value_strategy) for _ in stamps]
    return Entry(key, stamps, values, bulk_timestamps, bulk_values)


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
    "both column forms",
)
MALFORMED_ISO = ["2024-13-01T00:00:00Z", "2024-02-30T00:00Z", "yesterday", ""]
MALFORMED_MS = ['"1700000000000"', "1.7e12", "1700000000000.5", "99999999999999999999", "null"]


def _nonempty(batch: Batch, draw: st.DrawFn) -> Entry:
    entry = draw(st.sampled_from(batch.entries))
    if not entry.stamps:
        entry.stamps.append(draw(written(draw(pool_instants), entry.bulk_timestamps)))
        entry.values.append(draw(clean_values))
    return entry


def _spoil_stamp(draw: st.DrawFn, entry: Entry, fault: str) -> None:
    i = draw(st.integers(min_value=0, max_value=len(entry.stamps) - 1))
    if fault == "duplicate instant":
        # An instant already in the batch (an earlier fault may have spoilt stamp i).
        instant = entry.stamps[i].instant or draw(pool_instants)
        for _ in range(2 if entry.stamps[i].instant is None else 1):
            entry.stamps.append(draw(written(instant, entry.bulk_timestamps)))
            entry.values.append(draw(clean_values))
    elif fault == "wide timestamp":
        entry.stamps[i] = draw(wide_stamps(entry.bulk_timestamps))
    elif fault == "naive timestamp" and not entry.bulk_timestamps:
        wall = draw(st.datetimes(min_value=datetime(1, 1, 1)))
        entry.stamps[i] = Stamp(json.dumps(wall.isoformat()), None, Verdict.INVALID)
    elif fault in {"naive timestamp", "malformed timestamp"}:
        choices = MALFORMED_MS if entry.bulk_timestamps else [json.dumps(m) for m in MALFORMED_ISO]
        entry.stamps[i] = Stamp(draw(st.sampled_from(choices)), None, Verdict.INVALID)
    elif fault == "bad value" and i < len(entry.values):
        entry.values[i] = draw(bad_values)


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
        elif fault == "both column forms":
            _nonempty(batch, draw).both_forms = True
        elif fault == "length mismatch":
            entry = draw(st.sampled_from(batch.entries))
            if len(entry.values) > 0 and draw(st.booleans()):
                entry.values.pop()
            else:
                entry.values.append(draw(clean_values))
        else:
            _spoil_stamp(draw, _nonempty(batch, draw), fault)
    return batch


def shuffled(batch: Batch, rng: random.Random) -> Batch:
    """The same rows in another order: series permuted, each series' pairs permuted."""
    out = []
    for entry in rng.sample(batch.entries, len(batch.entries)):
        pairs = list(zip(entry.stamps, entry.values, strict=True))
        rng.shuffle(pairs)
        out.append(replace(entry, stamps=[p[0] for p in pairs], values=[p[1] for p in pairs]))
    return replace(batch, entries=out)
