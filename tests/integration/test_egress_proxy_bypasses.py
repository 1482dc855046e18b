"""The ways around a proxy, closed: no_proxy in the environment, aria2's per-download overrides,
torrents and Metalinks, ffmpeg's concat lists and raw tcp inputs. Every tool is set up from the
job's `ToolEgress`, as the worker's engines set it up. Control tests aim the same tricks at a
second canary without the guard's settings, to prove each trick is real.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tests.support.egress_clients import ARIA2C, aria2, aria2_outcome, ffmpeg, ytdlp, ytdlp_ffmpeg_environment
from tests.support.egress_lab import Lab
from tests.support.egress_targets import Canary
from worker.aria2d import Aria2Daemon
from worker.egress.tools import EgressBypass

pytest_plugins = ["tests.support.egress_fixtures"]


def test_no_proxy_variables_are_stripped_and_ffmpeg_still_goes_through_the_guard(
    lab: Lab, control: Canary
) -> None:
    egress = lab.egress()
    hostile = {**os.environ, "no_proxy": "*", "NO_PROXY": "127.0.0.1", "HTTP_PROXY": "", "ALL_PROXY": ""}
    scrubbed = dict(hostile)
    egress.scrub_process_environment(scrubbed)  # what download() does to the job's own environment
    assert (
        not {"no_proxy", "NO_PROXY", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "all_proxy"} & scrubbed.keys()
    )
    # The ffmpeg yt-dlp starts gets that environment and yt-dlp's proxy variables.
    env = ytdlp_ffmpeg_environment(egress, scrubbed)
    assert env["http_proxy"] == lab.proxy() and "no_proxy" not in env
    args = ["-f", "mp4", "-i", f"http://127.0.0.1:{lab.canary.port}/", "-f", "null", "-"]
    before = lab.refused()
    assert ffmpeg(args, env=env) != 0
    assert lab.refused() == before + 1, "ffmpeg asked the guard"
    # Control: with no_proxy left in, ffmpeg goes straight to the target despite its proxy.
    leaky = ["-f", "mp4", "-i", f"http://127.0.0.1:{control.port}/", "-f", "null", "-"]
    ffmpeg(leaky, env={**env, "no_proxy": "127.0.0.1"})
    assert control.wait_for_any(2) > 0
    assert lab.canary.accepted == 0


def test_ytdlp_ignores_no_proxy_in_its_environment(
    lab: Lab, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("no_proxy", "*")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    before = lab.refused()
    assert ytdlp(f"http://127.0.0.1:{lab.canary.port}/v.mp4", lab.egress(), tmp_path) is None
    assert lab.refused() > before
    assert lab.canary.accepted == 0


def test_aria2_with_no_proxy_in_its_environment_is_stripped(
    lab: Lab, tmp_path: Path, control: Canary
) -> None:
    egress = lab.egress()
    hostile = {**os.environ, "no_proxy": "*", "NO_PROXY": "*"}
    before = lab.refused()
    url = f"http://127.0.0.1:{lab.canary.port}/x"
    assert aria2(url, egress, tmp_path, env=egress.tool_environment(hostile)) != 0
    assert lab.refused() == before + 1
    # Control: aria2 honours no_proxy from its environment even with --all-proxy.
    aria2(
        f"http://127.0.0.1:{control.port}/x",
        egress,
        tmp_path,
        env={**os.environ, "no_proxy": "127.0.0.1"},
    )
    assert control.wait_for_any(2) > 0
    assert lab.canary.accepted == 0


def test_aria2_per_download_proxy_overrides_are_stripped(lab: Lab, tmp_path: Path, control: Canary) -> None:
    egress = lab.egress()
    overrides = {"all-proxy": "", "no-proxy": "127.0.0.1", "http-proxy": "", "follow-torrent": "true",
                 "check-certificate": "false", "split": "2"}  # fmt: skip
    assert egress.aria2_download_options(overrides) == {"split": "2"}
    target = f"http://127.0.0.1:{lab.canary.port}/x"
    with Aria2Daemon(ARIA2C, tmp_path / "aria2", egress) as daemon:  # the job's own aria2c daemon
        sanitized = egress.aria2_download_options({"dir": str(tmp_path), **overrides})
        assert aria2_outcome(daemon, target, sanitized) == "error"
        assert aria2_outcome(daemon, target, {"all-proxy": "", **sanitized}) == "error"
        # Control: the same override, unsanitized, goes around the proxy.
        daemon.client().add_uri(
            f"http://127.0.0.1:{control.port}/x", {"dir": str(tmp_path), "no-proxy": "127.0.0.1"}
        )
        assert control.wait_for_any(2) > 0
    assert lab.canary.accepted == 0


def test_aria2_does_not_follow_a_torrent_to_its_peers(lab: Lab, tmp_path: Path, control: Canary) -> None:
    url = lab.origin.url(f"/evil/{lab.canary.port}.torrent")
    assert aria2(url, lab.egress(), tmp_path) == 0, "the .torrent is saved as a plain file"
    assert (tmp_path / f"{lab.canary.port}.torrent").read_bytes().startswith(b"d8:announce")
    assert lab.canary.accepted == 0
    # Control: following the torrent, aria2 reaches the peer the tracker named, around the proxy.
    leaky = [ARIA2C, "-q", f"--all-proxy={lab.proxy()}", "--follow-torrent=true", "--seed-time=0",
             "--bt-stop-timeout=5", "-d", str(tmp_path / "bt"), lab.origin.url(f"/evil/{control.port}.torrent")]  # fmt: skip
    process = subprocess.Popen(leaky, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        assert control.wait_for_any(8) > 0
    finally:
        process.kill()
        process.wait(timeout=10)


def test_aria2_does_not_follow_a_metalink(lab: Lab, tmp_path: Path) -> None:
    url = lab.origin.url(f"/evil/{lab.canary.port}.meta4")
    assert aria2(url, lab.egress(), tmp_path) == 0
    assert b"<metalink" in (tmp_path / f"{lab.canary.port}.meta4").read_bytes()
    assert lab.canary.accepted == 0


def test_ffmpeg_concat_lists_and_raw_tcp_inputs_are_refused(
    lab: Lab, control: Canary, tmp_path: Path
) -> None:
    egress = lab.egress()
    concat = lab.origin.url(f"/evil/{lab.canary.port}.ffconcat")
    with pytest.raises(EgressBypass):
        egress.check_ffmpeg(
            [*egress.ffmpeg_input(tmp_path / "media.mp4"), "-f", "concat", "-safe", "0", "-i", concat]
        )
    # The audio step's ffmpeg reads one local file: a concat list saved as the download opens
    # nothing, and a tcp:// "source" is only a file name.
    listing = tmp_path / "media.mp3"
    listing.write_text(f"ffconcat version 1.0\nfile 'tcp://127.0.0.1:{lab.canary.port}'\n")
    raw_tcp = egress.ffmpeg_input(Path(f"tcp://127.0.0.1:{lab.canary.port}"))
    assert raw_tcp[-1].startswith("/")
    for reading in (egress.ffmpeg_input(listing), raw_tcp):
        command = [*reading, "-f", "null", "-"]
        egress.check_ffmpeg(command)
        assert ffmpeg(command) != 0
    # Controls: the whitelist must allow tcp for http to work, so it stops neither of these.
    whitelist = ["-protocol_whitelist", "http,https,tcp,tls,crypto,httpproxy", "-http_proxy", lab.proxy()]
    env = ytdlp_ffmpeg_environment(egress)
    ffmpeg([*whitelist, "-f", "concat", "-safe", "0", "-i", lab.origin.url(f"/evil/{control.port}.ffconcat"),
            "-f", "null", "-"], env=env)  # fmt: skip
    assert control.wait_for_any(2) == 1
    ffmpeg([*whitelist, "-f", "mpegts", "-i", f"tcp://127.0.0.1:{control.port}", "-f", "null", "-"], env=env)
    assert control.wait_for_any(2) == 2
    assert lab.canary.accepted == 0
