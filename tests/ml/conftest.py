"""Fixtures shared by the ML tests."""

from __future__ import annotations

import pytest


@pytest.fixture(scope='module')
def one_torch_thread():
    """One torch thread for a module: its tensors are tiny (a second thread only adds overhead), the test machine
    is shared, and the cascade's workers run with one thread too (same arithmetic in the test and in them)."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
