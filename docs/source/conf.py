"""Sphinx configuration: MyST Markdown pages, built with warnings as errors by scripts/test.sh."""

import os
import tempfile

# The build's AiiDA configuration lives in a throwaway folder: with the user's, the temporary profile below ended up
# as the default profile of ~/.aiida/config.json, and every later command without -p stopped on it.
os.environ['AIIDA_PATH'] = tempfile.mkdtemp(prefix='znadditive-docs-')

from aiida import load_profile  # after AIIDA_PATH is set
from aiida.storage.sqlite_temp import SqliteTempBackend

import aiida_znadditive

# aiida.sphinxext builds each process spec with a profile loaded: an in-memory one, so the docs build on a machine
# without any AiiDA configuration and never touch the user's profiles.
load_profile(SqliteTempBackend.create_profile('znadditive-docs'), allow_switch=True)

project = 'aiida-znadditive'
author = 'The aiida-znadditive developers'
release = aiida_znadditive.__version__
# aiida.sphinxext: process specs read from the classes; sphinx_click: the CLI from its click commands.
extensions = ['myst_parser', 'sphinx.ext.autodoc', 'aiida.sphinxext', 'sphinx_click']
autodoc_member_order = 'bysource'
myst_enable_extensions = ['colon_fence', 'deflist', 'dollarmath']
source_suffix = {'.md': 'markdown'}
html_theme = 'furo'
html_title = f'aiida-znadditive {release}'
exclude_patterns = ['build']
