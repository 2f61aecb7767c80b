"""Printed forms: seconds to turn one document's data into PDF bytes, through services.billing.documents.render_pdf
and bare (the same HTML through `HTML(string=html).write_pdf()`, nothing cached: a fresh font configuration, the
inline stylesheet parsed each time), each the median of `repeats` timed runs after one untimed warm-up run (imports,
fontconfig's first font load). Alternate the two (repeats=1 in a loop) when comparing them on a busy machine."""
from __future__ import annotations

import time

from weasyprint import HTML

from bench.common.report import median
from services.billing.documents import render_html, render_pdf


def _median_seconds(render, repeats: int) -> float:
    render()  # warm-up, untimed
    seconds = []
    for _ in range(repeats):
        start = time.perf_counter()
        render()
        seconds.append(time.perf_counter() - start)
    return median(seconds)


def bare_render_seconds(data: dict, repeats: int) -> float:
    """WeasyPrint alone: `render_html(data)` once (untimed), then `HTML(string=html).write_pdf()` timed."""
    html = render_html(data)
    return _median_seconds(lambda: HTML(string=html).write_pdf(), repeats)


def render_pdf_seconds(data: dict, repeats: int) -> float:
    """The package as the service calls it: templates, formatting and WeasyPrint, `render_pdf(data)` timed."""
    return _median_seconds(lambda: render_pdf(data), repeats)
