"""Every exit code of every WorkChain of the package has one meaning: one label per number, across all of them."""

from __future__ import annotations

from collections import defaultdict
from importlib.metadata import entry_points

from aiida_znadditive.exit_codes import EXIT_CODES

#: aiida-core's own codes of every Process (1-11) and of BaseRestartWorkChain (301, 302, 401, 402)
AIIDA_CORE = {1, 2, 10, 11}


def workchains() -> dict:
    return {ep.name: ep.load() for ep in entry_points(group='aiida.workflows') if ep.name.startswith('znadditive.')}


def test_every_number_has_one_label_and_one_message():
    found = workchains()
    assert {'znadditive.complexation', 'znadditive.adsorption', 'znadditive.solvation'} <= set(found)
    labels = defaultdict(set)
    for name, process in found.items():
        per_process = defaultdict(list)
        for label, code in process.spec().exit_codes.items():
            per_process[code.status].append(label)
            labels[code.status].add((label, code.message))
        clashes = {status: names for status, names in per_process.items() if len(names) > 1}
        assert not clashes, f'{name}: one number, several labels: {clashes}'
    clashes = {status: sorted(meanings) for status, meanings in labels.items() if len(meanings) > 1}
    assert not clashes, f'a number means different things in different WorkChains: {clashes}'


def test_every_code_of_ours_comes_from_the_table_and_says_something():
    table_statuses = [status for status, _ in EXIT_CODES.values()]
    assert len(table_statuses) == len(set(table_statuses)), 'the table gives one number twice'
    for name, process in workchains().items():
        for label, code in process.spec().exit_codes.items():
            if code.status in AIIDA_CORE:
                continue
            assert EXIT_CODES.get(label, (None,))[0] == code.status, f'{name}: {label} ({code.status}) not in the table'
            # A bare '{message}' prints as such in `verdi plugin list`: every message names what failed.
            assert code.message.split('{')[0].strip(), f'{name}: {label} says nothing before its details'
    for label, (status, _) in EXIT_CODES.items():
        kind = status // 100
        assert kind in (2, 3, 4), label
        assert label.startswith('ERROR_'), label
