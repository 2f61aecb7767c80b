"""The same data, the same PDF bytes. WeasyPrint writes no creation time and no random file identifier unless
asked, and the metadata come from the document (its title, the seller, its date); what is left is the embedded
font subsets: without HarfBuzz-Subset on the machine, WeasyPrint subsets with fontTools, which stamps each subset's
`head.modified` with the current time. The finisher below puts the font's own creation time there instead.

"The same bytes" holds for one installation: the fonts, WeasyPrint and its subsetter (HarfBuzz-Subset, when the
machine has libharfbuzz-subset, writes other, equally stable, subsets than fontTools) are part of the output."""
from __future__ import annotations

from io import BytesIO

import pydyf
from fontTools.ttLib import TTFont


def _without_save_time(font_file: bytes) -> bytes:
    font = TTFont(BytesIO(font_file), recalcTimestamp=False, recalcBBoxes=False, lazy=True)
    head = font["head"]
    if head.modified == head.created:
        return font_file  # HarfBuzz-Subset's output, or already fixed
    head.modified = head.created
    output = BytesIO()
    font.save(output, reorderTables=False)  # only `head` is rebuilt; the other tables are copied as read
    return output.getvalue()


def fix_font_timestamps(document, pdf: pydyf.PDF) -> None:
    """A WeasyPrint finisher: every embedded TrueType font file (a stream with a Length1) without a save time."""
    for obj in pdf.objects:
        if isinstance(obj, pydyf.Stream) and "Length1" in obj.extra and len(obj.stream) == 1:
            obj.stream[0] = _without_save_time(obj.stream[0])
            obj.extra["Length1"] = len(obj.stream[0])
