"""Thumbnails: what counts as one (magic bytes, size), what jobstore keeps, what a page is shown.

The browser only ever loads a thumbnail from haul itself: jobstore keeps only the name of the
copy a worker saved, and REST turns that into the gateway's link, whatever else a worker sent.
"""

from __future__ import annotations

import io
from datetime import datetime

import pytest

from haul.contract import from_proto
from haul.contract.thumbnails import MAX_THUMBNAIL_BYTES, content_type_of, image_extension, thumbnail_name
from haul.jobstore.v1 import jobstore_pb2 as pb
from jobstore.domain import validation
from jobstore.domain.values import JobMeta
from worker.thumbnails import ThumbnailRefused, read_image

JOB_ID = "0b6d3f1c-8a52-4a4e-9b7e-3f1c2d4e5f60"
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01" + b"\x00" * 100
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + b"\x00" * 100
GIF = b"GIF89a\x01\x00\x01\x00" + b"\x00" * 100
WEBP = b"RIFF\x24\x00\x00\x00WEBPVP8 " + b"\x00" * 100
NOT_IMAGES = {
    "svg": b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
    "svg with an xml prolog": b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"/>',
    "html": b"<!doctype html><html><body>hello</body></html>",
    "riff but not webp": b"RIFF\x24\x00\x00\x00WAVEfmt " + b"\x00" * 100,
    "truncated webp": b"RIFF\x24\x00\x00\x00WEB",
    "empty": b"",
    "text that mentions jpeg": b"JFIF \xff\xd8\xff",
}

URLS_A_WORKER_MAY_SEND = [
    "https://i.ytimg.com/vi/abc/hqdefault.jpg",
    "http://127.0.0.1:9464/metrics",
    "http://cdn.example.org/t.jpg",
    ".thumbnail.svg",
    "thumbnail.jpg",
    "../.thumbnail.jpg",
    ".thumbnail.jpg/",
    ".thumbnail.JPG",
]


@pytest.mark.parametrize(("head", "extension"), [(JPEG, "jpg"), (PNG, "png"), (GIF, "gif"), (WEBP, "webp")])
def test_raster_images_are_recognised_by_their_first_bytes(head: bytes, extension: str) -> None:
    assert image_extension(head[:12]) == extension
    assert content_type_of(thumbnail_name(extension)).startswith("image/")


@pytest.mark.parametrize("body", NOT_IMAGES.values(), ids=NOT_IMAGES.keys())
def test_svg_html_and_other_bytes_are_not_images(body: bytes) -> None:
    assert image_extension(body[:12]) is None
    with pytest.raises(ThumbnailRefused):
        read_image(io.BytesIO(body))


def test_an_image_at_the_cap_is_read_whole() -> None:
    body = JPEG + b"\x01" * (MAX_THUMBNAIL_BYTES - len(JPEG))
    assert read_image(io.BytesIO(body)) == ("jpg", body)


def test_an_image_one_byte_over_the_cap_is_refused_without_reading_the_rest() -> None:
    source = io.BytesIO(JPEG + b"\x01" * (4 * MAX_THUMBNAIL_BYTES))
    with pytest.raises(ThumbnailRefused, match="larger than"):
        read_image(source)
    assert source.tell() <= MAX_THUMBNAIL_BYTES + 64 * 1024, "it stops reading soon after the cap"


def test_a_declared_length_over_the_cap_is_refused_before_reading() -> None:
    source = io.BytesIO(JPEG)
    with pytest.raises(ThumbnailRefused, match="larger than"):
        read_image(source, declared_length=MAX_THUMBNAIL_BYTES + 1)
    assert source.tell() == 0


@pytest.mark.parametrize("extension", ["jpg", "png", "webp", "gif"])
def test_jobstore_keeps_the_name_of_a_saved_copy(extension: str) -> None:
    name = thumbnail_name(extension)
    assert validation.meta("Clip", 1.0, "generic", name).thumbnail == name


@pytest.mark.parametrize("value", URLS_A_WORKER_MAY_SEND)
def test_jobstore_keeps_no_url_and_no_other_name_as_a_thumbnail(value: str) -> None:
    meta = validation.meta("Clip", 4.5, "generic", value)
    assert (meta.title, meta.duration, meta.extractor, meta.thumbnail) == ("Clip", 4.5, "generic", "")


def _shown(thumbnail: str) -> object:
    job = pb.Job(
        id=JOB_ID,
        url="https://media.example/a.mp4",
        type=pb.JOB_TYPE_VIDEO,
        status=pb.JOB_STATUS_COMPLETED,
        stage=pb.JOB_STAGE_DONE,
        meta=pb.JobMeta(title="Clip", thumbnail=thumbnail),
    )
    job.created_at.FromDatetime(datetime(2025, 1, 31, 12, 0, 0))
    job.updated_at.FromDatetime(datetime(2025, 1, 31, 12, 0, 1))
    return from_proto.job(job).wire()["meta"]["thumbnail"]


def test_rest_shows_the_gateways_link_for_a_saved_copy() -> None:
    assert _shown(".thumbnail.png") == f"/files/{JOB_ID}/thumbnail"


@pytest.mark.parametrize("value", ["", *URLS_A_WORKER_MAY_SEND])
def test_rest_never_shows_a_stored_url(value: str) -> None:
    # Rows written before copies existed may still hold a site's URL.
    assert _shown(value) is None


@pytest.mark.parametrize(
    ("stored", "read"),
    [
        (".thumbnail.jpg", ".thumbnail.jpg"),
        ("http://10.0.0.7/a.jpg", ""),  # a row from before thumbnails were saved copies
        ("https://cdn.example.com/a.jpg", ""),
        ("", ""),
    ],
)
def test_a_stored_row_is_read_back_with_only_a_saved_copy_as_its_thumbnail(stored: str, read: str) -> None:
    assert JobMeta.from_json({"title": "t", "thumbnail": stored}).thumbnail == read
