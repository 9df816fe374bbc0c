"""The Explorer: a slider per CMR parameter and three live curves.

    from cmrlab.widgets import Explorer
    Explorer()          # in a notebook cell; or Explorer(dataset="LL20-1s")
    Explorer(dataset="Polyn, Norman & Kahana (2009)")   # the full model on Polyn's lists

Moving a slider simulates ``n_lists`` fresh lists, recomputes the
serial-position curve, lag-CRP and probability of first recall, and redraws
the picture in place. Slider events that arrive faster than updates finish are
coalesced: one update reads the newest values. The base model runs in
list-length buckets (:data:`cmrlab.simulation.LIST_LENGTH_BUCKETS`): one
compiled program serves every length up to 16 and another every length up to
40 (compiled in the background after the first picture), so moving the
list-length slider redraws in about 0.15 s instead of compiling for seconds,
with the numbers of the unpadded computation. Without a front end (tests,
scripts) the panel still works: set values with :meth:`Explorer.set` and read
:attr:`Explorer.parameters` and :meth:`Explorer.curves`.

Two models: the base model (temporal context, 11 sliders) and the full model
of Polyn, Norman & Kahana (2009) (``docs/source_model.md``), which adds the 8
sliders of source context, task-shift disruption, semantic associations and
the leaky competitive accumulator. With Polyn's data chosen, each update
simulates the 1,262 experimental lists with their own words, tasks and LSA
similarities, and the status line compares model and data on the paper's
figures: recall of control and task-shift lists (the shift cost), source
clustering and semantic clustering. The accumulator retrieval also shows
recall times.
"""

from __future__ import annotations

import asyncio
import html
import threading
import time
from typing import Mapping, NamedTuple

import ipywidgets as widgets
import jax
import jax.numpy as jnp
import numpy as np

from cmrlab.analysis import Summary, mean_recalls, summarize, summarize_padded
from cmrlab.datasets import (
    MURDOCK_CONDITIONS,
    RecallDataset,
    load_healey_kahana2014,
    load_murdock1962,
    load_polyn2009,
)
from cmrlab.organization import category_crp, distance_rank
from cmrlab.parameters import (
    ALL_PARAMETER_TABLE,
    DEFAULT_PARAMETERS,
    EPS,
    PARAMETER_TABLE,
    PARAMETERS,
    PRESETS,
    SOURCE_DEFAULTS,
    SOURCE_PARAMETER_NAMES,
    SOURCE_PARAMETERS,
    SOURCE_PRESETS,
    MECHANISM_NAMES,
    check_all_names,
    check_value,
)
from cmrlab.plotting import CurvePanels, IRTPanel
from cmrlab.recall_times import irt
from cmrlab.simulation import LIST_LENGTH_BUCKETS, simulate, simulate_padded, simulation_function

HEALEY_KAHANA = "Healey & Kahana (2014) no-task lists"
POLYN = "Polyn, Norman & Kahana (2009)"
DATASETS: tuple[str, ...] = ("none", *MURDOCK_CONDITIONS, POLYN, HEALEY_KAHANA)
"""Choices of the data overlay."""

MODELS: tuple[str, ...] = ("base", "full")
"""``"base"``: temporal context only (11 parameters); ``"full"``: Polyn et al. (2009), 19 parameters."""

RETRIEVALS: tuple[str, ...] = ("luce", "accumulator")
"""Retrieval rules of the full model: the Luce choice rule, or the leaky competitive accumulator (with times)."""

_LIST_SIZES = (100, 250, 500, 1000, 2000, 5000)
_LIST_LENGTH = 24  # Polyn et al.'s lists


def _load(name: str) -> RecallDataset:
    if name == HEALEY_KAHANA:
        return load_healey_kahana2014(no_task_only=True)
    if name == POLYN:
        return load_polyn2009()
    return load_murdock1962(name)


def _number(name: str, value, model: str = "base") -> float:
    """``value`` as a float inside the bounds of parameter ``name``, or a ValueError saying why not.

    The bounds are the base model's or (``model="full"``) the full model's,
    where ``start_drift_rate``, ``shared_support`` and ``item_support`` may be 0.
    """
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.number, np.ndarray, jax.Array)):
        raise ValueError(f"{name} must be a number, got {value!r} ({type(value).__name__}).")
    spec = ALL_PARAMETER_TABLE[name] if model == "full" else PARAMETER_TABLE.get(name, ALL_PARAMETER_TABLE[name])
    if np.ndim(value) == 0 and 0 <= float(value) < spec.lower <= EPS:
        value = spec.lower  # a slider at 0 stands for the lower bound eps
    check_value(name, value, "base" if name in PARAMETER_TABLE and model == "base" else "full")
    return float(value)


def _is_full_preset(parameters: Mapping[str, float]) -> bool:
    return any(name in SOURCE_PARAMETER_NAMES for name in parameters)


_PREPARED: set[tuple[int, int]] = set()
_PREPARED_LOCK = threading.Lock()
_PREPARING: list[threading.Thread] = []


def wait_for_prepared_buckets(timeout: float | None = None) -> None:
    """Wait until the background compilations of list-length buckets started so far are done."""
    for thread in list(_PREPARING):
        thread.join(timeout)


def _prepare_buckets(n_lists: int) -> None:
    """Compile the other list-length buckets for ``n_lists`` lists in a background thread (once per process).

    The first update compiles the bucket it needs; the others are compiled
    while the student looks at the first picture, so that the first move of
    the list-length slider into another bucket redraws at once. The thread
    is not a daemon: a process that ends meanwhile waits for it (a few
    seconds) rather than killing a compilation.
    """
    with _PREPARED_LOCK:
        todo = [b for b in LIST_LENGTH_BUCKETS if (b, n_lists) not in _PREPARED]
        _PREPARED.update((b, n_lists) for b in todo)
    if not todo:
        return

    def compile_buckets():
        key = jax.random.PRNGKey(0)
        for bucket in todo:
            recalls = simulate_padded(key, DEFAULT_PARAMETERS, bucket, n_lists, bucket)
            summarize_padded(recalls, bucket, bucket)

    thread = threading.Thread(target=compile_buckets, name="cmrlab-explorer-buckets")
    with _PREPARED_LOCK:
        _PREPARING[:] = [t for t in _PREPARING if t.is_alive()] + [thread]
    thread.start()


class PolynFigures(NamedTuple):
    """The figures of Polyn et al. (2009) for one set of recalls of their 1,262 lists.

    All pooled over the lists (not means of subject means).

    Attributes:
        recall_control: P(recall) on the control (one-task) lists.
        recall_shift: P(recall) on the task-shift lists.
        shift_cost: ``recall_control - recall_shift``.
        source_clustering: :func:`cmrlab.category_crp` with the tasks as
            categories, on the task-shift lists (same-task CRP).
        semantic_factor: :func:`cmrlab.distance_rank` with distances
            ``1 - LSA``, all lists.
        first_recall_seconds: mean time of the first recall in s (lists with
            a first recall), NaN without times.
    """

    recall_control: float
    recall_shift: float
    shift_cost: float
    source_clustering: float
    semantic_factor: float
    first_recall_seconds: float


class _PolynLists:
    """Polyn et al.'s lists, on the device once, and what the figures need of them."""

    def __init__(self, data: RecallDataset):
        self.data = data
        control = np.flatnonzero(data.list_type < 2)
        shift = np.flatnonzero(data.list_type == 2)
        self.control, self.shift = jnp.asarray(control), jnp.asarray(shift)
        self.shift_sources = np.asarray(data.sources[shift])
        self.study_items = np.asarray(data.study_items)
        self.distances = jnp.asarray(1 - data.similarity, jnp.float32)
        self._runs: dict[str, object] = {}
        self.data_figures = self.figures(data.recalls, data.times)
        self.data_irt = np.asarray(irt(data.recalls, data.times, data.list_length))

    def pad(self, x):
        """``(n, L)`` simulated recalls or times as wide as the data's recall matrix (0 padding)."""
        return jnp.pad(x, ((0, 0), (0, self.data.recalls.shape[1] - x.shape[1])))

    def run(self, retrieval: str):
        """``run(key, parameters)`` simulating the 1,262 lists (prepared once per rule)."""
        if retrieval not in self._runs:
            self._runs[retrieval] = simulation_function(
                self.data.list_length, len(self.data), study_items=self.data.study_items,
                sources=self.data.sources, similarity=self.data.similarity, retrieval=retrieval,
                return_times=retrieval == "accumulator")
        return self._runs[retrieval]

    def figures(self, recalls, times=None) -> PolynFigures:
        L = self.data.list_length
        recalls = jnp.asarray(recalls)
        control = float(mean_recalls(recalls[self.control], L)) / L
        shift = float(mean_recalls(recalls[self.shift], L)) / L
        source = float(category_crp(recalls[self.shift], self.shift_sources, L))
        semantic = float(distance_rank(recalls, self.study_items, self.distances, L))
        first = float("nan")
        if times is not None:
            recalled = np.asarray(recalls)[:, 0] > 0
            if recalled.any():
                first = float(np.mean(np.asarray(times)[recalled, 0])) / 1000
        return PolynFigures(control, shift, control - shift, source, semantic, first)


class Explorer:
    """Sliders for every CMR parameter next to live SPC, lag-CRP and PFR plots.

    Args:
        parameters: starting values (default: the spec defaults); any subset
            of the 11 base names, or of all 19 (a full-model name selects the
            full model).
        list_length: items per simulated list (set by ``dataset`` if given).
        n_lists: lists simulated per update (Polyn's data: always its 1,262 lists).
        seed: PRNG seed; the same seed and values give the same curves.
        dataset: a name from :data:`DATASETS` to draw as dashed black curves;
            :data:`POLYN` also selects the full model and simulates Polyn et
            al.'s own lists.
        max_lag: lags shown in the lag-CRP.
        update_delay: seconds an update waits for further slider events to
            merge (only with a running event loop, as in Jupyter).
        model: ``"base"`` (11 parameters, temporal context) or ``"full"``
            (Polyn et al. 2009: 19 parameters; ``docs/source_model.md``).
        retrieval: ``"luce"`` or ``"accumulator"`` (full model only; shows
            inter-response times too).

    Attributes:
        sliders: ``{name: FloatSlider}``, one per base parameter, from the table.
        source_sliders: ``{name: FloatSlider}``, one per parameter the full
            model adds (shown with the full model).
        model, retrieval: the model and retrieval-rule selectors.
        widget: the whole panel (what a notebook displays).
        update_count: updates done so far; last_update_seconds: the last one's duration.
        polyn_figures: the model's :class:`PolynFigures` now shown (Polyn's
            data chosen), else ``None``; data_polyn_figures: the data's.
    """

    def __init__(self, parameters: Mapping[str, float] | None = None, list_length: int = 16,
                 n_lists: int = 1000, seed: int = 0, dataset: str = "none", max_lag: int = 5,
                 update_delay: float = 0.005, model: str = "base", retrieval: str = "luce"):
        if dataset not in DATASETS:
            raise ValueError(f"unknown dataset {dataset!r}; choose one of {list(DATASETS)}.")
        if model not in MODELS:
            raise ValueError(f"unknown model {model!r}; choose 'base' (temporal context) or 'full' "
                             "(Polyn, Norman & Kahana 2009).")
        if retrieval not in RETRIEVALS:
            raise ValueError(f"unknown retrieval {retrieval!r}; choose 'luce' (the Luce choice rule) or "
                             "'accumulator' (Polyn et al.'s leaky competitive accumulator, with times).")
        if parameters:
            check_all_names(parameters)
        if (parameters and _is_full_preset(parameters)) or dataset == POLYN or retrieval == "accumulator":
            model = "full"
        start = {**DEFAULT_PARAMETERS, **SOURCE_DEFAULTS}
        if parameters:
            start.update({name: _number(name, value, model) for name, value in parameters.items()})
        self.update_delay = update_delay
        self.update_count = 0
        self.last_update_seconds = float("nan")
        self._scheduled = False
        self._hold = False
        self._building = True
        self._data: dict[str, RecallDataset] = {}
        self._data_summary: Summary | None = None
        self._polyn: _PolynLists | None = None
        self.polyn_figures: PolynFigures | None = None
        self._presets = {name: dict(values) for name, values in {**PRESETS, **SOURCE_PRESETS}.items()}
        self.widened: dict[str, float] = {}

        style = {"description_width": "165px"}
        layout = widgets.Layout(width="430px")

        def slider(p):
            low, high, step = p.slider
            return widgets.FloatSlider(
                value=float(start[p.name]), min=min(low, start[p.name]), max=max(high, start[p.name]), step=step,
                description=f"{p.label} ({p.symbol})", tooltip=p.meaning,
                continuous_update=True, readout_format=".3f" if step < 0.01 else ".2f",
                style=style, layout=layout)

        self.sliders: dict[str, widgets.FloatSlider] = {p.name: slider(p) for p in PARAMETERS}
        self.source_sliders: dict[str, widgets.FloatSlider] = {p.name: slider(p) for p in SOURCE_PARAMETERS}
        self.model = widgets.ToggleButtons(
            options=[("base CMR", "base"), ("full CMR (Polyn 2009)", "full")], value=model,
            description="model", style={"description_width": "60px", "button_width": "150px"},
            tooltips=["Temporal context only (11 parameters)",
                      "Source and semantic context, task-shift disruption, accumulator (19 parameters)"])
        self.retrieval = widgets.ToggleButtons(
            options=[("Luce choice rule", "luce"), ("accumulator (times)", "accumulator")], value=retrieval,
            description="retrieval", style={"description_width": "60px", "button_width": "150px"},
            tooltips=["Sample recalls from the Luce rule and the stop rule (the likelihood's rule)",
                      "Polyn et al.'s leaky competitive accumulator: a race in 100 ms steps for 90 s"])
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
        self.times_image = widgets.Image(format="png", layout=widgets.Layout(width="100%", max_width="450px"))
        self.status = widgets.HTML()

        for control in (*self.sliders.values(), *self.source_sliders.values(), self.n_lists, self.seed):
            control.observe(self._on_change, names="value")
        self.list_length.observe(self._on_list_length, names="value")
        self.dataset.observe(self._on_dataset, names="value")
        self.preset.observe(self._on_preset, names="value")
        self.model.observe(self._on_model, names="value")
        self.retrieval.observe(self._on_retrieval, names="value")
        self.reset_button.on_click(lambda _: self.reset())

        self.panels = CurvePanels(list_length, max_lag=max_lag)
        self.times_panel = IRTPanel()
        controls = widgets.VBox([self.preset, self.reset_button, self.dataset, self.list_length,
                                 self.n_lists, self.seed],
                                layout=widgets.Layout(margin="0 0 0 20px"))
        parameter_box = widgets.VBox(list(self.sliders.values()))
        self.source_box = widgets.VBox(
            [widgets.HTML("<b>Full model</b> (Polyn, Norman &amp; Kahana 2009): source context, "
                          "task-shift disruption, semantic associations; the accumulator's four "
                          "act with the accumulator retrieval only"),
             *self.source_sliders.values()])
        self.widget = widgets.VBox([
            self.image, self.times_image, self.status,
            widgets.HBox([self.model, self.retrieval], layout=widgets.Layout(flex_flow="row wrap")),
            widgets.HBox([parameter_box, controls], layout=widgets.Layout(flex_flow="row wrap")),
            self.source_box,
        ])
        self._show_model_controls()
        # draw now, not later: the next notebook cell may read the curves at once
        try:
            self.dataset.value = dataset  # also sets the list length
        finally:
            self._building = False
        self.update()

    # ------------------------------------------------------------------ state

    @property
    def full_model(self) -> bool:
        """True when the full model (Polyn et al. 2009) is selected."""
        return self.model.value == "full"

    @property
    def parameters(self) -> dict[str, float]:
        """The parameter values now in use (a slider at 0 means the lower bound).

        The 11 base parameters with the base model; all 19 with the full
        model, whose bounds let ``start_drift_rate``, ``shared_support`` and
        ``item_support`` be 0.
        """
        if not self.full_model:
            return {p.name: max(float(self.sliders[p.name].value), p.lower) for p in PARAMETERS}
        values = {**self.sliders, **self.source_sliders}
        return {name: max(float(values[name].value), ALL_PARAMETER_TABLE[name].lower) for name in ALL_PARAMETER_TABLE}

    def curves(self) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """``{"spc" | "lag_crp" | "pfr": (x, y)}`` of the model curves now drawn.

        With the accumulator also ``"irt"``: output positions and the mean
        inter-response times (s) of the times panel.
        """
        curves = self.panels.curve_data()
        if self.retrieval.value == "accumulator":
            curves["irt"] = self.times_panel.curve_data()
        return curves

    @property
    def summary(self) -> Summary:
        """The model's :class:`~cmrlab.analysis.Summary` now drawn."""
        return self.panels.model_summary

    @property
    def data_summary(self) -> Summary | None:
        """The overlaid data's summary, or ``None``."""
        return self._data_summary

    @property
    def data_polyn_figures(self) -> PolynFigures | None:
        """Polyn et al.'s data on the figures of :class:`PolynFigures`, or ``None`` without that overlay."""
        return self._polyn.data_figures if self._polyn is not None and self.dataset.value == POLYN else None

    def png(self) -> bytes:
        """The picture now shown, as PNG bytes."""
        return self.image.value

    # ------------------------------------------------------------------ changes

    def set(self, name: str, value: float) -> None:
        """Set one parameter's slider (as a student would) and update.

        Setting one of the full model's parameters selects the full model.

        Raises:
            ValueError: ``name`` is not a parameter, or ``value`` is not a
                number inside the parameter's bounds.
        """
        check_all_names([name])
        model = "full" if name in SOURCE_PARAMETER_NAMES else self.model.value
        self._set_values({name: _number(name, value, model)}, model)

    def set_parameters(self, parameters: Mapping[str, float]) -> None:
        """Set several sliders at once, with a single update.

        A value beyond a slider's teaching range (a fitted ``τ = 50``, say)
        widens that slider so that it shows the true value; the status line
        says which sliders were widened. Any of the full model's parameters
        selects the full model.
        """
        check_all_names(parameters)
        model = "full" if _is_full_preset(parameters) else self.model.value
        self._set_values({name: _number(name, value, model) for name, value in parameters.items()}, model)

    def reset(self) -> None:
        """Every slider back to its default (the full model's mechanisms off), with one update."""
        self._set_values({**DEFAULT_PARAMETERS, **SOURCE_DEFAULTS}, self.model.value)

    def _set_values(self, values: Mapping[str, float], model: str) -> None:
        """Select ``model``, put checked ``values`` on their sliders, then update once."""
        self._hold = True
        try:
            self.model.value = model
            for name, value in values.items():
                self._show(name, value)
        finally:
            self._hold = False
        self._schedule()

    def add_preset(self, name: str, parameters: Mapping[str, float]) -> None:
        """Offer ``parameters`` (e.g. a saved fit) in the preset menu (values are checked now).

        A preset with any of the full model's parameters selects the full
        model; the others take their defaults.
        """
        check_all_names(parameters)
        model = "full" if _is_full_preset(parameters) else "base"
        values = {key: _number(key, value, model) for key, value in parameters.items()}
        if model == "full":
            self._presets[name] = {**DEFAULT_PARAMETERS, **SOURCE_DEFAULTS, **values}
        else:
            self._presets[name] = {**DEFAULT_PARAMETERS, **values}
        self.preset.options = ["(choose a preset)", *self._presets]

    def _slider(self, name: str) -> widgets.FloatSlider:
        return self.sliders[name] if name in self.sliders else self.source_sliders[name]

    def _show(self, name: str, value: float) -> None:
        """Put ``value`` on its slider, widening the slider's range if the value lies beyond it."""
        slider = self._slider(name)
        low, high, _ = ALL_PARAMETER_TABLE[name].slider
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
        name = change["new"]
        if name not in self._presets:
            return
        values = self._presets[name]
        if _is_full_preset(values):
            self.set_parameters(values)
            return
        # a base-model set: keep the model, turn the full model's mechanisms off
        model = self.model.value
        values = {n: _number(n, v, model) for n, v in values.items()}
        self._set_values({**values, **{n: 0.0 for n in MECHANISM_NAMES}}, model)

    def _on_model(self, change):
        if change["new"] == "base" and self.retrieval.value != "luce":
            hold, self._hold = self._hold, True
            try:
                self.retrieval.value = "luce"  # the base model has the Luce rule only
            finally:
                self._hold = hold
        self._show_model_controls()
        if not self._hold:
            self._schedule()

    def _on_retrieval(self, change):
        if change["new"] == "accumulator" and not self.full_model:
            hold, self._hold = self._hold, True
            try:
                self.model.value = "full"  # the accumulator is the full model's
            finally:
                self._hold = hold
        self._show_model_controls()
        if not self._hold:
            self._schedule()

    def _show_model_controls(self):
        self.source_box.layout.display = "" if self.full_model else "none"
        self.times_image.layout.display = "" if self.retrieval.value == "accumulator" else "none"
        self.n_lists.disabled = self.dataset.value == POLYN

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
            self.times_panel.set_layout()
            self._show_model_controls()
            self._schedule()
            return
        if name not in self._data:
            self._data[name] = _load(name)
        data = self._data[name]
        self._data_summary = summarize(data.recalls, data.list_length)
        self._hold = True
        try:
            self.list_length.value = data.list_length
            if name == POLYN:
                if self._polyn is None:
                    self._polyn = _PolynLists(data)
                self.model.value = "full"  # the lists' tasks and words are the full model's
        finally:
            self._hold = False
        self.panels.set_layout(data.list_length, self._data_summary, name)
        self.times_panel.set_layout(self._polyn.data_irt if name == POLYN else None, "data")
        self._show_model_controls()
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

    def _padded(self) -> bool:
        """Whether this update runs in a list-length bucket (the base model without Polyn's lists)."""
        return not self.full_model and self.dataset.value != POLYN

    def _simulate(self):
        """``(recalls, times or None)`` of this update's simulated lists."""
        key = jax.random.PRNGKey(int(self.seed.value))
        L = self.list_length.value
        retrieval = self.retrieval.value
        polyn = self.dataset.value == POLYN
        if self._padded():
            # one compiled function per list-length bucket: moving the list-length slider does not recompile
            return simulate_padded(key, self.parameters, L, int(self.n_lists.value)), None
        if not self.full_model:
            recalls, times = simulate(key, self.parameters, L, len(self._polyn.data)), None
        elif polyn:
            result = self._polyn.run(retrieval)(key, self.parameters)
            recalls, times = result if retrieval == "accumulator" else (result, None)
        else:
            result = simulate(key, self.parameters, L, int(self.n_lists.value), retrieval=retrieval,
                              return_times=retrieval == "accumulator")
            recalls, times = result if retrieval == "accumulator" else (result, None)
        if polyn:  # the data's width: the analyses of model and data share their compiled code
            recalls, times = (None if x is None else self._polyn.pad(x) for x in (recalls, times))
        return recalls, times

    def update(self) -> None:
        """Simulate, analyse and redraw with the current values.

        About 15 ms for 1,000 lists of the base model; the 1,262 lists of
        Polyn et al. with the full model and the Luce rule take about 80 ms,
        with the accumulator over a second (``benchmarks/bench_widgets.py``).
        """
        start = time.perf_counter()
        L = self.list_length.value
        if self.panels.list_length != L:
            self.panels.set_layout(L, self._data_summary, self.dataset.value)
        recalls, times = self._simulate()
        if self._padded():  # a list-length bucket: the same numbers, no new compilation
            summary = summarize_padded(recalls, L, recalls.shape[1])
        else:
            summary = summarize(recalls, L)
        self.panels.show(summary)
        self.image.value = self.panels.png()
        self.polyn_figures = self._polyn.figures(recalls, times) if self.dataset.value == POLYN else None
        if times is not None:
            self.times_panel.show(irt(recalls, times, L))
            self.times_image.value = self.times_panel.png()
        self.status.value = self._status_text(summary, times)
        self.update_count += 1
        self.last_update_seconds = time.perf_counter() - start
        if self._padded():
            _prepare_buckets(int(self.n_lists.value))

    def _status_text(self, summary: Summary, times=None) -> str:
        name = "CMR" if not self.full_model else f"CMR (full, {self.retrieval.value})"
        text = (f"<b>{name}</b>: {float(summary.mean_recalls):.2f} of {self.list_length.value} items "
                f"recalled per list, temporal factor {float(summary.temporal_factor):.3f}")
        if times is not None and self.polyn_figures is None:
            first = np.asarray(times)[:, 0]  # 0: no recall
            if (first > 0).any():
                text += f", first recall after {float(np.mean(first[first > 0])) / 1000:.2f} s"
        if self.widened:
            names = ", ".join(f"{ALL_PARAMETER_TABLE[n].label} to {v:g}" for n, v in self.widened.items())
            text += f" &nbsp;|&nbsp; slider range widened to show the true value: {html.escape(names)}"
        if self._data_summary is not None:
            data = self._data_summary
            text += (f" &nbsp;|&nbsp; <b>{html.escape(self.dataset.value)}</b>: "
                     f"{float(data.mean_recalls):.2f} recalled, temporal factor {float(data.temporal_factor):.3f}")
        if self.polyn_figures is not None:
            text += ("<br>Polyn et al.'s figures (pooled over lists): "
                     + self._figures_text("model", self.polyn_figures) + " &nbsp;|&nbsp; "
                     + self._figures_text("data", self.data_polyn_figures))
        return text

    @staticmethod
    def _figures_text(label: str, f: PolynFigures) -> str:
        text = (f"<b>{label}</b>: P(recall) control {f.recall_control:.3f}, task-shift {f.recall_shift:.3f}, "
                f"shift cost {f.shift_cost:.3f}; same-task CRP (shift lists) {f.source_clustering:.3f}; "
                f"semantic factor {f.semantic_factor:.3f}")
        if np.isfinite(f.first_recall_seconds):
            text += f"; first recall after {f.first_recall_seconds:.2f} s"
        return text

    def _repr_mimebundle_(self, **kwargs):
        return self.widget._repr_mimebundle_(**kwargs)
