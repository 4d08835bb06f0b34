"""Benchmark: the CampaignWorkChain's orchestration overhead (issue 19: at most 5 % for a round of >= 8 candidates).

Usage (from the repository root)::

    .venv/bin/python benchmarks/campaign_overhead.py                 # 8 candidates
    .venv/bin/python benchmarks/campaign_overhead.py --candidates 4

A fresh embedded profile in a temporary AIIDA_PATH; eight small additives promoted as candidates; one
CampaignWorkChain at the cheap level (GFN2-xTB for both complexation levels, the `fast` protocols, the free-energy
steps included) with ``max_concurrent: 1``, so its children run one after another and their wall times add up to
what the campaign could not avoid. The overhead is the campaign's wall time (creation to last change) over the sum
of its children's (each ZnComplexationWorkChain's creation to last change, the shared references computed inside
the first), minus one: submission, waiting, reuse look-ups, the ranking calcfunction and bookkeeping. It prints each
child's wall time, the sums and the ratio.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

#: small additives a real screen promotes (alcohols, a diol, DMSO, amides, an amino alcohol, a ketone)
MOLECULES = ('CO', 'CCO', 'OCCO', 'CS(C)=O', 'CC(N)=O', 'NCCO', 'CC(C)=O', 'NC=O', 'OCC(O)CO', 'CN(C)C=O')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--candidates', type=int, default=8, help=f'candidates (at most {len(MOLECULES)})')
    arguments = parser.parse_args()

    home = Path(tempfile.mkdtemp(prefix='znadditive-campaign-overhead-'))
    os.environ['AIIDA_PATH'] = str(home)  # before aiida is imported: the profile lives only in this folder
    from aiida import load_profile, orm
    from aiida.engine import run_get_node

    from aiida_znadditive.environment.codes import ensure_codes, load_codes_file
    from aiida_znadditive.environment.profiles import ensure_embedded_profile
    from aiida_znadditive.ml.screeners.base import Screening
    from aiida_znadditive.orchestration.promotion import promote
    from aiida_znadditive.workchains.campaign import CampaignWorkChain
    from aiida_znadditive.workchains.complexation import ZnComplexationWorkChain

    ensure_embedded_profile('campaign-overhead', storage_root=home / 'storage')
    load_profile('campaign-overhead', allow_switch=True)
    ensure_codes(load_codes_file(), build_environments=False)
    xtb = orm.load_code('xtb@localhost')

    molecules = MOLECULES[: arguments.candidates]
    screenings = [Screening(smiles, passed=True, score=1.0 - 0.01 * i) for i, smiles in enumerate(molecules)]
    nodes = promote(screenings, {'screener': 'benchmark', 'version': '1'}, 'campaign-overhead')
    builder = CampaignWorkChain.get_builder_from_protocol(
        {f'c{index}': node for index, node in enumerate(nodes)},
        xtb,
        xtb,
        dft_calculator='xtb',
        overrides={'top_k': len(molecules), 'max_concurrent': 1, 'weights': {'adsorption': 0.0}},
    )
    print(f'{len(molecules)} candidates, GFN2-xTB at both levels, one child at a time ...', flush=True)
    start = time.perf_counter()
    _, campaign = run_get_node(builder)
    elapsed = time.perf_counter() - start
    if not campaign.is_finished_ok:
        raise SystemExit(f'the campaign failed: {campaign.exit_status} {campaign.exit_message}')
    children = sorted(
        (child for child in campaign.called if child.process_class is ZnComplexationWorkChain),
        key=lambda child: child.ctime,
    )
    total = 0.0
    for child in children:
        wall = (child.mtime - child.ctime).total_seconds()
        total += wall
        print(f'  {child.inputs.smiles.value:<12} {wall:7.1f} s  exit {child.exit_status}')
    wall = (campaign.mtime - campaign.ctime).total_seconds()
    print(f'campaign {wall:.1f} s (process {elapsed:.1f} s); children {total:.1f} s in all')
    print(f"overhead: {wall / total - 1:+.2%} of the children's time (issue 19: at most 5 %)")


if __name__ == '__main__':
    main()
