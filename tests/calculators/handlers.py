"""What the restart-handler tests share: handing a fake finished calculation to a restart work chain."""

from __future__ import annotations


def inspect(process, node):
    """Hand ``node`` to the work chain as its latest child and run its handlers in priority order, as the engine
    does; an ExitCode of status 0 means it goes on (a restart), another status ends the chain with it."""
    process.ctx.setdefault('children', []).append(node)
    process.ctx.iteration += 1
    return process.inspect_process()
