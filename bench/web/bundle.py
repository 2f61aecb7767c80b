"""What a first visit downloads before the app can draw: index.html's module script and the modules it preloads."""
from __future__ import annotations

import gzip
import re
from pathlib import Path

_INITIAL = re.compile(r'<(?:script[^>]*\bsrc|link[^>]*rel="modulepreload"[^>]*\bhref)="(/assets/[^"]+\.js)"')


def gzipped(path: Path) -> int:
    return len(gzip.compress(path.read_bytes(), compresslevel=9))


def bundle_sizes(dist: Path) -> dict:
    """Initial JS (raw and gzipped bytes, its files) and every lazily loaded chunk's gzipped size."""
    html = (dist / "index.html").read_text()
    initial = sorted(set(_INITIAL.findall(html)))
    if not initial:
        raise RuntimeError(f"no module script in {dist / 'index.html'}: is the app built?")
    files = {name: dist / name.lstrip("/") for name in initial}
    lazy = {p.name: gzipped(p) for p in sorted((dist / "assets").glob("*.js")) if f"/assets/{p.name}" not in files}
    return {"initial_files": list(files), "initial_raw": sum(p.stat().st_size for p in files.values()),
            "initial_gzip": sum(gzipped(p) for p in files.values()), "lazy_gzip": lazy}
