"""The RQ workers that run yt-dlp, aria2 and ffmpeg. Not built yet; see the README."""
