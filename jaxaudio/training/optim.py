"""The optimiser of a run: learning-rate schedule, update rule, weight decay, gradient clipping.

Everything here counts in optimiser steps (batches); the settings count in epochs, so the
epoch's number of steps ``S`` converts: ``total = epochs·S`` steps, ``warmup = warmup_epochs·S``
(capped at ``total − 1`` so a schedule always has a step after its warm-up).
"""

from __future__ import annotations

from typing import get_args

import optax

from jaxaudio.training.settings import Optimizer, Schedule, TrainSettings


def make_schedule(s: TrainSettings, steps_per_epoch: int) -> optax.Schedule:
    """The learning rate ``η(t)`` at step ``t``.

    * ``constant``: ``η(t) = lr``; with a warm-up ``W`` steps, ``η(t) = lr·t/W`` for ``t < W``.
    * ``cosine``: ``η(t) = lr·½(1 + cos(π (t − W)/(T − W)))`` after a linear warm-up from 0
      over ``W`` steps (none when ``W = 0``: it starts at ``lr``), ``T`` the run's total steps.
    """
    total = max(1, s.epochs * steps_per_epoch)
    warmup = min(s.warmup_epochs * steps_per_epoch, total - 1)
    if s.schedule == "constant":
        if warmup == 0:
            return optax.constant_schedule(s.lr)
        return optax.join_schedules(
            [optax.linear_schedule(0.0, s.lr, warmup), optax.constant_schedule(s.lr)], [warmup]
        )
    if s.schedule == "cosine":
        return optax.warmup_cosine_decay_schedule(0.0 if warmup else s.lr, s.lr, warmup, total)
    raise ValueError(
        f"unknown learning-rate schedule {s.schedule!r}; use {' or '.join(get_args(Schedule))}"
    )


def make_optimizer(
    s: TrainSettings, steps_per_epoch: int
) -> tuple[optax.GradientTransformation, optax.Schedule]:
    """``(tx, schedule)``: the optax transformation of the settings and its learning rate per step.

    * ``adamw``: Adam with decoupled weight decay, ``θ ← θ − η(t)(m̂/(√v̂ + ε) + λθ)``;
    * ``adam``: the same without the decay term;
    * ``sgd``: Nesterov momentum 0.9 on ``g + λθ`` (L2 decay added to the gradient);
    * ``grad_clip`` ``c``: first ``g ← g·min(1, c/‖g‖₂)`` over all parameters together.

    ``schedule`` is returned too so the loop can log the rate each epoch used.
    """
    schedule = make_schedule(s, steps_per_epoch)
    if s.optimizer == "adamw":
        opt = optax.adamw(schedule, weight_decay=s.weight_decay)
    elif s.optimizer == "adam":
        opt = optax.adam(schedule)
    elif s.optimizer == "sgd":
        opt = optax.chain(
            optax.add_decayed_weights(s.weight_decay),
            optax.sgd(schedule, momentum=0.9, nesterov=True),
        )
    else:
        raise ValueError(f"unknown optimizer {s.optimizer!r}; use {', '.join(get_args(Optimizer))}")
    if s.grad_clip:
        opt = optax.chain(optax.clip_by_global_norm(s.grad_clip), opt)
    return opt, schedule
