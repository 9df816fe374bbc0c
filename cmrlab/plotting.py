"""Matplotlib figures of the benchmark curves.

Each ``plot_*`` function draws one curve on a given ``Axes`` and returns the
``Line2D`` so callers (the widgets) can update it in place with
``line.set_data``; :func:`curves_figure` lays out the three classic panels.
"""

from __future__ import annotations

import io

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


def _style_positions(ax, list_length: int, ylabel: str, title: str):
    ax.set_xlabel("Serial position")
    ax.set_ylabel(ylabel)
    ax.set_xlim(0.5, list_length + 0.5)
    ax.set_ylim(0, 1)
    ax.set_title(title)


def style_spc(ax, list_length: int):
    _style_positions(ax, list_length, "Recall probability", "Serial-position curve")


def style_lag_crp(ax, max_lag: int):
    ax.set_xlabel("Lag")
    ax.set_ylabel("Conditional response probability")
    ax.set_xlim(-max_lag - 0.5, max_lag + 0.5)
    ax.set_ylim(0, 1)
    ax.axvline(0, color="0.85", lw=0.8, zorder=0)
    ax.set_title("Lag-CRP")


def style_pfr(ax, list_length: int):
    _style_positions(ax, list_length, "Probability of first recall", "Probability of first recall")


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
    import matplotlib.pyplot as plt  # here, not at import: the widgets draw without pyplot (0.4 s less to start)

    fig, axes = plt.subplots(1, 3, figsize=figsize, layout="constrained")
    plot_summary(axes, summarize(recalls, list_length), max_lag=max_lag, label=label)
    if data is not None:
        data_recalls = getattr(data, "recalls", data)
        plot_summary(axes, summarize(data_recalls, list_length), max_lag=max_lag,
                     label=getattr(data, "name", None) or data_label, color="k", ls="--")
    axes[0].legend(frameon=False, fontsize="small")
    return fig


class CurvePanels:
    """Serial-position curve, lag-CRP and PFR panels that redraw fast, in place.

    The axes, labels and an optional data overlay are drawn once into a cached
    background; :meth:`show` only moves the model's lines and blits them onto
    that background, so a redraw costs a few milliseconds. :meth:`png` returns
    the current picture (what the widgets display). No pyplot figure is
    created, so nothing is displayed twice in a notebook.

    Attributes:
        figure: the matplotlib ``Figure``.
        model_summary: the :class:`~cmrlab.analysis.Summary` last shown.
        data_summary: the overlaid data's summary, or ``None``.
    """

    def __init__(self, list_length: int, max_lag: int = 5, figsize=(11, 3.3), dpi: int = 80):
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure

        self.figure = Figure(figsize=figsize, dpi=dpi)
        self.canvas = FigureCanvasAgg(self.figure)
        self.axes = self.figure.subplots(1, 3)
        self.max_lag = max_lag
        self.model_summary = None
        self.data_summary = None
        self.data_label = None
        self._lines = None
        self._laid_out = False
        self.set_layout(list_length)

    def set_layout(self, list_length: int, data_summary: Summary | None = None, data_label: str | None = None):
        """Redraw the static parts: axes for ``list_length`` items and the data overlay."""
        self.list_length = list_length
        self.data_summary, self.data_label = data_summary, data_label
        for ax in self.axes:
            ax.clear()
        empty = np.full(list_length, np.nan)
        empty_crp = np.full(2 * list_length - 1, np.nan)
        self._lines = (
            plot_spc(self.axes[0], empty, label="CMR", animated=True, color="C0"),
            plot_lag_crp(self.axes[1], empty_crp, max_lag=self.max_lag, animated=True, color="C0"),
            plot_pfr(self.axes[2], empty, animated=True, color="C0"),
        )
        if data_summary is not None:
            plot_summary(self.axes, data_summary, max_lag=self.max_lag, label=data_label or "data",
                         color="k", ls="--", alpha=0.8)
        self.axes[0].legend(frameon=False, fontsize="small", loc="upper center")
        if not self._laid_out:
            # the constrained layout costs two thirds of a redraw; the axes' labels do not change
            # with the list length or the data, so their positions are found once
            self.figure.set_layout_engine("constrained")
            self.canvas.draw()
            self.figure.set_layout_engine("none")  # keep the layout fixed for blitting
            self._laid_out = True
        else:
            self.canvas.draw()
        self._background = self.canvas.copy_from_bbox(self.figure.bbox)
        if self.model_summary is not None and np.size(self.model_summary.spc) == list_length:
            self.show(self.model_summary)

    def show(self, summary: Summary) -> None:
        """Move the model's lines to ``summary`` and blit them."""
        self.model_summary = summary
        spc_line, crp_line, pfr_line = self._lines
        positions = np.arange(1, self.list_length + 1)
        spc_line.set_data(positions, np.asarray(summary.spc, float))
        crp_line.set_data(*lag_window(summary.lag_crp, self.max_lag))
        pfr_line.set_data(positions, np.asarray(summary.pfr, float))
        self.canvas.restore_region(self._background)
        for ax, line in zip(self.axes, self._lines):
            ax.draw_artist(line)

    def curve_data(self) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """``{"spc" | "lag_crp" | "pfr": (x, y)}`` of the model lines now drawn."""
        return {name: tuple(np.asarray(a) for a in line.get_data())
                for name, line in zip(("spc", "lag_crp", "pfr"), self._lines)}

    def png(self, compress_level: int = 1) -> bytes:
        """The current picture as PNG bytes (fast, lightly compressed)."""
        return _canvas_png(self.canvas, compress_level)


def _canvas_png(canvas, compress_level: int = 1) -> bytes:
    from PIL import Image

    width, height = canvas.get_width_height()
    image = Image.frombuffer("RGBA", (width, height), canvas.buffer_rgba(), "raw", "RGBA", 0, 1)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", compress_level=compress_level)
    return buffer.getvalue()


def style_irt(ax, max_output: int):
    ax.set_xlabel("Output position (gap after the k-th recall)")
    ax.set_ylabel("Inter-response time (s)")
    ax.set_xlim(0.5, max_output + 0.5)
    ax.set_title("Inter-response times")


def plot_irt(ax, irt_ms, max_output: int = 10, label=None, **style):
    """Mean inter-response times ``(L - 1,)`` in ms (:func:`cmrlab.irt`), drawn in seconds.

    Output positions ``1..max_output`` are shown: entry ``k - 1`` is the gap
    between the ``k``-th and ``(k + 1)``-th valid recalls.
    """
    seconds = np.asarray(irt_ms, float)[:max_output] / 1000
    (line,) = ax.plot(np.arange(1, seconds.size + 1), seconds, marker="o", ms=3, label=label, **style)
    style_irt(ax, max_output)
    return line


class IRTPanel:
    """One panel of inter-response times by output position that redraws fast, in place.

    As :class:`CurvePanels`: the axes and an optional data curve are drawn
    once into a cached background; :meth:`show` moves the model's line and
    blits it. The y axis grows (with a full redraw) when the model's times
    leave it.

    Attributes:
        model_irt: the model's ``(L - 1,)`` times in ms last shown, or ``None``.
        data_irt: the overlaid data's, or ``None``.
    """

    def __init__(self, max_output: int = 10, figsize=(5.5, 3.0), dpi: int = 80):
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure

        self.figure = Figure(figsize=figsize, dpi=dpi)
        self.canvas = FigureCanvasAgg(self.figure)
        self.ax = self.figure.subplots()
        self.max_output = max_output
        self.model_irt = None
        self.data_irt, self.data_label = None, None
        self._top = 6.0
        self.set_layout()

    def set_layout(self, data_irt=None, data_label: str | None = None) -> None:
        """Redraw the static parts: the axes and the data's times (ms) if given."""
        self.data_irt, self.data_label = data_irt, data_label
        self.ax.clear()
        self._line = plot_irt(self.ax, np.full(self.max_output, np.nan), self.max_output, label="CMR",
                              animated=True, color="C0")
        if data_irt is not None:
            plot_irt(self.ax, data_irt, self.max_output, label=data_label or "data", color="k", ls="--", alpha=0.8)
            self._top = max(self._top, float(np.nanmax(np.asarray(data_irt, float)[: self.max_output])) / 1000 * 1.1)
        self.ax.set_ylim(0, self._top)
        self.ax.legend(frameon=False, fontsize="small", loc="upper left")
        self.figure.set_layout_engine("constrained")
        self.canvas.draw()
        self.figure.set_layout_engine("none")
        self._background = self.canvas.copy_from_bbox(self.figure.bbox)
        if self.model_irt is not None:
            self._blit(self.model_irt)

    def show(self, irt_ms) -> None:
        """Move the model's line to ``irt_ms`` ``(L - 1,)`` (ms) and blit it."""
        self.model_irt = np.asarray(irt_ms, float)
        shown = self.model_irt[: self.max_output] / 1000
        if np.isfinite(shown).any() and np.nanmax(shown) > self._top:
            self._top = float(np.nanmax(shown)) * 1.1
            self.set_layout(self.data_irt, self.data_label)  # redraws the model line too
            return
        self._blit(self.model_irt)

    def _blit(self, irt_ms) -> None:
        seconds = np.asarray(irt_ms, float)[: self.max_output] / 1000
        self._line.set_data(np.arange(1, seconds.size + 1), seconds)
        self.canvas.restore_region(self._background)
        self.ax.draw_artist(self._line)

    def curve_data(self) -> tuple[np.ndarray, np.ndarray]:
        """``(output positions, seconds)`` of the model line now drawn."""
        return tuple(np.asarray(a) for a in self._line.get_data())

    def png(self, compress_level: int = 1) -> bytes:
        """The current picture as PNG bytes."""
        return _canvas_png(self.canvas, compress_level)


def model_state_figure(step: dict, figure=None):
    """Draw one step of :func:`cmrlab.simulation.trace_trial`; returns ``(figure, png bytes)``.

    Panels: the context vector (unit 0 = start of list), ``M^CF`` as a heatmap
    (rows = context units, columns = items) and the outcome probabilities
    (bar 0 = stop; empty during study). Pass the returned figure back in to
    reuse it.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    if figure is None:
        figure = Figure(figsize=(11, 3.2), dpi=80, layout="constrained")
        FigureCanvasAgg(figure)
    figure.clear()
    ax_context, ax_mcf, ax_probs = figure.subplots(1, 3, width_ratios=[1, 1.1, 1])
    context = step["context"]
    units = np.arange(context.size)
    ax_context.bar(units, context, color="C0")
    ax_context.set_xticks(units)
    ax_context.set_xlabel("Context unit (0 = start of list)")
    ax_context.set_ylabel("Activation")
    ax_context.set_ylim(0, 1)
    ax_context.set_title("Context c")
    image = ax_mcf.imshow(step["mcf"], cmap="viridis", aspect="auto", origin="upper",
                          extent=(0.5, step["mcf"].shape[1] + 0.5, step["mcf"].shape[0] - 0.5, -0.5))
    figure.colorbar(image, ax=ax_mcf, label="Association strength")
    ax_mcf.set_xlabel("Item")
    ax_mcf.set_ylabel("Context unit")
    ax_mcf.set_title("M^CF (context to item)")
    outcomes = np.arange(context.size)
    probabilities = step["probabilities"]
    colors = ["0.4"] + ["C1"] * (context.size - 1)
    if probabilities is not None:
        ax_probs.bar(outcomes, probabilities, color=colors)
        for item in step["recalled"]:
            ax_probs.annotate("✓", (item, 0.02), ha="center", color="C2")
    ax_probs.set_xticks(outcomes, ["stop"] + [str(i) for i in outcomes[1:]], fontsize="small")
    ax_probs.set_xlabel("Outcome")
    ax_probs.set_ylabel("Probability")
    ax_probs.set_ylim(0, 1)
    ax_probs.set_title("Outcome probabilities" if probabilities is not None else "Outcome probabilities (recall only)")
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return figure, buffer.getvalue()
