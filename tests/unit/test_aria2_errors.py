"""aria2's error codes become the job's stable error codes, retryable only where a retry can help."""

from __future__ import annotations

from pathlib import Path

import pytest

from worker.engines.aria2 import classify, gid_for


@pytest.mark.parametrize(
    ("code", "message", "expected", "retryable"),
    [
        (3, "Resource not found", "HTTP_404", False),
        (22, "The response status is not successful. status=403", "HTTP_403", False),
        (22, "The response status is not successful. status=410", "HTTP_410", False),
        (22, "The response status is not successful. status=429", "HTTP_429", True),
        (22, "The response status is not successful. status=500", "HTTP_500", True),
        (29, "The response status is not successful. status=503", "HTTP_503", True),
        (29, "", "HTTP_503", True),
        (22, "Invalid range header", "ARIA2_22", True),
        (1, "Unknown error", "NETWORK_ERROR", True),
        (2, "Timeout.", "NETWORK_ERROR", True),
        (6, "Network problem has occurred. cause:Connection refused", "NETWORK_ERROR", True),
        (19, "Domain name resolution failed", "NETWORK_ERROR", True),
        (9, "There is not enough disk space available", "DISK_FULL", True),
        (32, "Checksum validation failed", "CHECKSUM_MISMATCH", False),
        (23, "Too many redirects", "TOO_MANY_REDIRECTS", False),
        (24, "Authorization failed", "HTTP_401", False),
        (16, "Failed to open the file", "ARIA2_16", True),
    ],
)
def test_error_codes_map_to_stable_codes(code: int, message: str, expected: str, retryable: bool) -> None:
    failure = classify(code, message)
    assert (failure.code, failure.retryable) == (expected, retryable)
    assert failure.message.startswith(f"aria2 error {code}")
    assert message in failure.message


def test_the_gid_is_sixteen_hex_digits_stable_per_job_folder(tmp_path: Path) -> None:
    folder = tmp_path / "8f9a3c52-5b1e-4f7a-9a0e-1c2d3e4f5a6b"
    gid = gid_for(folder)
    assert len(gid) == 16 and int(gid, 16) >= 0
    assert gid_for(folder) == gid, "a later attempt finds the same download"
    assert gid_for(folder.parent / "other-job") != gid
