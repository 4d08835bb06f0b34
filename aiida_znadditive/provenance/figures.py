"""The figure of a solvation, adsorption or redox table: one bar per result (with its error bar where the number
has one), a JSON sidecar and the PNG's own metadata naming the WorkChain and the node of every bar, as the
complexation report's figure does.

Each table module declares ``FIGURE``: the column drawn (``value``), its error column (``error`` or None), the
column that names the bar (``label``), the column with the UUID of the node that holds the value (``uuid``), the
axis label, reference lines (``lines``: label -> value, or a function of the table), and optionally the column with
the UUID of the process behind each row (``process``; default ``workchain_uuid``).
"""

from __future__ import annotations

import json
from pathlib import Path

#: bars that still carry their names (as in the complexation figure)
MAX_NAMED_BARS = 60


def write_figure(table, figure_spec: dict, out: Path, stem: str, level: str) -> list[str]:
    """``<stem>.png`` and ``<stem>.png.json`` for the rows of ``table`` that have the value; none when no row has."""
    import matplotlib

    matplotlib.use('Agg')  # files only, no display
    import matplotlib.pyplot as plt

    value, error = figure_spec['value'], figure_spec.get('error')
    process = figure_spec.get('process', 'workchain_uuid')
    shown = table[table[value].notna()] if value in table else table.iloc[0:0]
    if shown.empty:
        return []
    positions = range(len(shown))
    errors = shown[error].astype(float).fillna(0.0) if error and error in shown else None
    figure, axes = plt.subplots(figsize=(min(16.0, max(4.0, 0.6 * len(shown) + 2)), 3.5))
    axes.bar(positions, shown[value].astype(float), yerr=errors, capsize=3, color='#4c72b0', label=value)
    lines = figure_spec.get('lines') or {}
    if callable(lines):
        lines = lines(shown)
    for (label, y), colour in zip(lines.items(), ('#c44e52', '#55a868', '#8172b2'), strict=False):
        axes.axhline(y, color=colour, linewidth=1.0, linestyle='--', label=label)
    if len(shown) <= MAX_NAMED_BARS:
        axes.set_xticks(list(positions), [str(name) for name in shown[figure_spec['label']]], rotation=45, ha='right')
    else:
        axes.set_xlabel(f'{len(shown)} results, in the order of the table (names in {stem}.png.json)')
    axes.set_ylabel(figure_spec['ylabel'])
    axes.set_title(level, fontsize=7)
    axes.legend(fontsize=7)
    sidecar = {
        'figure': f'{stem}.png',
        'quantity': value,
        'error': error,
        'level': level,
        'rows': [
            {
                'label': str(row[figure_spec['label']]),
                process: row[process],
                'value_uuid': row[figure_spec['uuid']],
            }
            for _, row in shown.iterrows()
        ],
    }
    return save_figure(figure, sidecar, out, stem, process=process)


def save_figure(figure, sidecar: dict, out: Path, stem: str, *, process: str = 'workchain_uuid') -> list[str]:
    """``<stem>.png`` (its metadata key ``aiida_uuids``: the processes behind the sidecar's rows, their key
    ``process``: the WorkChains, or the calcfunctions that made the rows' nodes) and the sidecar ``<stem>.png.json``;
    the figure is closed."""
    import matplotlib.pyplot as plt

    uuids = json.dumps([row.get(process) for row in sidecar['rows']])
    figure.savefig(out / f'{stem}.png', dpi=150, bbox_inches='tight', metadata={'aiida_uuids': uuids})
    plt.close(figure)
    (out / f'{stem}.png.json').write_text(json.dumps(sidecar, indent=1) + '\n')
    return [f'{stem}.png', f'{stem}.png.json']
