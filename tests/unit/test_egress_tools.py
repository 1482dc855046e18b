from __future__ import annotations

import pytest

from worker.egress.tools import (
    BYPASS_VARIABLES,
    EgressBypass,
    aria2_global_options,
    assert_http_inputs,
    assert_no_concat,
    check_ytdlp_options,
    ffmpeg_input_args,
    sanitize_aria2_download_options,
    scrub_environment,
    tool_environment,
    ytdlp_options,
)

PROXY = "http://job-1:token@127.0.0.1:3128"


def test_tool_environment_points_at_the_proxy_and_drops_every_bypass() -> None:
    base = {name: "*" for name in BYPASS_VARIABLES} | {"PATH": "/usr/bin", "http_proxy": "http://other"}
    env = tool_environment(base, PROXY)
    assert env == {"PATH": "/usr/bin", "http_proxy": PROXY, "https_proxy": PROXY}
    assert base["no_proxy"] == "*", "the base mapping is not changed"


def test_scrub_environment_changes_the_mapping_in_place() -> None:
    env = {"NO_PROXY": "127.0.0.1", "HOME": "/root"}
    scrub_environment(env, PROXY)
    assert env == {"HOME": "/root", "http_proxy": PROXY, "https_proxy": PROXY}


def test_ytdlp_options_force_the_proxy_and_complete_fragments() -> None:
    options = ytdlp_options(PROXY)
    assert options == {"proxy": PROXY, "skip_unavailable_fragments": False}
    check_ytdlp_options(options)
    for bad in (
        {"geo_verification_proxy": "http://x"},
        {"external_downloader": {"default": "curl"}},
        {"proxy": ""},
    ):
        with pytest.raises(EgressBypass):
            check_ytdlp_options({**options, **bad})


def test_aria2_global_options_close_bittorrent_and_metalink() -> None:
    options = aria2_global_options(PROXY)
    assert options["all-proxy"] == PROXY
    for name in ("follow-torrent", "follow-metalink", "enable-dht", "enable-dht6", "bt-enable-lpd",
                 "enable-peer-exchange"):  # fmt: skip
        assert options[name] == "false", name


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
    assert sanitize_aria2_download_options({**hostile, **safe}) == safe


def test_ffmpeg_input_args_whitelist_proxy_and_format() -> None:
    args = ffmpeg_input_args(PROXY, "hls")
    assert args == [
        "-protocol_whitelist",
        "http,https,tcp,tls,crypto,httpproxy",
        "-http_proxy",
        PROXY,
        "-f",
        "hls",
    ]
    for bad in ("concat", "lavfi", "hls -i x", ""):
        with pytest.raises(EgressBypass):
            ffmpeg_input_args(PROXY, bad)


def test_concat_and_filters_that_open_inputs_are_refused() -> None:
    base = [*ffmpeg_input_args(PROXY, "mp4"), "-i", "https://example.com/v.mp4"]
    assert_no_concat([*base, "-c", "copy", "out.mp4"])
    for extra in (["-f", "concat"], ["-f", "ffconcat"], ["-safe", "0"], ["-i", "concat:a.ts|b.ts"],
                  ["-i", "subfile,,start,0,end,1,,:x"], ["-filter_complex", "movie=tcp\\://127.0.0.1\\:1[v]"],
                  ["-vf", "scale=2:2,amovie=x"]):  # fmt: skip
        with pytest.raises(EgressBypass):
            assert_no_concat([*base, *extra])


def test_only_http_inputs_each_with_whitelist_and_proxy() -> None:
    video = [*ffmpeg_input_args(PROXY, "mp4"), "-i", "https://example.com/v.mp4"]
    audio = [*ffmpeg_input_args(PROXY, "mp4"), "-i", "http://example.com/a.m4a"]
    assert_http_inputs([*video, *audio, "-map", "0:v", "-map", "1:a", "out.mkv"])
    for bad in (
        [*ffmpeg_input_args(PROXY, "mpegts"), "-i", "tcp://127.0.0.1:1"],
        [*ffmpeg_input_args(PROXY, "mp4"), "-i", "file:///etc/passwd"],
        [*ffmpeg_input_args(PROXY, "mp4"), "-i", "/etc/passwd"],
        [*video, "-i", "https://example.com/a.m4a"],  # the second input has no whitelist
        ["-http_proxy", PROXY, "-i", "https://example.com/v.mp4"],
        ["-protocol_whitelist", "http,https,tcp,tls,crypto,httpproxy", "-i", "https://example.com/v.mp4"],
        [*video, "-f", "lavfi", "-i", "testsrc"],
        ["out.mp4"],
    ):
        with pytest.raises(EgressBypass):
            assert_http_inputs(bad)
