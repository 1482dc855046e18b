from __future__ import annotations

import math

import pytest

from jobstore.domain import validation
from jobstore.domain.errors import InvalidInput
from jobstore.domain.values import JobStage

GOOD_ID = "8f9a3c52-5b1e-4f7a-9a0e-1c2d3e4f5a6b"


def progress(**overrides: object) -> object:
    fields: dict[str, object] = dict(
        job_id_text=GOOD_ID, attempt=1, seq=1, stage=JobStage.DOWNLOADING, progress=50.0,
        downloaded_bytes=10, total_bytes=100, speed=1.0, eta=1.0, report_meta=None,
    )  # fmt: skip
    fields.update(overrides)
    return validation.progress_report(**fields)  # type: ignore[arg-type]


def test_a_well_formed_report_passes() -> None:
    assert progress() is not None


@pytest.mark.parametrize(
    "overrides",
    [
        {"job_id_text": "not-a-uuid"},
        {"job_id_text": GOOD_ID.replace("-", "")},
        {"progress": 150.0},
        {"progress": -1.0},
        {"progress": math.nan},
        {"progress": math.inf},
        {"speed": -5.0},
        {"eta": math.nan},
        {"total_bytes": 2**64 - 1},
        {"downloaded_bytes": validation.MAX_BYTES + 1},
    ],
)
def test_malformed_or_out_of_bounds_reports_are_refused(overrides: dict[str, object]) -> None:
    with pytest.raises(InvalidInput):
        progress(**overrides)


def test_long_strings_and_nul_are_refused() -> None:
    with pytest.raises(InvalidInput, match="longer than"):
        validation.text("error_message", "x" * 1_000_000, validation.MAX_MESSAGE)
    with pytest.raises(InvalidInput, match="NUL"):
        validation.text("title", "a\x00b", validation.MAX_TITLE)


@pytest.mark.parametrize("code", ["", "stalled", "1ABC", "A" * 65, "BAD-CODE"])
def test_error_codes_are_upper_case_identifiers(code: str) -> None:
    with pytest.raises(InvalidInput):
        validation.error_code(code)


def test_file_results_need_a_real_sha256() -> None:
    with pytest.raises(InvalidInput, match="sha256"):
        validation.file_result("a.mp4", "x/a.mp4", 1, "abc", None)
    assert validation.file_result("a.mp4", "x/a.mp4", 1, "a" * 64, None).size == 1
