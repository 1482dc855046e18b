"""The worker's warm-up (worker.warmup): what yt-dlp pays on first use is paid before the fork.

Each check runs in a fresh interpreter, since any test before it in this process may already
have matched a URL (and so compiled the patterns this is about)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

STATE = """
import json, os, sys
from worker.media_identity import _extractors

def uncompiled():
    return sum(1 for ie in _extractors() if ie._VALID_URL is not False and "_VALID_URL_RE" not in ie.__dict__)

def extractor_modules():
    return {name for name in sys.modules if name.startswith("yt_dlp.extractor.")}
"""

FORKED_JOB = """
before = {"uncompiled": uncompiled()}
if WARM:
    import shutil
    from worker.warmup import warm_ytdlp
    warm_ytdlp(shutil.which("ffmpeg"))
before["after_warmup"] = uncompiled()
read, write = os.pipe()
pid = os.fork()
if pid == 0:  # a work horse: what a job of a plain URL does first
    modules = extractor_modules()
    from worker.media_identity import url_identity
    from yt_dlp.extractor import get_info_extractor
    identity = url_identity("https://files.example/podcast/episode-1.mp3")
    get_info_extractor("Generic")()
    from yt_dlp.postprocessor.ffmpeg import FFmpegPostProcessor
    report = {"identity": identity, "uncompiled": uncompiled(),
              "imported": sorted(extractor_modules() - modules),
              "versions_known": sorted(key for key in FFmpegPostProcessor._version_cache if key)}
    os.write(write, json.dumps(report).encode())
    os._exit(0)
os.close(write)
child = json.loads(os.read(read, 65536))
os.waitpid(pid, 0)
print(json.dumps({**before, "child": child}))
"""


def run(warm: bool) -> dict[str, object]:
    code = STATE + f"WARM = {warm}\n" + FORKED_JOB
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120, check=True
    )
    return dict(json.loads(result.stdout.strip().splitlines()[-1]))


def test_a_fork_after_the_warm_up_compiles_and_imports_no_extractor() -> None:
    state = run(warm=True)
    assert state["uncompiled"] > 1000  # a fresh process: nothing compiled yet
    assert state["after_warmup"] == 0
    child = state["child"]
    assert isinstance(child, dict)
    assert child["identity"] == "url https://files.example/podcast/episode-1.mp3"
    assert child["uncompiled"] == 0
    assert child["imported"] == []
    # `ffmpeg -version` and `ffprobe -version` ran in the pool, for yt-dlp's own lookup (a resolve)
    # and the worker's ffmpeg (a download); a job asks for them and runs neither.
    ffmpeg = shutil.which("ffmpeg")
    assert ffmpeg is not None
    assert {"ffmpeg", "ffprobe", ffmpeg} <= set(child["versions_known"])


def test_without_the_warm_up_the_fork_pays_for_it() -> None:
    """What the warm-up saves: the same first job compiles the patterns and imports the generic
    extractor in the fork, where nothing is kept for the next job."""
    child = run(warm=False)["child"]
    assert isinstance(child, dict)
    assert child["uncompiled"] == 0  # matched every extractor, compiling each pattern
    assert "yt_dlp.extractor.generic" in child["imported"]
    assert child["versions_known"] == []


def test_the_youtubedl_given_the_list_has_yt_dlps_own_extractors_in_its_order() -> None:
    import yt_dlp

    from worker.warmup import YoutubeDL, default_extractors

    def kinds(ydl: yt_dlp.YoutubeDL) -> list[tuple[str, object]]:
        return [(key, ie if isinstance(ie, type) else type(ie)) for key, ie in ydl._ies.items()]

    with yt_dlp.YoutubeDL({"quiet": True}) as theirs, YoutubeDL({"quiet": True}) as ours:
        assert kinds(ours) == kinds(theirs)
        assert len(ours._ies) > 1000
        assert list(ours._ies_instances) == list(theirs._ies_instances)
        for key, instance in ours._ies_instances.items():  # each YoutubeDL has instances of its own
            assert instance is not theirs._ies_instances[key]
    assert default_extractors() is default_extractors()  # built once per process
    with YoutubeDL({"quiet": True, "allowed_extractors": ["generic"]}) as narrowed:
        assert list(narrowed._ies) == ["Generic"]  # anything but the default is yt-dlp's own doing


def test_every_youtubedl_shares_one_verifying_tls_context_per_setting() -> None:
    import ssl

    import yt_dlp

    from worker.warmup import YoutubeDL

    def contexts(ydl: yt_dlp.YoutubeDL) -> list[ssl.SSLContext]:
        return [handler._make_sslcontext() for handler in ydl._request_director.handlers.values()]

    with YoutubeDL({"quiet": True}) as one, YoutubeDL({"quiet": True}) as two:
        shared = contexts(one)
        assert len(shared) >= 1
        assert all(context is shared[0] for context in [*shared, *contexts(two)])
        assert shared[0].verify_mode == ssl.CERT_REQUIRED and shared[0].check_hostname
        assert list(one._request_director.handlers) == list(yt_dlp.YoutubeDL()._request_director.handlers)
    with YoutubeDL({"quiet": True, "nocheckcertificate": True}) as unchecked:
        # Another setting, another context: one that verifies is never handed to it, nor it to one.
        (other, *_) = contexts(unchecked)
        assert other is not shared[0] and other.verify_mode == ssl.CERT_NONE
    with yt_dlp.YoutubeDL({"quiet": True}) as plain:  # yt-dlp's own still makes one each time
        assert all(context is not shared[0] for context in contexts(plain))
