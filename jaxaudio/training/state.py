"""The training state: everything a step changes, in one pytree, and the static parts beside it.

As in the Flax examples (``flax.training.train_state.TrainState``), the state carries the
optimiser ``tx`` and the model's structure as static (non-pytree) fields, so a step is a pure
function ``(state, batch) → state`` under ``jax.jit``. The model is split once
(``nnx.split``) into its graph and its arrays; no object graph is traversed in the hot loop.

The arrays (pytree leaves, donated to the step and checkpointed):

* ``step``: optimiser steps taken (the learning-rate schedule's ``t``);
* ``params``: the ``nnx.Param`` leaves;
* ``rest``: every other model array (BatchNorm running statistics, RNG counters);
* ``opt_state``: ``tx``'s state (moments, counts).

The static fields: ``graph_train``/``graph_eval``, the model's structure in training mode
(dropout on, BatchNorm using and updating batch statistics) and in evaluation mode, which
:func:`flax.nnx.merge` combines with ``params``/``rest`` inside the compiled functions; and
``tx``. They are part of the jit cache key (hashable, compared by value/identity).
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import optax
from flax import nnx, struct


class TrainState(struct.PyTreeNode):
    step: jax.Array
    params: Any  # nnx.State of the nnx.Param leaves
    rest: Any  # nnx.State of the non-parameter model state (BatchNorm running statistics)
    opt_state: Any  # optax.OptState of tx
    graph_train: nnx.GraphDef = struct.field(pytree_node=False)
    graph_eval: nnx.GraphDef = struct.field(pytree_node=False)
    tx: optax.GradientTransformation = struct.field(pytree_node=False)

    @classmethod
    def create(cls, model: nnx.Module, tx: optax.GradientTransformation) -> TrainState:
        """Split ``model`` into graph and arrays (both modes) and initialise ``tx`` at step 0.

        Leaves ``model`` in evaluation mode. Its arrays *are* the state's (no copy): the first
        step donates them, and :func:`write_back` puts the trained ones back.
        """
        model.train()
        graph_train, params, rest = nnx.split(model, nnx.Param, ...)
        model.eval()
        graph_eval = nnx.graphdef(model)
        return cls(
            step=jnp.zeros((), jnp.int32),
            params=params,
            rest=rest,
            opt_state=tx.init(params),
            graph_train=graph_train,
            graph_eval=graph_eval,
            tx=tx,
        )

    def apply_gradients(self, grads: Any, rest: Any) -> TrainState:
        """One optimiser update: ``(u, s') = tx.update(g, s, θ)``, ``θ' = θ + u``, ``step + 1``.

        ``rest`` is the model's non-parameter state after the forward pass (new BatchNorm
        running statistics), which the update does not touch.
        """
        updates, opt_state = self.tx.update(grads, self.opt_state, self.params)
        params = optax.apply_updates(self.params, updates)
        return self.replace(step=self.step + 1, params=params, rest=rest, opt_state=opt_state)


def n_params(state: TrainState) -> int:
    """Number of trainable scalars."""
    return int(sum(p.size for p in jax.tree.leaves(state.params)))


def write_back(model: nnx.Module, state: TrainState) -> nnx.Module:
    """``model`` with the arrays of ``state``, in evaluation mode (the returned model)."""
    nnx.update(model, state.params, state.rest)
    model.eval()
    return model
