"""``report``: tables, a figure with the UUIDs it shows, a methods paragraph and the software's BibTeX, from the graph.

One call writes into an output folder:

- ``<kind>.csv`` (every column, full precision, the UUID of each number), ``<kind>.md`` and ``<kind>.tex`` (booktabs)
  with the summary columns; a table per level of theory when the results span several (``<kind>_level<i>.*``):
  results of two levels are listed apart and never averaged;
- ``<kind>.png`` with ``<kind>.png.json``: the UUIDs of the WorkChains and of the numbers drawn (also in the PNG's
  own metadata, key ``aiida_uuids``);
- ``methods.md``: a paragraph written from the engine processes' own inputs (:mod:`.methods`), with the number of
  engine calculations and their wall time;
- ``software.bib``: the references of the software that ran;
- ``index.html`` (format ``html``): all of it on one page, the figures named by relative paths (:mod:`.html`).
"""

from __future__ import annotations

import re
from pathlib import Path

from aiida import orm

from .. import __version__
from .complexation import NUMBERS, SUMMARY, UNITS, complexation_table
from .figures import MAX_NAMED_BARS, save_figure, write_figure
from .graph import batched_links, one_transaction
from .html import Section, write_html
from .methods import calculation_cost
from .query import ReportError

FORMATS = ('csv', 'md', 'tex', 'html')
#: software -> its BibTeX key in software.bib (shipped with the package)
BIBTEX_KEYS = {
    'aiida': 'huber2020aiida',
    'pyscf': 'sun2020pyscf',
    'geometric': 'wang2016geometric',
    'xtb': 'bannwarth2019gfn2',
    'cp2k': 'kuhne2020cp2k',
    'd3bj': 'grimme2011d3bj',
    'qrrho': 'grimme2012qrrho',
    'rdkit': 'rdkit',
}


def write_report(nodes: list[orm.WorkflowNode], out: Path, *, formats=FORMATS, protocol: str | None = None) -> dict:
    """Write the complexation report of ``nodes`` into ``out`` (which must exist and be empty, or be made by the
    caller); ``protocol``: keep only results whose DFT stage ran that calculator protocol. Returns what was
    written: ``{'files': [...], 'rows': n, 'levels': [...]}``."""
    # Every node read once (.graph): the tables, methods and figures of 1,000 results take seconds.
    with one_transaction(), batched_links(nodes):
        return _write_report(nodes, out, formats, protocol)


def _write_report(nodes, out: Path, formats, protocol) -> dict:
    table = complexation_table(nodes)
    if protocol is not None and not table.empty:
        table = table[table['dft_protocol'] == protocol]
    if table.empty:
        raise ReportError('no finished complexation results match' + (f' protocol `{protocol}`' if protocol else ''))
    unknown = set(formats) - set(FORMATS)
    if unknown:
        raise ReportError(f'unknown format(s) {", ".join(sorted(unknown))}; choose from {", ".join(FORMATS)}')
    levels = list(dict.fromkeys(table['level']))
    files: list[str] = []
    sections = []
    for index, level in enumerate(levels):
        part = table[table['level'] == level].reset_index(drop=True)
        stem = 'complexation' if len(levels) == 1 else f'complexation_level{index + 1}'
        tables = _write_tables(part, out, stem, formats, level)
        figure = _write_figure(part, out, stem, level)
        files += tables + figure
        sections.append(Section(level, _summary(part, ['workchain_uuid']), figure[:1], tables))
    if len(levels) > 1 and not (comparison := level_comparison(table, levels)).empty:
        shown = comparison[[column for column in comparison.columns if not column.endswith('_uuid')]]
        files += _write_frames(comparison, shown, out, 'complexation_levels', formats, level=_legend(levels))
    methods = methods_paragraph(table, nodes)
    (out / 'methods.md').write_text(methods)
    (out / 'software.bib').write_text(bibtex(_software(table)))
    files += ['methods.md', 'software.bib']
    if 'html' in formats:
        title = f'Zn2+ complexation of {len(table)} additive(s)'
        files.append(write_html(out, sections, methods, files, title=title))
    return {'files': files, 'rows': len(table), 'levels': levels}


def _legend(levels: list[str]) -> str:
    return '; '.join(f'L{index} = {level}' for index, level in enumerate(levels, start=1))


def level_comparison(table, levels: list[str]):
    """The species computed at more than one of ``levels``: per level ``L<i>`` its ΔE in water and ΔG (the newest
    result where a level has several) with their nodes' UUIDs, and each level's difference from the first level that
    has the number. The numbers stay side by side; nothing is averaged across levels."""
    import pandas as pd

    rows = []
    for species, part in table.groupby('species', sort=False):
        if part['level'].nunique() < 2:
            continue
        row = {'molecule': part['molecule'].iloc[0], 'species': species}
        base: dict[str, tuple[int, float]] = {}  # column -> (the first level that has it, its value)
        for index, level in enumerate(levels, start=1):
            at = part[part['level'] == level]
            if at.empty:
                continue
            newest = at.iloc[-1]  # the table is oldest first
            for column in ('dE_water', 'dG'):
                value = newest[column]
                row[f'{column}_L{index}'] = value
                row[f'{column}_L{index}_uuid'] = newest[f'{column}_uuid']
                if pd.notna(value):
                    if column in base:
                        row[f'{column}_L{index}-L{base[column][0]}'] = value - base[column][1]
                    else:
                        base[column] = (index, value)
        rows.append(row)
    return pd.DataFrame(rows)


def _write_tables(table, out: Path, stem: str, formats, level: str) -> list[str]:
    return _write_frames(table, _summary(table), out, stem, formats, level=level)


def write_tables(kind: str, nodes: list[orm.WorkflowNode], out: Path, *, formats=FORMATS) -> dict:
    """Write the ``solvation``, ``adsorption``, ``redox``, ``campaign``, ``screening`` or ``experiments`` tables of
    ``nodes`` (for ``screening``: promoted candidate nodes; ``experiments``: experiment nodes) into ``out``:
    ``<kind>.csv`` with every column and the UUIDs, ``<kind>.md`` and ``<kind>.tex`` with the summary columns, and
    ``<kind>.png`` with its sidecar of UUIDs (:mod:`.figures`), one set per level of theory; a module's
    ``extra_figures`` add their own (the campaign's parity and Pareto figures)."""
    from . import adsorption, campaign, experiments, redox, screening, solvation

    module = {
        'solvation': solvation,
        'adsorption': adsorption,
        'redox': redox,
        'campaign': campaign,
        'screening': screening,
        'experiments': experiments,
    }[kind]
    table = getattr(module, f'{kind}_table')(nodes)
    if table.empty:
        raise ReportError(f'no finished {kind} results')
    levels = list(dict.fromkeys(table['level']))
    files: list[str] = []
    sections = []
    for index, level in enumerate(levels):
        part = table[table['level'] == level].reset_index(drop=True)
        stem = kind if len(levels) == 1 else f'{kind}_level{index + 1}'
        summary = part[list(module.SUMMARY)].rename(columns={c: f'{c} ({u})' for c, u in module.UNITS.items()})
        frames = _write_frames(part, summary, out, stem, [f for f in formats if f != 'html'], level=level)
        figures = write_figure(part, module.FIGURE, out, stem, level)
        if hasattr(module, 'extra_figures'):
            figures += module.extra_figures(part, out, stem, level)
        files += frames + figures
        sections.append(Section(level, summary, [name for name in figures if name.endswith('.png')], frames))
    if 'html' in formats:
        files.append(write_html(out, sections, '', files, title=f'{kind}: {len(table)} result(s)'))
    return {'files': files, 'rows': len(table), 'levels': levels}


def _write_frames(table, summary, out: Path, stem: str, formats, *, level: str) -> list[str]:
    """``table`` as CSV (every column), ``summary`` as Markdown and LaTeX, each headed by its level of theory."""
    written = []
    if 'csv' in formats:
        table.to_csv(out / f'{stem}.csv', index=False, float_format='%.6f')
        written.append(f'{stem}.csv')
    if 'md' in formats:
        text = f'Level of theory: {level}\n\n' + summary.to_markdown(index=False, floatfmt='.3f', missingval='–') + '\n'
        (out / f'{stem}.md').write_text(text)
        written.append(f'{stem}.md')
    if 'tex' in formats:
        latex = summary.to_latex(index=False, float_format='%.3f', na_rep='--', escape=True, caption=level)
        (out / f'{stem}.tex').write_text(latex)
        written.append(f'{stem}.tex')
    return written


def _summary(table, extra=()):
    """The summary columns (and ``extra``), headed with their units."""
    return table[[*SUMMARY, *extra]].rename(columns={c: f'{c} ({UNITS[c]})' for c in SUMMARY if c in UNITS})


def _write_figure(table, out: Path, stem: str, level: str) -> list[str]:
    """Bars of ΔG (ΔE in water where a result has no ΔG), calibrated values as points; sidecar with the UUIDs."""
    import matplotlib

    matplotlib.use('Agg')  # files only, no display
    import matplotlib.pyplot as plt

    column = 'dG' if table['dG'].notna().any() else 'dE_water'
    shown = table[table[column].notna()]
    # Past ~60 bars the names cannot be read and the width would pass what a page (or PNG) holds: the width stops
    # at 16 in and the names are left out; the sidecar still lists every bar in order.
    figure, axes = plt.subplots(figsize=(min(16.0, max(4.0, 0.6 * len(shown) + 2)), 3.5))
    axes.bar(range(len(shown)), shown[column], color='#4c72b0', label=column)
    if shown['dG_calibrated'].notna().any():
        axes.plot(range(len(shown)), shown['dG_calibrated'], 'o', color='#dd8452', label='dG calibrated')
    axes.axhline(0.0, color='black', linewidth=0.8)
    if len(shown) <= MAX_NAMED_BARS:
        axes.set_xticks(range(len(shown)), shown['molecule'], rotation=45, ha='right')
    else:
        axes.set_xlabel(f'{len(shown)} molecules, in the order of the table (names in {stem}.png.json)')
    axes.set_ylabel(f'{column} (eV), Zn2+ exchange with water')
    axes.set_title(level, fontsize=7)
    axes.legend(fontsize=7)
    sidecar = {
        'figure': f'{stem}.png',
        'quantity': column,
        'level': level,
        'rows': [
            {
                'molecule': row['molecule'],
                'workchain_uuid': row['workchain_uuid'],
                'value_uuid': row[f'{column}_uuid'],
                'calibrated_uuid': row['dG_calibrated_uuid'],
            }
            for _, row in shown.iterrows()
        ],
    }
    return save_figure(figure, sidecar, out, stem)


def methods_paragraph(table, nodes: list[orm.WorkflowNode]) -> str:
    """A methods paragraph from the rows' levels of theory and the engine processes under ``nodes``."""
    calculations = [
        node for workchain in nodes for node in workchain.called_descendants if isinstance(node, orm.CalcJobNode)
    ]
    cost = calculation_cost(calculations)
    first = table.iloc[0]
    lines = [
        f'Zn2+ exchange energies of {len(table)} additive(s) were computed with the ZnComplexationWorkChain of '
        f'aiida-znadditive {__version__} on AiiDA {_aiida_version()}. Each additive was computed as its dominant '
        f'species at pH {", ".join(sorted({f"{ph:g}" for ph in table["ph"]}))}; every binding mode of one to six '
        'donor atoms replacing the waters of [Zn(H2O)6]2+ was relaxed and ranked at the cheap level '
        f'({first["cheap_method"]}, {first["cheap_solvent_model"] or "gas phase"}); the best mode, the free ligand, '
        '[Zn(H2O)6]2+ and H2O were relaxed at the DFT level and their energies in implicit water computed on those '
        'geometries.',
    ]
    for level in dict.fromkeys(table['level']):
        lines.append(f'Level of theory: {level}.')
    if table['dG'].notna().any():
        lines.append(
            'Free energies add the change of quasi-RRHO thermal corrections (cheap-level frequencies, Grimme '
            'entropy interpolation) and standard-state terms (1 M solutes, 55.34 M water) to the exchange energy.'
        )
    lines.append(
        f'Codes: {"; ".join(sorted(set("; ".join(table["codes"]).split("; "))))}'
        + (
            f' (engine versions: {"; ".join(sorted(set(v for v in table["engine_versions"] if v)))})'
            if table['engine_versions'].any()
            else ''
        )
        + f'. {cost["calculations"]} engine calculations ran for {cost["wall_hours"]:.2f} h of wall time in all, '
        f'{cost["core_hours"]:.2f} CPU core hours (the cores each asked for, times its wall time).'
    )
    return '\n\n'.join(lines) + '\n'


def bibtex(software: list[str]) -> str:
    """The BibTeX entries of ``software`` (keys of :data:`BIBTEX_KEYS`), from the shipped ``software.bib``."""
    from importlib import resources

    text = resources.files(__package__).joinpath('software.bib').read_text()
    entries = {match.group(1): match.group(0) for match in re.finditer(r'@\w+\{(\w+),.*?\n\}', text, re.S)}
    return '\n\n'.join(entries[BIBTEX_KEYS[name]] for name in software) + '\n'


def _software(table) -> list[str]:
    text = ' '.join(str(value) for value in table[['level', 'codes']].to_numpy().ravel()).lower()
    keys = ['aiida', 'rdkit']
    keys += [key for key in ('pyscf', 'xtb', 'cp2k') if key in text]
    if 'pyscf' in keys:
        keys.append('geometric')
    if 'd3(bj)' in text:
        keys.append('d3bj')
    if table['dG'].notna().any():
        keys.append('qrrho')
    return keys


def _aiida_version() -> str:
    import aiida

    return aiida.__version__


__all__ = ('FORMATS', 'NUMBERS', 'methods_paragraph', 'write_report')
