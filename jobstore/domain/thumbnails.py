"""What jobstore keeps of a job's thumbnail: the fact that a copy was saved, never a site's URL.

A browser must never load an address a remote site chose (issue 11): it would fetch it from
inside the user's network, where no egress guard looks, and no check of the URL's text can tell
a public-looking name that resolves to a private address. So the worker fetches the thumbnail
itself, through the job's egress guard, and saves a copy beside the file
(`haul.contract.thumbnails`); the gateway serves that copy. What jobstore stores in
`meta.thumbnail` is that copy's name (`.thumbnail.jpg`, ...), which is all the gateway needs to
serve it with the right type. Anything else a worker sends there, such as a remote URL, is
stored as no thumbnail: blanked rather than refused, because the rest of the event (progress,
the finished file) is good and must not be lost over a picture.
"""

from __future__ import annotations

from haul.contract.thumbnails import is_thumbnail_name


def shown_thumbnail(value: str) -> str:
    """The thumbnail to store: `value` when it names a saved copy, else ""."""
    return value if is_thumbnail_name(value) else ""
