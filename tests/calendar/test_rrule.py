"""RRULE text to :class:`Rule`: every well-formed rule parses; malformed ones say why."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from linkzoom.calendar.rrule import FREQUENCIES, Rule, RuleError, format_rule, parse_rule


@pytest.mark.parametrize(
    ("text", "rule"),
    [
        ("FREQ=DAILY", Rule(freq="DAILY")),
        (
            "RRULE:freq=weekly;byday=mo,2tu,-1FR",
            Rule(freq="WEEKLY", byday=((None, 0), (2, 1), (-1, 4))),
        ),
        (
            "FREQ=MONTHLY;BYMONTHDAY=-1,15;BYSETPOS=1",
            Rule(freq="MONTHLY", bymonthday=(-1, 15), bysetpos=(1,)),
        ),
        (
            "FREQ=WEEKLY;UNTIL=20270330T080000Z",
            Rule(freq="WEEKLY", until=datetime(2027, 3, 30, 8, tzinfo=UTC)),
        ),
        ("FREQ=WEEKLY;UNTIL=20270330", Rule(freq="WEEKLY", until=date(2027, 3, 30))),
        ("FREQ=WEEKLY;UNTIL=20270330T080000", Rule(freq="WEEKLY", until=datetime(2027, 3, 30, 8))),
        (
            "FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU;WKST=SU",
            Rule(freq="YEARLY", bymonth=(3,), byday=((-1, 6),), wkst=6),
        ),
        ("FREQ=DAILY;INTERVAL=3;COUNT=4;X-NAME=anything", Rule(freq="DAILY", interval=3, count=4)),
        (
            "FREQ=HOURLY;BYHOUR=9;BYMINUTE=30;BYSECOND=0",
            Rule(freq="HOURLY", byhour=(9,), byminute=(30,), bysecond=(0,)),
        ),
    ],
)
def test_well_formed_rules(text: str, rule: Rule) -> None:
    assert parse_rule(text) == rule


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty"),
        ("BYDAY=MO", "FREQ is required"),
        ("FREQ=FORTNIGHTLY", "FREQ is required"),
        ("FREQ=DAILY;COUNT=0", "COUNT must be a positive"),
        ("FREQ=DAILY;INTERVAL=x", "INTERVAL must be a positive"),
        ("FREQ=DAILY;COUNT=2;UNTIL=20270101", "COUNT and UNTIL"),
        ("FREQ=DAILY;UNTIL=2027-01-01", "UNTIL"),
        ("FREQ=WEEKLY;BYDAY=MONDAY", "BYDAY"),
        ("FREQ=WEEKLY;BYDAY=60MO", "ordinal"),
        ("FREQ=MONTHLY;BYMONTHDAY=32", "out of range"),
        ("FREQ=MONTHLY;BYMONTH=-1", "not a number"),
        ("FREQ=DAILY;WKST=XX", "WKST"),
        ("FREQ=DAILY;FREQ=WEEKLY", "twice"),
        ("FREQ=DAILY;BOGUS=1", "unknown rule part"),
        ("FREQ=DAILY;COUNT", "NAME=VALUE"),
    ],
)
def test_malformed_rules_say_why(text: str, message: str) -> None:
    with pytest.raises(RuleError, match=message):
        parse_rule(text)


def _numbers(low: int, high: int, signed: bool) -> st.SearchStrategy[tuple[int, ...]]:
    value = st.integers(low, high)
    if signed:
        value = st.one_of(value, st.integers(low, high).map(lambda v: -max(v, 1)))
    return st.lists(value, max_size=3).map(tuple)


@st.composite
def rules(draw: st.DrawFn) -> Rule:
    until = draw(
        st.one_of(
            st.none(),
            st.dates(date(1900, 1, 1), date(2999, 12, 31)),
            st.datetimes(datetime(1900, 1, 1), datetime(2999, 12, 31)).map(
                lambda moment: moment.replace(microsecond=0)
            ),
            st.datetimes(datetime(1900, 1, 1), datetime(2999, 12, 31)).map(
                lambda moment: moment.replace(microsecond=0, tzinfo=UTC)
            ),
        )
    )
    return Rule(
        freq=draw(st.sampled_from(FREQUENCIES)),
        interval=draw(st.integers(1, 1000)),
        count=None if until is not None else draw(st.none() | st.integers(1, 10_000)),
        until=until,
        byday=tuple(
            draw(
                st.lists(
                    st.tuples(
                        st.none() | st.integers(1, 53) | st.integers(-53, -1), st.integers(0, 6)
                    ),
                    max_size=4,
                )
            )
        ),
        bymonthday=draw(_numbers(1, 31, True)),
        bysetpos=draw(_numbers(1, 366, True)),
        bymonth=draw(_numbers(1, 12, False)),
        byyearday=draw(_numbers(1, 366, True)),
        byweekno=draw(_numbers(1, 53, True)),
        byhour=draw(_numbers(0, 23, False)),
        byminute=draw(_numbers(0, 59, False)),
        bysecond=draw(_numbers(0, 60, False)),
        wkst=draw(st.integers(0, 6)),
    )


@given(rules())
def test_a_formatted_rule_reads_back_as_itself(rule: Rule) -> None:
    assert parse_rule(format_rule(rule)) == rule


def test_a_rule_is_formatted_as_rfc_5545_writes_it() -> None:
    rule = parse_rule("FREQ=MONTHLY;INTERVAL=2;BYDAY=-1FR;UNTIL=20270330T080000Z")
    assert format_rule(rule) == "FREQ=MONTHLY;INTERVAL=2;UNTIL=20270330T080000Z;BYDAY=-1FR;WKST=MO"
