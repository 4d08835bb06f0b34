"""Print the pip constraints of the lowest supported environment (scripts/test_lowest.sh): aiida-core at its floor,
the packages that aiida-core release depends on left to pip, every other package at requirements/constraints.txt.

The pins of aiida-core's own dependencies are those of the newest aiida-core, which the floor may refuse (aiida-core
2.8.3 asks for asyncssh ~=2.21, the pinned environment has 2.24).

Usage: python scripts/lowest_constraints.py AIIDA_CORE_WHEEL FLOOR CONSTRAINTS_FILE
"""

from __future__ import annotations

import re
import sys
import zipfile


def key(name: str) -> str:
    """A distribution name as pip compares them (PEP 503)."""
    return re.sub(r'[-_.]+', '-', name).lower()


def requirements(wheel: str) -> set[str]:
    """Names of the distributions a wheel requires (every extra and marker included: dropping a pin is harmless)."""
    with zipfile.ZipFile(wheel) as archive:
        metadata = next(name for name in archive.namelist() if name.endswith('.dist-info/METADATA'))
        lines = archive.read(metadata).decode().splitlines()
    return {key(re.match(r'Requires-Dist: *([\w.-]+)', line)[1]) for line in lines if line.startswith('Requires-Dist:')}


def main(wheel: str, floor: str, pinned: str) -> None:
    free = requirements(wheel) | {'aiida-core'}
    with open(pinned) as handle:
        for line in handle:
            if '==' in line and not line.startswith('#') and key(line.split('==')[0].strip()) not in free:
                print(line.rstrip())
    print(f'aiida-core=={floor}')


if __name__ == '__main__':
    main(*sys.argv[1:])
