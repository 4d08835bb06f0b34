"""Sphinx configuration: MyST Markdown pages, built with warnings as errors by scripts/test.sh."""

import aiida_znadditive

project = 'aiida-znadditive'
author = 'The aiida-znadditive developers'
release = aiida_znadditive.__version__
extensions = ['myst_parser']
myst_enable_extensions = ['colon_fence', 'deflist', 'dollarmath']
source_suffix = {'.md': 'markdown'}
html_theme = 'furo'
html_title = f'aiida-znadditive {release}'
exclude_patterns = ['build']
