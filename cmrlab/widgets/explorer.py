"""The Explorer: a slider per CMR parameter and three live curves.

    from cmrlab.widgets import Explorer
    Explorer()          # in a notebook cell; or Explorer(dataset="LL20-1s")

Moving a slider simulates ``n_lists`` fresh lists, recomputes the
serial-position curve, lag-CRP and probability of first recall, and redraws
the picture in place. Slider events that arrive faster than updates finish are
coalesced: one update reads the newest values. Without a front end (tests,
scripts) the panel still works: set values with :meth:`Explorer.set` and read
:attr:`Explorer.parameters` and :meth:`Explorer.curves`.
"""

from __future__ import annotations

import asyncio
import html
import time
from typing import Mapping

import ipywidgets as widgets
import jax
import numpy as np

from cmrlab.analysis import Summary, summarize
from cmrlab.datasets import MURDOCK_CONDITIONS, RecallDataset, load_healey_kahana2014, load_murdock1962
from cmrlab.parameters import DEFAULT_PARAMETERS, PARAMETER_TABLE, PARAMETERS, PRESETS, check_names, check_value
from cmrlab.plotting import CurvePanels
from cmrlab.simulation import simulate

HEALEY_KAHANA = "Healey & Kahana (2014) no-task lists"
DATASETS: tuple[str, ...] = ("none", *MURDOCK_CONDITIONS, HEALEY_KAHANA)
"""Choices of the data overlay."""

_LIST_SIZES = (100, 250, 500, 1000, 2000, 5000)


def _load(name: str) -> RecallDataset:
    if name == HEALEY_KAHANA:
        return load_healey_kahana2014(no_task_only=True)
    return load_murdock1962(name)


def _number(name: str, value) -> float:
    """``value`` as a float inside the bounds of parameter ``name``, or a ValueError saying why not."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.number, np.ndarray, jax.Array)):
        raise ValueError(f"{name} must be a number, got {value!r} ({type(value).__name__}).")
    if np.ndim(value) == 0 and 0 <= float(value) < PARAMETER_TABLE[name].lower:
        value = PARAMETER_TABLE[name].lower  # a slider at 0 stands for the lower bound
    check_value(name, value)
    return float(value)


class Explorer:
    """Sliders for every CMR parameter next to live SPC, lag-CRP and PFR plots.

    Args:
        parameters: starting values (default: the spec defaults); any subset
            of the 11 names.
        list_length: items per simulated list (set by ``dataset`` if given).
        n_lists: lists simulated per update.
        seed: PRNG seed; the same seed and values give the same curves.
        dataset: a name from :data:`DATASETS` to draw as dashed black curves.
        max_lag: lags shown in the lag-CRP.
        update_delay: seconds an update waits for further slider events to
            merge (only with a running event loop, as in Jupyter).

    Attributes:
        sliders: ``{name: FloatSlider}``, one per parameter, from the table.
        widget: the whole panel (what a notebook displays).
        update_count: updates done so far; last_update_seconds: the last one's duration.
    """

    def __init__(self, parameters: Mapping[str, float] | None = None, list_length: int = 16,
                 n_lists: int = 1000, seed: int = 0, dataset: str = "none", max_lag: int = 5,
                 update_delay: float = 0.005):
        start = dict(DEFAULT_PARAMETERS)
        if parameters:
            check_names(parameters)
            start.update({name: _number(name, value) for name, value in parameters.items()})
        if dataset not in DATASETS:
            raise ValueError(f"unknown dataset {dataset!r}; choose one of {list(DATASETS)}.")
        self.update_delay = update_delay
        self.update_count = 0
        self.last_update_seconds = float("nan")
        self._scheduled = False
        self._hold = False
        self._building = False
        self._data: dict[str, RecallDataset] = {}
        self._data_summary: Summary | None = None
        self._presets = {name: dict(values) for name, values in PRESETS.items()}
        self.widened: dict[str, float] = {}

        style = {"description_width": "165px"}
        layout = widgets.Layout(width="430px")
        self.sliders: dict[str, widgets.FloatSlider] = {}
        for p in PARAMETERS:
            low, high, step = p.slider
            self.sliders[p.name] = widgets.FloatSlider(
                value=float(start[p.name]), min=min(low, start[p.name]), max=max(high, start[p.name]), step=step,
                description=f"{p.label} ({p.symbol})", tooltip=p.meaning,
                continuous_update=True, readout_format=".3f" if step < 0.01 else ".2f",
                style=style, layout=layout)
        self.list_length = widgets.IntSlider(value=list_length, min=3, max=40, description="list length",
                                             style=style, layout=layout, continuous_update=False)
        self.n_lists = widgets.Dropdown(options=_LIST_SIZES, value=n_lists if n_lists in _LIST_SIZES else 1000,
                                        description="simulated lists", style=style, layout=layout)
        self.seed = widgets.IntText(value=seed, description="random seed", style=style, layout=layout)
        self.preset = widgets.Dropdown(options=["(choose a preset)", *self._presets], description="preset",
                                       style=style, layout=layout)
        self.reset_button = widgets.Button(description="reset to defaults", icon="undo",
                                           tooltip="Set every parameter back to the spec defaults")
        self.dataset = widgets.Dropdown(options=DATASETS, value="none", description="compare with data",
                                        style=style, layout=layout)
        self.image = widgets.Image(format="png", layout=widgets.Layout(width="100%", max_width="900px"))
        self.status = widgets.HTML()

        for slider in self.sliders.values():
            slider.observe(self._on_change, names="value")
        for control in (self.n_lists, self.seed):
            control.observe(self._on_change, names="value")
        self.list_length.observe(self._on_list_length, names="value")
        self.dataset.observe(self._on_dataset, names="value")
        self.preset.observe(self._on_preset, names="value")
        self.reset_button.on_click(lambda _: self.set_parameters(DEFAULT_PARAMETERS))

        self.panels = CurvePanels(list_length, max_lag=max_lag)
        controls = widgets.VBox([self.preset, self.reset_button, self.dataset, self.list_length,
                                 self.n_lists, self.seed],
                                layout=widgets.Layout(margin="0 0 0 20px"))
        parameter_box = widgets.VBox(list(self.sliders.values()))
        self.widget = widgets.VBox([
            self.image, self.status,
            widgets.HBox([parameter_box, controls], layout=widgets.Layout(flex_flow="row wrap")),
        ])
        # draw now, not later: the next notebook cell may read the curves at once
        self._building = True
        try:
            self.dataset.value = dataset  # also sets the list length
        finally:
            self._building = False
        self.update()

    # ------------------------------------------------------------------ state

    @property
    def parameters(self) -> dict[str, float]:
        """The 11 parameter values now in use (a slider at 0 means the lower bound)."""
        return {p.name: max(float(self.sliders[p.name].value), p.lower) for p in PARAMETERS}

    def curves(self) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """``{"spc" | "lag_crp" | "pfr": (x, y)}`` of the model curves now drawn."""
        return self.panels.curve_data()

    @property
    def summary(self) -> Summary:
        """The model's :class:`~cmrlab.analysis.Summary` now drawn."""
        return self.panels.model_summary

    @property
    def data_summary(self) -> Summary | None:
        """The overlaid data's summary, or ``None``."""
        return self._data_summary

    def png(self) -> bytes:
        """The picture now shown, as PNG bytes."""
        return self.image.value

    # ------------------------------------------------------------------ changes

    def set(self, name: str, value: float) -> None:
        """Set one parameter's slider (as a student would) and update.

        Raises:
            ValueError: ``name`` is not a parameter, or ``value`` is not a
                number inside the parameter's bounds.
        """
        check_names([name])
        self._show(name, _number(name, value))

    def set_parameters(self, parameters: Mapping[str, float]) -> None:
        """Set several sliders at once, with a single update.

        A value beyond a slider's teaching range (a fitted ``τ = 50``, say)
        widens that slider so that it shows the true value; the status line
        says which sliders were widened.
        """
        check_names(parameters)
        values = {name: _number(name, value) for name, value in parameters.items()}
        self._hold = True
        try:
            for name, value in values.items():
                self._show(name, value)
        finally:
            self._hold = False
        self._schedule()

    def add_preset(self, name: str, parameters: Mapping[str, float]) -> None:
        """Offer ``parameters`` (e.g. a saved fit) in the preset menu (values are checked now)."""
        check_names(parameters)
        values = {key: _number(key, value) for key, value in parameters.items()}
        self._presets[name] = {**DEFAULT_PARAMETERS, **values}
        self.preset.options = ["(choose a preset)", *self._presets]

    def _show(self, name: str, value: float) -> None:
        """Put ``value`` on its slider, widening the slider's range if the value lies beyond it."""
        slider = self.sliders[name]
        low, high, _ = PARAMETER_TABLE[name].slider
        self.widened.pop(name, None)
        if not low <= value <= high:
            self.widened[name] = value
        if value > slider.max:
            slider.max = value
        elif value < slider.min:
            slider.min = value
        slider.value = value

    def _on_change(self, change=None):
        if not self._hold:
            self._schedule()

    def _on_preset(self, change):
        if change["new"] in self._presets:
            self.set_parameters(self._presets[change["new"]])

    def _on_list_length(self, change):
        if self._hold:  # a data set is setting its own list length
            return
        data = self._data_summary if self.dataset.value != "none" else None
        if data is not None and np.size(data.spc) != change["new"]:
            self.dataset.value = "none"  # the data no longer match; this redraws
            return
        self.panels.set_layout(change["new"], data, self.dataset.value)
        self._schedule()

    def _on_dataset(self, change):
        name = change["new"]
        if name == "none":
            self._data_summary = None
            self.panels.set_layout(self.list_length.value)
            self._schedule()
            return
        if name not in self._data:
            self._data[name] = _load(name)
        data = self._data[name]
        self._data_summary = summarize(data.recalls, data.list_length)
        self._hold = True
        try:
            self.list_length.value = data.list_length
        finally:
            self._hold = False
        self.panels.set_layout(data.list_length, self._data_summary, name)
        self._schedule()

    def _schedule(self):
        """Update now, or (inside Jupyter's event loop) once the burst of events is over."""
        if self._hold or self._building:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            self.update()
            return
        if not self._scheduled:
            self._scheduled = True
            loop.call_later(self.update_delay, self._run_scheduled)

    def _run_scheduled(self):
        self._scheduled = False
        self.update()

    # ------------------------------------------------------------------ drawing

    def update(self) -> None:
        """Simulate, analyse and redraw with the current values (about 15 ms for 1,000 lists)."""
        start = time.perf_counter()
        L = self.list_length.value
        if self.panels.list_length != L:
            self.panels.set_layout(L, self._data_summary, self.dataset.value)
        recalls = simulate(jax.random.PRNGKey(int(self.seed.value)), self.parameters, L, int(self.n_lists.value))
        summary = summarize(recalls, L)
        self.panels.show(summary)
        self.image.value = self.panels.png()
        self.status.value = self._status_text(summary)
        self.update_count += 1
        self.last_update_seconds = time.perf_counter() - start

    def _status_text(self, summary: Summary) -> str:
        text = (f"<b>CMR</b>: {float(summary.mean_recalls):.2f} of {self.list_length.value} items "
                f"recalled per list, temporal factor {float(summary.temporal_factor):.3f}")
        if self.widened:
            names = ", ".join(f"{PARAMETER_TABLE[n].label} to {v:g}" for n, v in self.widened.items())
            text += f" &nbsp;|&nbsp; slider range widened to show the true value: {html.escape(names)}"
        if self._data_summary is not None:
            data = self._data_summary
            text += (f" &nbsp;|&nbsp; <b>{html.escape(self.dataset.value)}</b>: "
                     f"{float(data.mean_recalls):.2f} recalled, temporal factor {float(data.temporal_factor):.3f}")
        return text

    def _repr_mimebundle_(self, **kwargs):
        return self.widget._repr_mimebundle_(**kwargs)
