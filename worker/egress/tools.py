"""Tool settings that send every connection of yt-dlp, aria2c and ffmpeg through the egress proxy,
and close the ways around it that were found on these tools:

- the `no_proxy` environment variable (ffmpeg and aria2 honour it even with an explicit proxy,
  and the ffmpeg that yt-dlp starts inherits the worker's environment);
- a per-download `all-proxy=""` or `no-proxy` in aria2, and aria2's BitTorrent peers (DHT, local
  peer discovery, peer exchange, and a `.torrent` or Metalink file that aria2 would follow);
- ffmpeg inputs that are not http(s): a `tcp://` input is allowed by any whitelist that lets http
  work (http runs on tcp), a concat list with `-safe 0` opens entries like `tcp://`, and lavfi's
  `movie` source opens files with no whitelist at all.

Call `assert_no_concat` and `assert_http_inputs` on the final ffmpeg argument list.
"""

from __future__ import annotations

import importlib.util
import re
from collections.abc import Mapping, MutableMapping, Sequence
from typing import Any

PROXY_VARIABLES = ("http_proxy", "https_proxy")
# Variables that would send a tool around the proxy, or to another proxy.
BYPASS_VARIABLES = ("no_proxy", "NO_PROXY", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "all_proxy",
                    "FTP_PROXY", "ftp_proxy")  # fmt: skip
FFMPEG_PROTOCOLS = "http,https,tcp,tls,crypto,httpproxy"

_ARIA2_STRIPPED_EXACT = frozenset(
    {"no-proxy", "proxy-method", "check-certificate", "ca-certificate", "certificate", "private-key",
     "min-tls-version", "enable-dht", "enable-dht6", "enable-peer-exchange", "interface",
     "multiple-interface", "async-dns-server", "dht-entry-point", "dht-entry-point6"}
)  # fmt: skip
# all-proxy, http-proxy-user, ..., follow-torrent, bt-*, seed-*, metalink-*, on-download-*, rpc-*
_ARIA2_STRIPPED = re.compile(r"(^|-)proxy(-|$)|^(follow|bt|seed|metalink|on|rpc|dht)-")
_ARIA2_OPTION_NAME = re.compile(r"^[a-z0-9][a-z0-9-]*$")


class EgressBypass(ValueError):
    """Tool arguments that would reach the network without the egress proxy."""


def scrub_environment(env: MutableMapping[str, str], proxy_url: str) -> None:
    """Point `env` at the proxy and drop every variable that could bypass it, in place.

    Use it on `os.environ` in the job's process before yt-dlp runs: the ffmpeg yt-dlp starts
    for some HLS streams inherits that environment."""
    for name in BYPASS_VARIABLES:
        env.pop(name, None)
    for name in PROXY_VARIABLES:  # lower case: ffmpeg ignores HTTP_PROXY
        env[name] = proxy_url


def tool_environment(base_env: Mapping[str, str], proxy_url: str) -> dict[str, str]:
    """The environment for a tool's subprocess: `base_env` through the proxy, with no bypass."""
    env = dict(base_env)
    scrub_environment(env, proxy_url)
    return env


def aes_hls_in_process() -> bool:
    """Whether yt-dlp decrypts AES-128 HLS itself (pycryptodomex installed). Without it, yt-dlp
    hands such streams to an ffmpeg that has no protocol whitelist and inherits the environment."""
    return importlib.util.find_spec("Cryptodome") is not None


def ytdlp_options(proxy_url: str) -> dict[str, Any]:
    """Options to merge over yt-dlp's, last: every request through the proxy, and a refused
    fragment fails the download instead of leaving a silently truncated file."""
    return {"proxy": proxy_url, "skip_unavailable_fragments": False}


def check_ytdlp_options(options: Mapping[str, Any]) -> None:
    """Refuse yt-dlp options that route requests elsewhere or run another downloader."""
    for name in ("geo_verification_proxy", "external_downloader", "external_downloader_args"):
        if options.get(name):
            raise EgressBypass(f"yt-dlp option {name} would bypass the egress proxy")
    if options.get("proxy") in (None, ""):
        raise EgressBypass("yt-dlp has no proxy")


def aria2_global_options(proxy_url: str) -> dict[str, str]:
    """aria2c's global options (command line as `--name=value`, or RPC changeGlobalOption)."""
    return {
        "all-proxy": proxy_url,
        "follow-torrent": "false",
        "follow-metalink": "false",
        "enable-dht": "false",
        "enable-dht6": "false",
        "bt-enable-lpd": "false",
        "enable-peer-exchange": "false",
    }


def sanitize_aria2_download_options(options: Mapping[str, Any]) -> dict[str, Any]:
    """The per-download options (addUri) without anything that changes proxies, TLS checks,
    BitTorrent or Metalink handling, hooks or the network interface; unknown-looking names too."""
    kept: dict[str, Any] = {}
    for name, value in options.items():
        key = str(name).strip().lower()
        if not _ARIA2_OPTION_NAME.match(key) or key != name:
            continue
        if key in _ARIA2_STRIPPED_EXACT or _ARIA2_STRIPPED.search(key):
            continue
        kept[key] = value
    return kept


def ffmpeg_input_args(proxy_url: str, input_format: str) -> list[str]:
    """Arguments to put before ffmpeg's `-i URL`: http(s) only, through the proxy, format forced."""
    if not re.fullmatch(r"[a-z0-9_]+", input_format) or input_format in ("concat", "lavfi"):
        raise EgressBypass(f"input format {input_format!r} is not allowed")
    return ["-protocol_whitelist", FFMPEG_PROTOCOLS, "-http_proxy", proxy_url, "-f", input_format]


def _option_values(args: Sequence[str], option: str) -> list[str]:
    return [args[i + 1] for i, arg in enumerate(args[:-1]) if arg == option]


def assert_no_concat(args: Sequence[str]) -> None:
    """Refuse the concat demuxer and protocol, `-safe`, and filters that open their own inputs."""
    formats = _option_values(args, "-f")
    if any(f in ("concat", "ffconcat") for f in formats):
        raise EgressBypass("the concat demuxer can open any protocol")
    if "-safe" in args:
        raise EgressBypass("-safe is only used with concat lists")
    for arg in args:
        protocol = re.match(r"^(concat|concatf|subfile|ffconcat)[,:]", arg)
        if protocol:
            raise EgressBypass(f"{protocol.group(1)} inputs are not allowed")
        if re.search(r"(^|[,;\[\]\s])a?movie=", arg):
            raise EgressBypass("the movie filter opens inputs without a protocol whitelist")


def assert_http_inputs(args: Sequence[str]) -> None:
    """Every `-i` is an http(s) URL, preceded by its own whitelist and proxy; no lavfi input."""
    if "lavfi" in _option_values(args, "-f"):
        raise EgressBypass("lavfi inputs are not allowed")
    starts = [i for i, arg in enumerate(args[:-1]) if arg == "-i"]
    if not starts:
        raise EgressBypass("no input")
    previous = 0
    for start in starts:
        url, options = args[start + 1], args[previous:start]
        previous = start + 2
        if not re.match(r"^https?://", url, re.IGNORECASE):
            raise EgressBypass(f"input {url[:64]!r} is not an http(s) URL")
        if FFMPEG_PROTOCOLS not in _option_values(options, "-protocol_whitelist"):
            raise EgressBypass(f"input {url[:64]!r} needs -protocol_whitelist {FFMPEG_PROTOCOLS}")
        if not _option_values(options, "-http_proxy"):
            raise EgressBypass(f"input {url[:64]!r} needs -http_proxy")
