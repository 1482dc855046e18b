"""The ways around a proxy, closed: no_proxy in the environment, aria2's per-download overrides,
torrents and Metalinks, ffmpeg's concat lists and raw tcp inputs. Control tests aim the same tricks
at a second canary without the guard's settings, to prove each trick is real.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tests.support.egress_clients import ARIA2C, Aria2Rpc, aria2, ffmpeg, ytdlp
from tests.support.egress_lab import Lab
from tests.support.egress_targets import Canary
from worker.egress.tools import (
    EgressBypass,
    assert_http_inputs,
    assert_no_concat,
    ffmpeg_input_args,
    sanitize_aria2_download_options,
    tool_environment,
)

pytest_plugins = ["tests.support.egress_fixtures"]


def test_no_proxy_variables_are_stripped_and_ffmpeg_still_goes_through_the_guard(
    lab: Lab, control: Canary
) -> None:
    hostile = {**os.environ, "no_proxy": "*", "NO_PROXY": "127.0.0.1", "HTTP_PROXY": "", "ALL_PROXY": ""}
    env = tool_environment(hostile, lab.proxy())
    assert not {"no_proxy", "NO_PROXY", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "all_proxy"} & env.keys()
    assert env["http_proxy"] == env["https_proxy"] == lab.proxy()
    args = [
        *ffmpeg_input_args(lab.proxy(), "mp4"),
        "-i",
        f"http://127.0.0.1:{lab.canary.port}/",
        "-f",
        "null",
        "-",
    ]
    before = lab.refused()
    assert ffmpeg(args, env=env) != 0
    assert lab.refused() == before + 1, "ffmpeg asked the guard"
    # Control: with no_proxy left in, ffmpeg goes straight to the target despite -http_proxy.
    leaky = [
        *ffmpeg_input_args(lab.proxy(), "mp4"),
        "-i",
        f"http://127.0.0.1:{control.port}/",
        "-f",
        "null",
        "-",
    ]
    ffmpeg(leaky, env={**env, "no_proxy": "127.0.0.1"})
    assert control.wait_for_any(2) > 0
    assert lab.canary.accepted == 0


def test_ytdlp_ignores_no_proxy_in_its_environment(
    lab: Lab, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("no_proxy", "*")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    before = lab.refused()
    assert ytdlp(f"http://127.0.0.1:{lab.canary.port}/v.mp4", lab.proxy(), tmp_path) is None
    assert lab.refused() > before
    assert lab.canary.accepted == 0


def test_aria2_with_no_proxy_in_its_environment_is_stripped(
    lab: Lab, tmp_path: Path, control: Canary
) -> None:
    hostile = {**os.environ, "no_proxy": "*", "NO_PROXY": "*"}
    before = lab.refused()
    assert (
        aria2(
            f"http://127.0.0.1:{lab.canary.port}/x",
            lab.proxy(),
            tmp_path,
            env=tool_environment(hostile, lab.proxy()),
        )
        != 0
    )
    assert lab.refused() == before + 1
    # Control: aria2 honours no_proxy from its environment even with --all-proxy.
    aria2(
        f"http://127.0.0.1:{control.port}/x",
        lab.proxy(),
        tmp_path,
        env={**os.environ, "no_proxy": "127.0.0.1"},
    )
    assert control.wait_for_any(2) > 0
    assert lab.canary.accepted == 0


def test_aria2_per_download_proxy_overrides_are_stripped(lab: Lab, tmp_path: Path, control: Canary) -> None:
    overrides = {"all-proxy": "", "no-proxy": "127.0.0.1", "http-proxy": "", "follow-torrent": "true",
                 "check-certificate": "false", "split": "2"}  # fmt: skip
    assert sanitize_aria2_download_options(overrides) == {"split": "2"}
    rpc = Aria2Rpc(lab.proxy(), tmp_path)
    try:
        sanitized = sanitize_aria2_download_options(overrides)
        assert rpc.download(f"http://127.0.0.1:{lab.canary.port}/x", sanitized) == "error"
        assert (
            rpc.download(f"http://127.0.0.1:{lab.canary.port}/x", {"all-proxy": "", **sanitized}) == "error"
        )
        # Control: the same override, unsanitized, goes around the proxy.
        rpc.download(f"http://127.0.0.1:{control.port}/x", {"no-proxy": "127.0.0.1"})
        assert control.wait_for_any(2) > 0
    finally:
        rpc.close()
    assert lab.canary.accepted == 0


def test_aria2_does_not_follow_a_torrent_to_its_peers(lab: Lab, tmp_path: Path, control: Canary) -> None:
    url = lab.origin.url(f"/evil/{lab.canary.port}.torrent")
    assert aria2(url, lab.proxy(), tmp_path) == 0, "the .torrent is saved as a plain file"
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
    assert aria2(url, lab.proxy(), tmp_path) == 0
    assert b"<metalink" in (tmp_path / f"{lab.canary.port}.meta4").read_bytes()
    assert lab.canary.accepted == 0


def test_ffmpeg_concat_lists_and_raw_tcp_inputs_are_refused(lab: Lab, control: Canary) -> None:
    concat = lab.origin.url(f"/evil/{lab.canary.port}.ffconcat")
    with pytest.raises(EgressBypass):
        ffmpeg_input_args(lab.proxy(), "concat")
    with pytest.raises(EgressBypass):
        assert_no_concat([*ffmpeg_input_args(lab.proxy(), "mp4"), "-f", "concat", "-safe", "0", "-i", concat])
    with pytest.raises(EgressBypass):
        assert_http_inputs(
            [*ffmpeg_input_args(lab.proxy(), "mpegts"), "-i", f"tcp://127.0.0.1:{lab.canary.port}"]
        )
    # Controls: the whitelist must allow tcp for http to work, so it stops neither of these.
    whitelist = ["-protocol_whitelist", "http,https,tcp,tls,crypto,httpproxy", "-http_proxy", lab.proxy()]
    env = tool_environment(os.environ, lab.proxy())
    ffmpeg([*whitelist, "-f", "concat", "-safe", "0", "-i", lab.origin.url(f"/evil/{control.port}.ffconcat"),
            "-f", "null", "-"], env=env)  # fmt: skip
    assert control.wait_for_any(2) == 1
    ffmpeg([*whitelist, "-f", "mpegts", "-i", f"tcp://127.0.0.1:{control.port}", "-f", "null", "-"], env=env)
    assert control.wait_for_any(2) == 2
    assert lab.canary.accepted == 0
