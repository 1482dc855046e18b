"""The egress guard: workers reach only public addresses, through a proxy that checks each connection.

Typical use in a job's process:

    handle = EgressProxy(EgressPolicy(allowed_networks), max_connections_per_job=16).run_in_thread()
    proxy_url = handle.url_for(job_id)
    scrub_environment(os.environ, proxy_url)   # the ffmpeg yt-dlp starts inherits it
    ... ytdlp_options(proxy_url), aria2_global_options(proxy_url), ffmpeg_input_args(proxy_url, fmt)
    handle.stop()
"""

from worker.egress.limits import EgressStats, EgressTimeouts
from worker.egress.policy import EgressPolicy
from worker.egress.proxy import EgressProxy
from worker.egress.relay import RelayMode
from worker.egress.thread import EgressProxyThread
from worker.egress.tools import (
    EgressBypass,
    aes_hls_in_process,
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

__all__ = [
    "EgressBypass",
    "EgressPolicy",
    "EgressProxy",
    "EgressProxyThread",
    "EgressStats",
    "EgressTimeouts",
    "RelayMode",
    "aes_hls_in_process",
    "aria2_global_options",
    "assert_http_inputs",
    "assert_no_concat",
    "check_ytdlp_options",
    "ffmpeg_input_args",
    "sanitize_aria2_download_options",
    "scrub_environment",
    "tool_environment",
    "ytdlp_options",
]
