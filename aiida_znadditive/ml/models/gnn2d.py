"""A directed message-passing neural network (D-MPNN, Yang et al., J. Chem. Inf. Model. 59, 3370 (2019), chemprop).

Hidden states live on directed bonds, not atoms: the message along ``u->v`` sums the states of the bonds entering
``u`` except the one coming back from ``v``, so information does not echo straight back along the bond it came from
(the "totters" of atom-centred message passing). With :mod:`.featurize`'s edge layout the reverse of edge ``e`` is
``e ^ 1``, so no reverse-edge lookup table is needed.

    h0(u->v) = ReLU(W_i [x_u, e_uv])
    m(u->v)  = sum_{w->u} h(w->u) - h(v->u)
    h(u->v)  = ReLU(h0(u->v) + W_h m(u->v))                          (depth - 1 times)
    h_v      = ReLU(W_o [x_v, sum_{u->v} h(u->v)])
    y        = FFN([sum_v h_v, mean_v h_v])                          one output per target

Sum pooling carries size (extensive properties, counts of groups), mean pooling the average environment (intensive
ones, orbital energies); the multitask head sees both. :meth:`DMPNN.predict` computes the same for screening with
about half the work (see there); training uses ``forward``. Everything is ``index_add_`` on plain tensors: no
torch-scatter needed, and the same code runs on CPU and GPU.
"""

from __future__ import annotations

import torch
from torch import nn
from torch_geometric.data import Data

from .featurize import ATOM_DIM, BOND_DIM

__all__ = ('DMPNN', 'num_graphs')


def num_graphs(data: Data) -> int:
    """Molecules in a batch built by :mod:`.featurize` (its ``ptr``), or in a PyG ``Batch``, or 1 for one graph."""
    ptr = getattr(data, 'ptr', None)
    if ptr is not None:
        return int(ptr.numel()) - 1
    batch = getattr(data, 'batch', None)
    return int(batch.max()) + 1 if batch is not None and batch.numel() else 1


class DMPNN(nn.Module):
    """D-MPNN encoder with a multitask feed-forward head; ``forward(data)`` gives ``[molecules, n_targets]``.

    :param n_targets: outputs per molecule (standardised targets: the ensemble scales them back).
    :param hidden: width of the bond states and of the head.
    :param depth: message-passing steps (chemprop's default 3 sees a radius of three bonds).
    :param ffn_layers: hidden layers of the head.
    :param dropout: in message passing and the head.
    """

    def __init__(
        self,
        n_targets: int,
        *,
        hidden: int = 128,
        depth: int = 3,
        ffn_layers: int = 2,
        dropout: float = 0.0,
        atom_dim: int = ATOM_DIM,
        bond_dim: int = BOND_DIM,
    ) -> None:
        super().__init__()
        if depth < 1:
            raise ValueError(f'depth must be at least 1, got {depth}')
        self.depth = depth
        self.hidden = hidden
        self.w_i = nn.Linear(atom_dim + bond_dim, hidden, bias=False)
        self.w_h = nn.Linear(hidden, hidden, bias=False)
        self.w_o = nn.Linear(atom_dim + hidden, hidden)
        self.dropout = nn.Dropout(dropout)
        layers: list[nn.Module] = []
        width = 2 * hidden  # sum and mean pooling side by side
        for _ in range(ffn_layers):
            layers += [nn.Linear(width, hidden), nn.ReLU(), nn.Dropout(dropout)]
            width = hidden
        layers.append(nn.Linear(width, n_targets))
        self.head = nn.Sequential(*layers)

    def encode(self, data: Data) -> torch.Tensor:
        """Molecule embeddings ``[molecules, 2 * hidden]`` (sum and mean of the atom states)."""
        x, edge_index, edge_attr, batch = data.x, data.edge_index, data.edge_attr, data.batch
        n_atoms, n_molecules = x.size(0), num_graphs(data)
        if batch is None:
            batch = torch.zeros(n_atoms, dtype=torch.long, device=x.device)
        source, target = edge_index[0], edge_index[1]
        reverse = torch.arange(source.numel(), device=x.device) ^ 1  # featurize.py stores each bond's pair at 2k, 2k+1
        # In-place where autograd allows (the inputs of sub_/add_/relu_ are fresh tensors no backward needs): on a CPU
        # the element-wise passes over [edges, hidden] cost as much as the matrix products, and fresh buffers more.
        # index_select, not x[source]: the same gather, several times faster than advanced indexing on a CPU.
        h0 = self.w_i(torch.cat([x.index_select(0, source), edge_attr], dim=1)).relu_()
        h = h0
        for _ in range(self.depth - 1):
            incoming = x.new_zeros(n_atoms, self.hidden).index_add_(0, target, h)
            message = incoming.index_select(0, source).sub_(h.index_select(0, reverse))
            h = self.dropout(self.w_h(message).add_(h0).relu_())
        incoming = x.new_zeros(n_atoms, self.hidden).index_add_(0, target, h)
        atoms = self.dropout(self.w_o(torch.cat([x, incoming], dim=1)).relu_())
        summed = x.new_zeros(n_molecules, self.hidden).index_add_(0, batch, atoms)
        counts = torch.bincount(batch, minlength=n_molecules).clamp(min=1).to(x.dtype).unsqueeze(1)
        return torch.cat([summed, summed / counts], dim=1)

    def forward(self, data: Data) -> torch.Tensor:
        return self.head(self.encode(data))

    def predict(self, data: Data) -> torch.Tensor:
        """``forward(data)`` for prediction (evaluation mode, no gradient), from the kind codes of a batch of
        :func:`.featurize.collate_2d`; equal to ``forward`` up to float rounding (the same sums, added in another
        order). In training mode, or for a batch without kind codes, it is ``forward``.

        A network's first layer sees an edge only through the feature rows of its source atom's kind and its bond's
        kind, and a batch of thousands of edges holds about a hundred such pairs: ``W_i`` and, for the first message
        step, ``W_h`` (linear, no bias: ``W_h`` of a sum is the sum of ``W_h``) are applied once per pair and
        gathered per edge; the atom half of ``W_o`` once per atom kind. Of the matrix products of ``forward`` (two
        ``W_h`` over the edges at the default depth 3, ``W_i`` over the edges, ``W_o`` over the atoms) about half the
        work is left.
        """
        if self.training or getattr(data, 'edge_pair', None) is None:
            return self(data)
        with torch.inference_mode():
            return self.head(self._encode_by_kind(data))

    def _encode_by_kind(self, data: Data) -> torch.Tensor:
        """:meth:`encode` from the kind codes (see :meth:`predict`)."""
        atom_kind, edge_pair, batch = data.atom_kind, data.edge_pair, data.batch
        source, target = data.edge_index[0], data.edge_index[1]
        n_atoms, n_molecules, hidden = atom_kind.numel(), num_graphs(data), self.hidden
        if batch is None:
            batch = atom_kind.new_zeros(n_atoms)
        h0_pairs = self.w_i(data.pair_rows).relu_()
        # h0 per edge: the residual of the steps after the first (at depth 1, the state itself)
        h0 = h0_pairs.index_select(0, edge_pair) if self.depth != 2 else None
        h = h0
        if self.depth > 1:
            # First step: W_h (sum_{w->u} h0(w->u) - h0(v->u)) = sum_{w->u} W_h h0(w->u) - W_h h0(v->u), with W_h h0
            # once per pair, and h0(u->v) - W_h h0(v->u) once per (pair, pair of the reverse edge).
            transformed = self.w_h(h0_pairs)
            first, second = data.both_pairs
            own = h0_pairs.index_select(0, first).sub_(transformed.index_select(0, second))
            incoming = h0_pairs.new_zeros(n_atoms, hidden).index_add_(0, target, transformed.index_select(0, edge_pair))
            h = incoming.index_select(0, source).add_(own.index_select(0, data.edge_both)).relu_()
        for _ in range(self.depth - 2):
            incoming = h.new_zeros(n_atoms, hidden).index_add_(0, target, h)
            message = incoming.index_select(0, source)
            # minus the reverse edge's state: rows 2k and 2k + 1 swapped (featurize.py's edge layout)
            pairs, states = message.view(-1, 2, hidden), h.view(-1, 2, hidden)
            pairs[:, 0].sub_(states[:, 1])
            pairs[:, 1].sub_(states[:, 0])
            h = torch.addmm(h0, message, self.w_h.weight.t()).relu_()
        incoming = h.new_zeros(n_atoms, hidden).index_add_(0, target, h)
        # W_o [x_v, incoming_v] + b: the atom columns (and the bias) once per atom kind.
        atom_dim = self.w_o.in_features - hidden
        weight = self.w_o.weight
        per_kind = torch.addmm(self.w_o.bias, data.atom_rows, weight[:, :atom_dim].t())
        atoms = per_kind.index_select(0, atom_kind).addmm_(incoming, weight[:, atom_dim:].t()).relu_()
        summed = atoms.new_zeros(n_molecules, hidden).index_add_(0, batch, atoms)
        counts = torch.bincount(batch, minlength=n_molecules).clamp(min=1).to(atoms.dtype).unsqueeze(1)
        return torch.cat([summed, summed / counts], dim=1)
