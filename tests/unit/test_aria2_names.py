"""The file name a server gives in Content-Disposition, and the name and extension the engine picks."""

from __future__ import annotations

import pytest

from tests.support.media_server import HOSTILE_DISPOSITION
from worker.engines.probe import Probe, filename_from_disposition, name_and_extension
from worker.naming import safe_filename


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ('attachment; filename="report.pdf"', "report.pdf"),
        ("attachment; filename=report.pdf", "report.pdf"),
        ("inline;filename = plain.txt ; size=3", "plain.txt"),
        ('attachment; FILENAME="Upper.MP4"', "Upper.MP4"),
        ('attachment; filename="with \\"quotes\\".mp4"', 'with "quotes".mp4'),
        ('attachment; filename="a;b.mp4"', "a;b.mp4"),
        # filename* (RFC 5987) wins over filename, whichever comes first.
        ("attachment; filename=\"fallback.mp4\"; filename*=UTF-8''%E2%82%AC%20rates.mp4", "€ rates.mp4"),
        ("attachment; filename*=UTF-8''%E2%82%AC.mp4; filename=\"fallback.mp4\"", "€.mp4"),
        ("attachment; filename*=iso-8859-1'en'%A3%20rates.txt", "£ rates.txt"),
        ("attachment; filename*=\"UTF-8''quoted%20anyway.mp4\"", "quoted anyway.mp4"),
        # A malformed or unknown-charset filename* falls back to filename.
        ('attachment; filename*=no-quotes.mp4; filename="ok.mp4"', "ok.mp4"),
        ("attachment; filename*=utf-7''x.mp4; filename=\"ok.mp4\"", "ok.mp4"),
        # Raw UTF-8 arrives Latin-1 decoded from http.client and is read back as UTF-8.
        ('attachment; filename="' + "日本.mp4".encode().decode("latin-1") + '"', "日本.mp4"),
        ("filename=no-type.bin", "no-type.bin"),
        ("attachment", None),
        ('attachment; filename=""', None),
        ("", None),
        (None, None),
    ],
)
def test_content_disposition_names(header: str | None, expected: str | None) -> None:
    assert filename_from_disposition(header) == expected


def test_a_hostile_header_is_decoded_and_then_made_safe() -> None:
    name = filename_from_disposition(HOSTILE_DISPOSITION)
    assert name == "../../\u202eevil\x00.mp4", "filename* is preferred and decoded as it is"
    safe = safe_filename(name or "")
    assert "/" not in safe and "\x00" not in safe and "\u202e" not in safe and safe.endswith(".mp4")


def test_a_huge_name_is_cut() -> None:
    assert len(filename_from_disposition('attachment; filename="' + "a" * 100_000 + '.mp4"') or "") == 1024


@pytest.mark.parametrize(
    ("url", "found", "expected"),
    [
        ("http://h/files/movie.mkv?x=1", None, ("movie.mkv", "mkv")),
        ("http://h/files/caf%C3%A9.mp3", None, ("café.mp3", "mp3")),
        ("http://h/", None, ("download", "")),
        ("http://h/get", Probe("http://h/real/clip.webm", None, "video/webm"), ("clip.webm", "webm")),
        ("http://h/get", Probe("http://h/get", "Named.MP4", None), ("Named.MP4", "mp4")),
        ("http://h/get", Probe("http://h/x/clip.webm", "no-extension", None), ("no-extension", "webm")),
        ("http://h/get", Probe("http://h/get", None, "video/mp4"), ("get", "mp4")),
        ("http://h/get", Probe("http://h/get", None, None), ("get", "")),
    ],
)
def test_name_and_extension(url: str, found: Probe | None, expected: tuple[str, str]) -> None:
    assert name_and_extension(url, found) == expected
