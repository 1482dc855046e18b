"""The URL's archive identity is worked out in a thread while the download runs
(worker.tasks.in_background): the completion gets the same answer, or what it raised."""

from __future__ import annotations

import pytest

from worker.media_identity import url_identity
from worker.tasks import in_background


def test_the_answer_is_the_one_worked_out_in_place() -> None:
    url = "http://127.0.0.2:8080/files/tiny-1.bin"
    assert in_background(url_identity, url)() == url_identity(url)


def test_what_the_work_raised_is_raised_to_the_caller() -> None:
    def broken(_url: str) -> str:
        raise ValueError("no identity")

    with pytest.raises(ValueError, match="no identity"):
        in_background(broken, "http://127.0.0.2/x")()
