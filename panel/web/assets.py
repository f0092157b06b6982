"""Static files under content-hashed URLs: `static_url("js/live.js")` in templates gives
`/static/js/live.js?v=<hash>`, and such a URL is cached for a year as immutable.

Hashes are computed once, when the app is built, from the files' bytes, so a changed file
gets a new URL on the next start. A request without the current `?v=` (an old URL, or a
module that another module imports by its bare relative name, as `./socket.js`) is served
with `no-cache`: the browser keeps it but revalidates it (ETag, 304) on each use.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs

from starlette.responses import Response
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

IMMUTABLE = "public, max-age=31536000, immutable"
REVALIDATE = "no-cache"


@dataclass(frozen=True)
class Assets:
    """The content hash of every file under the static folder, by its path there."""

    prefix: str
    hashes: dict[str, str]

    @classmethod
    def scan(cls, directory: Path, prefix: str = "/static") -> Assets:
        """Hash every file once (12 hex digits of SHA-256: enough to tell versions apart)."""
        hashes = {
            path.relative_to(directory).as_posix(): hashlib.sha256(path.read_bytes()).hexdigest()[
                :12
            ]
            for path in sorted(directory.rglob("*"))
            if path.is_file()
        }
        return cls(prefix, hashes)

    def url(self, path: str) -> str:
        """The versioned URL of a static file; an unknown path is a template bug, so raise."""
        try:
            return f"{self.prefix}/{path}?v={self.hashes[path]}"
        except KeyError:
            raise ValueError(f"no static file {path!r}") from None

    def cache_control(self, path: str, query_string: bytes) -> str:
        """Immutable only when the request names the file's current version."""
        version = parse_qs(query_string.decode("latin-1")).get("v", [""])[0]
        current = self.hashes.get(path)
        return IMMUTABLE if current is not None and version == current else REVALIDATE


class HashedStaticFiles(StaticFiles):
    """StaticFiles that sends Cache-Control according to `Assets.cache_control`."""

    def __init__(self, *, directory: Path, assets: Assets) -> None:
        super().__init__(directory=str(directory))
        self.assets = assets

    def file_response(
        self,
        full_path: str | os.PathLike[str],
        stat_result: os.stat_result,
        scope: Scope,
        status_code: int = 200,
    ) -> Response:
        response = super().file_response(full_path, stat_result, scope, status_code)
        path = Path(self.get_path(scope)).as_posix()
        response.headers["Cache-Control"] = self.assets.cache_control(
            path, scope.get("query_string", b"")
        )
        return response
