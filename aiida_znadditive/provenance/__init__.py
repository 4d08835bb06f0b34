"""From the provenance graph to a paper: result tables with the UUID behind every number, the level of theory read
from the engine processes, and the report (tables, figures with their UUIDs, methods text, BibTeX)."""

from .complexation import complexation_row, complexation_table
from .methods import describe_calculation, level_of_theory, stage_methods
from .query import ReportError, inchikey, result_nodes
from .report import methods_paragraph, write_report

__all__ = (
    'ReportError',
    'complexation_row',
    'complexation_table',
    'describe_calculation',
    'inchikey',
    'level_of_theory',
    'methods_paragraph',
    'result_nodes',
    'stage_methods',
    'write_report',
)
