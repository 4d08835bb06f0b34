"""Models this project trained itself and ships inside the package, so that the defaults work on a fresh install
without a training run. Each is small (under a few MB) and was made by a script in ``scripts/`` whose settings are
recorded beside the weights:

- ``zib_xtb/``: a 2D D-MPNN deep ensemble (a ``gnn`` screener checkpoint) trained on the shipped GFN2-xTB labels
  (``data/labels/xtb_gfn2.parquet``): HOMO, LUMO, gap, Zn2+ exchange energy and ALPB-water solvation free energy.
  Made by ``scripts/train_shipped_models.sh``; the default model of the ZIB generation objective.
- ``selfies_lm/``: the SELFIES language model the ``reinvent`` generator starts from, pretrained on MOSES.
  Made by ``scripts/train_shipped_models.sh``.
- ``zn_calibration/gfn2_xtb.json``: the calibration of the labeller's Zn2+ exchange free energies against measured
  stability constants (``data/calibration/zn_stability_constants.csv``), with its leave-one-out figures. Made by
  ``benchmarks/zn_calibration.py --write-calibration aiida_znadditive/ml/shipped/zn_calibration/gfn2_xtb.json``.
"""

from __future__ import annotations

from pathlib import Path

SHIPPED = Path(__file__).resolve().parent
NAMES = ('zib_xtb', 'selfies_lm', 'zn_calibration')


def shipped_model(name: str) -> Path | None:
    """The folder of the shipped model ``name`` (:data:`NAMES`), or None where this installation has none."""
    if name not in NAMES:
        raise ValueError(f'no shipped model {name!r}; there are {", ".join(NAMES)}')
    folder = SHIPPED / name
    return folder if folder.is_dir() and any(folder.iterdir()) else None
