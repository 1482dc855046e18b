"""Code every haul process shares at run time: logging, start-up checks, the settings base."""
