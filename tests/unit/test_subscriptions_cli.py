"""`haul sub`'s pure parts: its command line and how subscriptions look on a terminal."""

from __future__ import annotations

import argparse

import pytest

from haulctl import cli
from haulctl.subscriptions import every, interval_text, subscription_details, subscription_table

SUB = {
    "id": "0b9e3f0e-8a57-4b8e-9a39-5f3c2d1e0a11",
    "url": "https://media.example/feed.xml",
    "title": "A podcast",
    "type": "audio",
    "maxItems": 0,
    "intervalSeconds": 21600,
    "enabled": True,
    "lastCheckedAt": "2026-12-03T12:00:00.000Z",
    "nextCheckAt": "2026-12-03T18:00:00.000Z",
    "lastError": "COLLECTION_UNREADABLE: the feed is not valid XML",
    "lastJobId": None,
}


def parse(*argv: str) -> argparse.Namespace:
    return cli.build_parser().parse_args(list(argv))


@pytest.mark.parametrize(
    ("text", "seconds"), [("900", 900), ("15m", 900), ("6h", 21600), ("1d", 86400), ("30s", 30)]
)
def test_every_takes_seconds_or_a_unit(text: str, seconds: int) -> None:
    assert every(text) == seconds


@pytest.mark.parametrize("text", ["", "0", "soon", "-5", "1w", "999999999"])
def test_every_refuses_what_is_not_an_interval(text: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError):
        every(text)


def test_sub_add_parses_its_options_and_the_connection_after_them() -> None:
    args = parse("sub", "add", SUB["url"], "--every", "6h", "--type", "audio", "--max-items", "20", "--json")
    assert (args.command, args.sub_command, args.url, args.every, args.type, args.max_items, args.json) == (
        "sub", "add", SUB["url"], 21600, "audio", 20, True,
    )  # fmt: skip
    assert parse("sub", "rm", SUB["id"]).subscription_id == SUB["id"]


def test_sub_without_an_action_or_with_a_file_type_is_a_usage_error() -> None:
    for argv in (["sub"], ["sub", "add", SUB["url"], "--type", "file"], ["sub", "pause"]):
        with pytest.raises(SystemExit) as exited:
            parse(*argv)
        assert exited.value.code == 2


def test_the_table_and_the_details_show_state_interval_and_error() -> None:
    assert interval_text(SUB) == "6h" and interval_text({"intervalSeconds": 90}) == "90s"
    # Never a clock-like "16:40": the units --every takes, largest first.
    assert [interval_text({"intervalSeconds": s}) for s in (1000, 5400, 9000, 90000)] == [
        "16m 40s",
        "90m",
        "2h 30m",
        "25h",
    ]
    table = subscription_table([SUB, {**SUB, "enabled": False, "title": None, "lastCheckedAt": None}])
    first, second = table.splitlines()[1:]
    assert "error" in first and "A podcast" in first
    assert "paused" in second and "never" in second and SUB["url"] in second
    assert subscription_table([]) == "no subscriptions"
    details = subscription_details(SUB)
    assert "COLLECTION_UNREADABLE: the feed is not valid XML" in details and "server default" in details
