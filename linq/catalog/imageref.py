"""Container image references, pinned: a release tag is required, a digest is optional but checked.

Grammar after the distribution reference spec: [domain[:port]/]path[:tag][@sha256:<64 hex>].
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from linq.catalog.errors import BadImageReference

_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_DOMAIN = r"(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*(?::[0-9]+)?)"
_REFERENCE = re.compile(
    rf"^(?:(?P<domain>{_DOMAIN})/)?(?P<path>{_COMPONENT}(?:/{_COMPONENT})*)"
    r"(?::(?P<tag>[\w][\w.-]{0,127}))?(?:@(?P<digest>[a-z0-9]+:[a-zA-Z0-9=_-]+))?$"
)
_SHA256 = re.compile(r"^sha256:[a-f0-9]{64}$")

# Tags that move: a deployment pinned to them is not reproducible and its review is meaningless.
FLOATING_TAGS = frozenset({"latest", "main", "master", "stable", "nightly", "edge", "dev", "develop", "canary"})

_FIX = "pin a released version tag, e.g. postgres:17.11 or ghcr.io/org/app:v1.2.3 (optionally @sha256:<digest>)"


@dataclass(frozen=True)
class ImageRef:
    domain: str | None
    path: str
    tag: str
    digest: str | None

    def __str__(self) -> str:
        base = f"{self.domain}/{self.path}" if self.domain else self.path
        return f"{base}:{self.tag}" + (f"@{self.digest}" if self.digest else "")


def parse_image(reference: str, field: str = "image") -> ImageRef:
    """Parse and check a pinned image reference; raise BadImageReference naming `field`."""
    match = _REFERENCE.match(reference.strip()) if reference else None
    if match is None:
        raise BadImageReference(field, reference, "not a valid image reference", _FIX)
    domain, path = match["domain"], match["path"]
    # "localhost:5000/x" and "host.tld/x" are domains; "library/x" is a path (same rule as docker).
    if domain is not None and "." not in domain and ":" not in domain and domain != "localhost":
        path, domain = f"{domain}/{path}", None
    tag, digest = match["tag"], match["digest"]
    if tag is None:
        raise BadImageReference(field, reference, "the image has no tag", _FIX)
    if tag.lower() in FLOATING_TAGS:
        raise BadImageReference(field, reference, f"the tag {tag!r} moves between releases", _FIX)
    if digest is not None and not _SHA256.match(digest):
        raise BadImageReference(field, reference, "the digest is not sha256:<64 lowercase hex>", _FIX)
    return ImageRef(domain=domain, path=path, tag=tag, digest=digest)
