"""Matplotlib figures of the benchmark curves.

Each ``plot_*`` function draws one curve on a given ``Axes`` and returns the
``Line2D`` so callers (the widgets) can update it in place with
``line.set_data``; :func:`curves_figure` lays out the three classic panels.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from cmrlab.analysis import Summary, summarize


def lag_window(lag_crp, max_lag: int):
    """``(lags, values)`` of a lag-CRP restricted to ``-max_lag..max_lag``, lag 0 masked."""
    values = np.asarray(lag_crp, float)
    list_length = (values.size + 1) // 2
    max_lag = min(max_lag, list_length - 1)
    lags = np.arange(-max_lag, max_lag + 1)
    window = values[lags + list_length - 1].copy()
    window[lags == 0] = np.nan
    return lags, window


def style_spc(ax, list_length: int):
    ax.set_xlabel("Serial position")
    ax.set_ylabel("Recall probability")
    ax.set_xlim(0.5, list_length + 0.5)
    ax.set_ylim(0, 1)
    ax.set_title("Serial-position curve")


def style_lag_crp(ax, max_lag: int):
    ax.set_xlabel("Lag")
    ax.set_ylabel("Conditional response probability")
    ax.set_xlim(-max_lag - 0.5, max_lag + 0.5)
    ax.set_ylim(0, 1)
    ax.axvline(0, color="0.85", lw=0.8, zorder=0)
    ax.set_title("Lag-CRP")


def style_pfr(ax, list_length: int):
    ax.set_xlabel("Serial position")
    ax.set_ylabel("Probability of first recall")
    ax.set_xlim(0.5, list_length + 0.5)
    ax.set_ylim(0, 1)
    ax.set_title("Probability of first recall")


def plot_spc(ax, curve, label=None, **style):
    """Serial-position curve ``(L,)`` against positions ``1..L``."""
    curve = np.asarray(curve, float)
    (line,) = ax.plot(np.arange(1, curve.size + 1), curve, marker="o", ms=3, label=label, **style)
    style_spc(ax, curve.size)
    return line


def plot_lag_crp(ax, lag_crp, max_lag: int = 5, label=None, **style):
    """Lag-CRP ``(2L - 1,)`` for lags ``-max_lag..max_lag`` (lag 0 left out)."""
    lags, window = lag_window(lag_crp, max_lag)
    (line,) = ax.plot(lags, window, marker="o", ms=3, label=label, **style)
    style_lag_crp(ax, int(lags[-1]))
    return line


def plot_pfr(ax, curve, label=None, **style):
    """Probability of first recall ``(L,)`` against positions ``1..L``."""
    curve = np.asarray(curve, float)
    (line,) = ax.plot(np.arange(1, curve.size + 1), curve, marker="o", ms=3, label=label, **style)
    style_pfr(ax, curve.size)
    return line


def plot_summary(axes, summary: Summary, max_lag: int = 5, label=None, **style):
    """Draw a :class:`~cmrlab.analysis.Summary` on three axes; returns the three lines."""
    return (
        plot_spc(axes[0], summary.spc, label=label, **style),
        plot_lag_crp(axes[1], summary.lag_crp, max_lag=max_lag, label=label, **style),
        plot_pfr(axes[2], summary.pfr, label=label, **style),
    )


def curves_figure(recalls, list_length: int, data=None, max_lag: int = 5,
                  label: str = "CMR", data_label: str = "data", figsize=(11, 3.4)):
    """Serial-position curve, lag-CRP and PFR of ``recalls``, optionally over real data.

    Args:
        recalls: a recall matrix ``(n_trials, max_recalls)`` (e.g. simulated).
        list_length: ``L``.
        data: another recall matrix (or a :class:`~cmrlab.datasets.RecallDataset`)
            drawn in black for comparison.
        max_lag: lags shown in the lag-CRP.

    Returns:
        The matplotlib ``Figure``.
    """
    fig, axes = plt.subplots(1, 3, figsize=figsize, layout="constrained")
    plot_summary(axes, summarize(recalls, list_length), max_lag=max_lag, label=label)
    if data is not None:
        data_recalls = getattr(data, "recalls", data)
        plot_summary(axes, summarize(data_recalls, list_length), max_lag=max_lag,
                     label=getattr(data, "name", None) or data_label, color="k", ls="--")
    axes[0].legend(frameon=False, fontsize="small")
    return fig
