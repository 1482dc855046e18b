"""`ToolEgress`: the one object the guard hands a job, which every engine takes its settings from."""

from __future__ import annotations

from pathlib import Path

import pytest

from haul.contract.events import JobSpec
from worker.aria2d import Aria2Daemon
from worker.egress.tools import (
    ARIA2_PROXY_OPTIONS,
    FFMPEG_SOURCE_FORMATS,
    PROXY_VARIABLES,
    EgressBypass,
    ToolEgress,
)
from worker.engines.ytdlp import YtDlpEngine

PROXY = "http://job-1:token@127.0.0.1:3128"
GUARDED, UNGUARDED = ToolEgress(PROXY), ToolEgress()
EVERY_SPELLING = {spelling for name in PROXY_VARIABLES for spelling in (name, name.upper(), name.title())}


def test_a_tool_the_worker_starts_gets_no_proxy_variable_in_any_spelling() -> None:
    base = {name: "*" for name in EVERY_SPELLING} | {"PATH": "/usr/bin", "http_proxy": "http://other"}
    for egress in (GUARDED, UNGUARDED):
        assert egress.tool_environment(base) == {"PATH": "/usr/bin"}
    assert base["no_proxy"] == "*", "the base mapping is not changed"


def test_the_jobs_own_environment_loses_every_proxy_variable_in_place_when_guarded() -> None:
    env = {name: "127.0.0.1" for name in EVERY_SPELLING} | {"HOME": "/root"}
    GUARDED.scrub_process_environment(env)
    assert env == {"HOME": "/root"}
    operator = {"HTTPS_PROXY": "http://corporate:3128", "HOME": "/root"}
    UNGUARDED.scrub_process_environment(operator)
    assert operator == {"HTTPS_PROXY": "http://corporate:3128", "HOME": "/root"}, "no guard: left alone"


def test_ytdlp_options_force_the_proxy_and_complete_fragments() -> None:
    options = GUARDED.ytdlp_options({"quiet": True, "proxy": "", "skip_unavailable_fragments": True})
    assert options == {"quiet": True, "proxy": PROXY, "skip_unavailable_fragments": False}
    for bad in (
        {"geo_verification_proxy": "http://x"},
        {"external_downloader": {"default": "curl"}},
        {"external_downloader_args": {"ffmpeg_i": ["-http_proxy", ""]}},
    ):
        with pytest.raises(EgressBypass):
            GUARDED.ytdlp_options({"quiet": True, **bad})
    for bad_proxy in ("", "socks5://127.0.0.1:1080", "http://127.0.0.1:3128/path"):
        with pytest.raises(EgressBypass):
            ToolEgress(bad_proxy)
    assert UNGUARDED.ytdlp_options({"quiet": True}) == {"quiet": True}


def test_the_ytdlp_engine_runs_with_exactly_these_options(tmp_path: Path) -> None:
    engine = YtDlpEngine("/usr/bin/ffmpeg", 2, GUARDED)
    options = engine.options(JobSpec(url="http://example.com/v", type="video"), tmp_path, {})
    assert options["proxy"] == PROXY and options["skip_unavailable_fragments"] is False
    assert options == GUARDED.ytdlp_options(options)


def test_aria2_global_options_close_bittorrent_and_metalink() -> None:
    peers_off = ("follow-torrent", "follow-metalink", "enable-dht", "enable-dht6", "bt-enable-lpd",
                 "enable-peer-exchange")  # fmt: skip
    for egress in (GUARDED, UNGUARDED):
        options = egress.aria2_global_options()
        for name in peers_off:
            assert options[name] == "false", name
    # Each protocol's proxy too: a per-download all-proxy="" clears only all-proxy.
    assert {name: GUARDED.aria2_global_options()[name] for name in ARIA2_PROXY_OPTIONS} == dict.fromkeys(
        ("all-proxy", "http-proxy", "https-proxy", "ftp-proxy"), PROXY
    )
    assert not {name for name in UNGUARDED.aria2_global_options() if "proxy" in name}


def test_the_aria2_daemon_is_configured_with_exactly_these_options(tmp_path: Path) -> None:
    daemon = Aria2Daemon("aria2c", tmp_path, GUARDED)
    options = daemon.options(6800)
    assert options.items() >= GUARDED.aria2_global_options().items()
    assert {name for name in options if "proxy" in name} == set(ARIA2_PROXY_OPTIONS)


def test_per_download_overrides_are_stripped_and_the_rest_kept() -> None:
    hostile = {
        "all-proxy": "", "http-proxy": "http://x", "https-proxy": "http://x", "ftp-proxy": "http://x",
        "no-proxy": "127.0.0.1", "all-proxy-user": "u", "http-proxy-passwd": "p", "proxy-method": "get",
        "check-certificate": "false", "ca-certificate": "/tmp/ca", "certificate": "c", "private-key": "k",
        "follow-torrent": "true", "follow-metalink": "mem", "bt-tracker": "http://x", "enable-dht": "true",
        "seed-time": "10", "metalink-base-uri": "http://x", "on-download-complete": "/bin/sh",
        "interface": "lo", "ALL-PROXY": "", "all_proxy": "", " all-proxy": "",
    }  # fmt: skip
    safe = {"dir": "/data/job", "out": "file.bin", "split": "4", "max-connection-per-server": "4",
            "header": ["Referer: https://example.com/"], "continue": "true"}  # fmt: skip
    for egress in (GUARDED, UNGUARDED):
        assert egress.aria2_download_options({**hostile, **safe}) == safe


def test_ffmpeg_reads_one_local_file_by_absolute_path_in_a_single_file_container(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    for egress in (GUARDED, UNGUARDED):
        args = egress.ffmpeg_input(Path("-y.m4a"))
        assert args == ["-protocol_whitelist", "file", "-format_whitelist", FFMPEG_SOURCE_FORMATS,
                        "-i", str(tmp_path / "-y.m4a")]  # fmt: skip
        assert egress.ffmpeg_input(Path("tcp://127.0.0.1:1"))[-1].startswith(str(tmp_path))
    demuxers = set(FFMPEG_SOURCE_FORMATS.split(","))
    assert not demuxers & {"concat", "ffconcat", "lavfi", "hls", "dash", "tee", "subfile", "image2", "sdp"}


def test_concat_and_filters_that_open_inputs_are_refused() -> None:
    base = [*GUARDED.ffmpeg_input(Path("/work/job/media.webm")), "-map", "0:a:0"]
    GUARDED.check_ffmpeg([*base, "-c", "copy", "out.mp4"])
    for extra in (["-f", "concat"], ["-f", "ffconcat"], ["-safe", "0"], ["-i", "concat:a.ts|b.ts"],
                  ["-i", "subfile,,start,0,end,1,,:x"], ["-filter_complex", "movie=tcp\\://127.0.0.1\\:1[v]"],
                  ["-vf", "scale=2:2,amovie=x"]):  # fmt: skip
        for egress in (GUARDED, UNGUARDED):
            with pytest.raises(EgressBypass):
                egress.check_ffmpeg([*base, *extra])


def test_tools_in_the_isolated_namespace_keep_the_jobs_credentials_on_the_bridges_address() -> None:
    egress = ToolEgress(PROXY, unix_path="/tmp/haul-egress-x/guard.sock")
    relayed = egress.relayed_through(40123)
    assert relayed.proxy_url == "http://job-1:token@127.0.0.1:40123"
    assert relayed.aria2_global_options()["all-proxy"] == relayed.proxy_url
    with pytest.raises(EgressBypass):
        UNGUARDED.relayed_through(40123)
