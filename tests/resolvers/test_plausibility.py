"""The rule table's functions: levels, closed bounds, grains and the messages they write."""

from __future__ import annotations

import pytest

from resolvers import plausibility as rules
from resolvers.codes import WarningCode
from resolvers.kpi_types import WarningLevel


@pytest.mark.parametrize(
    ("price", "level"),
    [(50.0, None), (400.0, None), (400.5, "WARNING"), (-100.5, "WARNING"),
     (4000.0, "WARNING"), (4000.5, "ERROR"), (-500.0, "WARNING"), (-500.5, "ERROR")],
)  # fmt: skip
def test_bounds_are_closed_and_the_error_wins(price: float, level: str | None) -> None:
    warning = rules.check(rules.MARKET_PRICE, price, 3)
    assert (warning.level.value if warning else None) == level
    if warning is not None:
        assert (warning.code, warning.bucket, warning.value) == ("PRICE_OUT_OF_RANGE", 3, price)
        assert warning.message.startswith(f"day-ahead price (EUR/MWh) {price:.4g} is outside [")


def test_none_passes() -> None:
    assert rules.check(rules.MARKET_PRICE, None, 0) is None


def test_extremes_warn_once_when_equal_and_each_when_both_are_odd() -> None:
    assert len(rules.check_extremes(rules.SITE_PRICE, 5000.0, 5000.0, 0)) == 1
    both = rules.check_extremes(rules.SITE_PRICE, -600.0, 500.0, None)
    assert [(w.level, w.value, w.bucket) for w in both] == [
        (WarningLevel.ERROR, -600.0, None),
        (WarningLevel.WARNING, 500.0, None),
    ]
    assert rules.check_extremes(rules.SITE_PRICE, 10.0, 90.0, 0) == []


def test_columns_add_the_total_only_where_the_rule_reports_it() -> None:
    market = rules.check_columns(rules.MARKET_PRICE, [500.0, 50.0], 500.0)
    assert [w.bucket for w in market] == [0]
    grid = rules.check_columns(rules.MARKET_INTENSITY, [900.0, 100.0], 900.0)
    assert [w.bucket for w in grid] == [0, None]


def test_coverage_names_the_series_and_never_flags_above_one() -> None:
    found = rules.coverage_warnings([0.93, 0.5, 1.0000001], 0.96, "pv (roof)")
    assert [(w.code, w.level, w.bucket) for w in found] == [
        (WarningCode.LOW_COVERAGE, WarningLevel.WARNING, 0),
        (WarningCode.LOW_COVERAGE, WarningLevel.ERROR, 1),
    ]
    assert found[0].quantity == "pv (roof)"
    assert found[0].message == "pv (roof): data cover 93.0% of bucket 0; the value is not scaled up"


def test_event_rules_have_their_one_level() -> None:
    warning = rules.event(rules.NEGATIVE_LOAD, "negative", bucket=2, value=3.0)
    assert (warning.code, warning.level, warning.quantity) == (
        "NEGATIVE_LOAD",
        WarningLevel.ERROR,
        "consumption",
    )
    with pytest.raises(AssertionError):
        rules.check(rules.NEGATIVE_LOAD, 1.0)
