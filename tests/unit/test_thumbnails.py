"""A worker (or the site behind it) chooses the thumbnail URL, and the browser loads it: jobstore
keeps only URLs that cannot point the browser inside the user's network."""

from __future__ import annotations

import pytest

from jobstore.domain import validation
from jobstore.domain.thumbnails import shown_thumbnail

INTERNAL = [
    "http://127.0.0.1/",
    "http://127.0.0.1:9464/metrics",
    "http://10.0.0.7/cam.jpg",
    "http://192.168.1.1/logo.png",
    "http://172.16.5.4/",
    "http://169.254.169.254/latest/meta-data/",
    "http://[::1]:8080/",
    "http://[fd00::1]/",
    "http://[::ffff:127.0.0.1]/",
    "http://0.0.0.0/",
    "http://2130706433/",  # 127.0.0.1 as one number
    "http://127.1/",
    "http://0x7f.0.0.1/",
    "http://0177.0.0.1/",
    "http://localhost/",
    "http://LOCALHOST./",
    "http://app.localhost/",
    "http://printer.local/",
    "http://router/",
    "http://jobstore:9464/",
    "http://nas.home.arpa/",
    "http://%6c%6f%63%61%6c%68%6f%73%74/",
    "http://\uff4c\uff4f\uff43\uff41\uff4c\uff48\uff4f\uff53\uff54/",  # full-width, NFKC gives localhost
    "http://127.0.0.1\\.example.com/",
    "file:///etc/passwd",
    "javascript:alert(1)",
    "data:image/png;base64,AAAA",
    "not a url",
]
PUBLIC = [
    "https://i.ytimg.com/vi/abc/hqdefault.jpg",
    "http://cdn.example.org/thumbs/1.jpg?size=large",
    "https://93.184.216.34/thumb.jpg",
    "https://[2606:4700::1111]/t.png",
]


@pytest.mark.parametrize("url", INTERNAL)
def test_a_worker_set_thumbnail_pointing_inside_the_network_is_not_kept(url: str) -> None:
    assert shown_thumbnail(url) == ""
    assert validation.meta("Clip", 1.0, "generic", url).thumbnail == ""


@pytest.mark.parametrize("url", PUBLIC)
def test_a_public_thumbnail_is_kept_as_sent(url: str) -> None:
    assert validation.meta("Clip", 1.0, "generic", url).thumbnail == url


def test_the_rest_of_the_metadata_survives_a_blanked_thumbnail() -> None:
    meta = validation.meta("Clip", 4.5, "generic", "http://127.0.0.1/x.jpg")
    assert (meta.title, meta.duration, meta.extractor, meta.thumbnail) == ("Clip", 4.5, "generic", "")
