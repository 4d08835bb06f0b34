"""``index.html``: the report on one page, for a browser: each level's table, its figure, the methods paragraph and
links to the files beside it.

The page is self-contained apart from the report's own files, which it names by relative paths: the folder can be
moved, zipped or served as it is, and no request leaves it (no scripts, fonts or style sheets from elsewhere).
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from pathlib import Path

STYLE = """
body { font-family: sans-serif; margin: 2em auto; max-width: 70em; color: #222; }
h1 { font-size: 1.5em; } h2 { font-size: 1.2em; margin-top: 2em; }
table { border-collapse: collapse; font-size: 0.85em; margin: 1em 0; }
th, td { border-bottom: 1px solid #bbb; padding: 0.25em 0.6em; text-align: left; font-variant-numeric: tabular-nums; }
th { border-bottom: 2px solid #222; } th { text-align: left !important; }
div.table { overflow-x: auto; }
img { max-width: 100%; border: 1px solid #ddd; }
.files a { margin-right: 1em; }
"""


@dataclass
class Section:
    """One level of theory: its table's summary columns, its figures' file names and the other files of the level."""

    level: str
    summary: object  # a pandas DataFrame: the Markdown/LaTeX columns plus the WorkChain UUID
    #: the level's PNG files, each with a sidecar (none: nothing to draw, as for experiments never computed)
    figures: list[str]
    files: list[str] = field(default_factory=list)


def write_html(out: Path, sections: list[Section], methods: str, files: list[str], *, title: str) -> str:
    """Write ``out/index.html``; return its name. ``files``: every file of the report, linked at the bottom."""
    parts = [
        '<!DOCTYPE html>',
        '<html lang="en"><head><meta charset="utf-8">',
        f'<title>{html.escape(title)}</title><style>{STYLE}</style></head><body>',
        f'<h1>{html.escape(title)}</h1>',
    ]
    if len(sections) > 1:
        parts.append(
            f'<p>{len(sections)} levels of theory: one table and one figure each; results of different levels are '
            'not averaged.</p>'
        )
    for section in sections:
        # The figure before the table: a table of hundreds of rows would push it out of sight.
        parts.append(f'<h2>Level of theory: {html.escape(section.level)}</h2>')
        for figure in section.figures:
            parts.append(
                f'<figure><img src="{html.escape(figure)}" alt="{html.escape(section.level)}">'
                f'<figcaption>UUIDs of the processes and values drawn: <a href="{html.escape(figure)}.json">'
                f'{html.escape(figure)}.json</a></figcaption></figure>'
            )
        parts.append(f'<div class="table">{_table(section.summary)}</div>')
        if section.files:
            links = ''.join(f'<a href="{html.escape(name)}">{html.escape(name)}</a>' for name in section.files)
            parts.append(f'<p class="files">Tables: {links}</p>')
    if methods.strip():  # the complexation report writes one; the other kinds' pages have none yet
        parts.append('<h2>Methods</h2>')
        parts += [f'<p>{html.escape(paragraph)}</p>' for paragraph in methods.strip().split('\n\n')]
    links = ''.join(f'<a href="{html.escape(name)}">{html.escape(name)}</a>' for name in files)
    parts += [f'<p class="files">All files: {links}</p>', '</body></html>', '']
    (out / 'index.html').write_text('\n'.join(parts))
    return 'index.html'


def _table(summary) -> str:
    """The summary as an HTML table: three decimals, a dash where a value is missing (pandas escapes every cell)."""
    import pandas as pd

    def cell(value) -> str:
        # None (an absent output, in a column of objects) and NaN both read as missing, as in the Markdown table
        if value is None or (isinstance(value, float) and pd.isna(value)):
            return '–'
        return f'{value:.3f}' if isinstance(value, float) else str(value)

    text = summary.map(cell).to_html(index=False, border=0)
    return text.replace('class="dataframe"', 'class="results"')
