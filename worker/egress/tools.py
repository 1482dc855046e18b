"""What the egress guard hands one job's tools: `ToolEgress`, one object every engine takes its
settings from, so that what the tests check is what the job runs with.

The guard builds it for a job (`EgressProxy.tool_egress`); with the guard switched off the job
gets `ToolEgress()`, which has no proxy but closes the same doors. It closes the ways around a
proxy that were found on these tools:

- proxy variables in the environment: ffmpeg and aria2 honour `no_proxy` even with an explicit
  proxy, and the ffmpeg that yt-dlp starts inherits the worker's environment. Every proxy
  variable, in any case, is removed; each tool gets its proxy from its own options;
- a per-download `all-proxy=""` or `no-proxy` in aria2, and aria2's BitTorrent peers (DHT, local
  peer discovery, peer exchange, and a `.torrent` or Metalink file that aria2 would follow);
- yt-dlp options that route requests elsewhere or run another downloader;
- ffmpeg inputs other than the one local file of the audio step: a `tcp://` input, which any
  whitelist that lets http work allows (http runs on tcp), a concat list with `-safe 0` that
  opens entries like `tcp://`, and lavfi's `movie` source, which opens files with no whitelist.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping, MutableMapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# Compared in lower case: a tool may read any spelling (Python's urllib does).
PROXY_VARIABLES = frozenset({"http_proxy", "https_proxy", "ftp_proxy", "all_proxy", "no_proxy"})
YTDLP_BYPASS_OPTIONS = ("geo_verification_proxy", "external_downloader", "external_downloader_args")
ARIA2_PROXY_OPTIONS = ("all-proxy", "http-proxy", "https-proxy", "ftp-proxy")
# Peers would be contacted directly, around any proxy.
ARIA2_PEERS_OFF = {
    "follow-torrent": "false",
    "follow-metalink": "false",
    "enable-dht": "false",
    "enable-dht6": "false",
    "bt-enable-lpd": "false",
    "enable-peer-exchange": "false",
}
# Demuxers a downloaded audio or video file can need; none of them opens a second file.
FFMPEG_SOURCE_FORMATS = "mov,matroska,ogg,mp3,aac,flac,wav,mpegts,flv,asf,avi,aiff"

_PROXY_URL = re.compile(r"^http://[^/\s]+$")
_ARIA2_STRIPPED_EXACT = frozenset(
    {"no-proxy", "proxy-method", "check-certificate", "ca-certificate", "certificate", "private-key",
     "min-tls-version", "enable-dht", "enable-dht6", "enable-peer-exchange", "interface",
     "multiple-interface", "async-dns-server", "dht-entry-point", "dht-entry-point6"}
)  # fmt: skip
# all-proxy, http-proxy-user, ..., follow-torrent, bt-*, seed-*, metalink-*, on-download-*, rpc-*
_ARIA2_STRIPPED = re.compile(r"(^|-)proxy(-|$)|^(follow|bt|seed|metalink|on|rpc|dht)-")
_ARIA2_OPTION_NAME = re.compile(r"^[a-z0-9][a-z0-9-]*$")


class EgressBypass(ValueError):
    """Tool settings that would reach the network, or a file, around the egress guard."""


@dataclass(frozen=True)
class ToolEgress:
    """One job's way out: `proxy_url` (`http://JOB_ID:TOKEN@host:port`, None without a guard) and,
    when the job's tools run in an isolated network namespace, the guard's `unix_path`."""

    proxy_url: str | None = None
    unix_path: str | None = None

    def __post_init__(self) -> None:
        if self.proxy_url is not None and not _PROXY_URL.match(self.proxy_url):
            raise EgressBypass("the egress proxy must be an http:// URL without a path")

    def relayed_through(self, port: int) -> ToolEgress:
        """These settings for tools inside the isolated namespace, whose way to the guard is the
        bridge on 127.0.0.1:`port` (the same credentials, another address)."""
        if self.proxy_url is None:
            raise EgressBypass("an unguarded job has no proxy to relay to")
        credentials = self.proxy_url.removeprefix("http://").rpartition("@")[0]
        return dataclasses.replace(self, proxy_url=f"http://{credentials}@127.0.0.1:{port}")

    def scrub_process_environment(self, env: MutableMapping[str, str]) -> None:
        """Remove every proxy variable from the job's own environment, in place, when guarded: the
        tools yt-dlp starts inherit it, and yt-dlp hands them its proxy itself. Unguarded, the
        operator's settings stay."""
        if self.proxy_url is not None:
            for name in [name for name in env if name.lower() in PROXY_VARIABLES]:
                del env[name]

    def tool_environment(self, base: Mapping[str, str]) -> dict[str, str]:
        """The environment of a tool the worker starts itself (aria2c): `base` without any proxy
        variable, guarded or not, so the proxy in the tool's options is its only way out."""
        return {name: value for name, value in base.items() if name.lower() not in PROXY_VARIABLES}

    def ytdlp_options(self, options: Mapping[str, Any]) -> dict[str, Any]:
        """`options` with every request through the proxy and a refused fragment failing the
        download (not a silently truncated file). Raises EgressBypass for options that route
        requests elsewhere or run another downloader. Unguarded: `options` as they are."""
        if self.proxy_url is None:
            return dict(options)
        guarded = {**options, "proxy": self.proxy_url, "skip_unavailable_fragments": False}
        for name in YTDLP_BYPASS_OPTIONS:
            if guarded.get(name):
                raise EgressBypass(f"yt-dlp option {name} would bypass the egress proxy")
        return guarded

    def aria2_global_options(self) -> dict[str, str]:
        """aria2c's global options: the proxy (when guarded), and no BitTorrent or Metalink peers.

        The proxy is set for each protocol as well as for all: a per-download `all-proxy=""` that
        got past `aria2_download_options` would clear `all-proxy`, but not these."""
        options = dict(ARIA2_PEERS_OFF)
        if self.proxy_url is not None:
            for name in ARIA2_PROXY_OPTIONS:
                options[name] = self.proxy_url
        return options

    def aria2_download_options(self, options: Mapping[str, Any]) -> dict[str, Any]:
        """Per-download options (addUri) without anything that changes proxies, TLS checks,
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

    def ffmpeg_input(self, source: Path) -> list[str]:
        """The reading half of every ffmpeg and ffprobe call of the audio step: one local file in a
        single-file container, by absolute path (a name starting with `-` is never an option)."""
        return [
            "-protocol_whitelist", "file",
            "-format_whitelist", FFMPEG_SOURCE_FORMATS,
            "-i", str(source.absolute()),
        ]  # fmt: skip

    def check_ffmpeg(self, command: Sequence[str]) -> None:
        """Refuse the concat demuxer and protocol, `-safe`, and filters that open their own inputs."""
        formats = [command[i + 1] for i, arg in enumerate(command[:-1]) if arg == "-f"]
        if any(f in ("concat", "ffconcat") for f in formats):
            raise EgressBypass("the concat demuxer can open any protocol")
        if "-safe" in command:
            raise EgressBypass("-safe is only used with concat lists")
        for arg in command:
            protocol = re.match(r"^(concat|concatf|subfile|ffconcat)[,:]", arg)
            if protocol:
                raise EgressBypass(f"{protocol.group(1)} inputs are not allowed")
            if re.search(r"(^|[,;\[\]\s])a?movie=", arg):
                raise EgressBypass("the movie filter opens inputs without a protocol whitelist")
