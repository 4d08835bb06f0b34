"""Screeners (entry point group ``znadditive.screeners``): rules, xTB labels, GNN ensembles."""

from .base import GROUP, Screener, ScreenerError, Screening, load_screener, screener_names

__all__ = ('GROUP', 'Screener', 'ScreenerError', 'Screening', 'load_screener', 'screener_names')
