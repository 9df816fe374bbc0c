"""Model inside: step through one list, study then recall, and watch CMR's state."""

from __future__ import annotations

from typing import Mapping

import ipywidgets as widgets
import jax

from cmrlab.parameters import DEFAULT_PARAMETERS
from cmrlab.plotting import model_state_figure
from cmrlab.simulation import trace_trial


class ModelInside:
    """Buttons to step forward and back through one simulated list.

    Each step shows the context vector, ``M^CF`` as a heatmap and, during
    recall, the outcome probabilities (bar 0 = stop).

    Args:
        parameters: CMR parameters (default: the spec defaults).
        list_length: items in the list (small lists read best).
        seed: PRNG seed of the simulated recall.

    Attributes:
        steps: the recorded states (:func:`cmrlab.simulation.trace_trial`).
        position: index of the step shown.
    """

    def __init__(self, parameters: Mapping[str, float] | None = None, list_length: int = 8, seed: int = 0):
        params = {**DEFAULT_PARAMETERS, **(parameters or {})}
        self.steps = trace_trial(jax.random.PRNGKey(seed), params, list_length)
        self.position = 0
        self.back = widgets.Button(description="back", icon="step-backward")
        self.forward = widgets.Button(description="forward", icon="step-forward")
        self.slider = widgets.IntSlider(value=0, min=0, max=len(self.steps) - 1, description="step",
                                        continuous_update=True)
        self.caption = widgets.HTML()
        self.image = widgets.Image(format="png", layout=widgets.Layout(width="100%", max_width="900px"))
        self.back.on_click(lambda _: self.go(self.position - 1))
        self.forward.on_click(lambda _: self.go(self.position + 1))
        self.slider.observe(lambda change: self.go(change["new"]), names="value")
        self.widget = widgets.VBox([widgets.HBox([self.back, self.forward, self.slider]), self.caption, self.image])
        self._figure = None
        self.go(0)

    @property
    def step(self) -> dict:
        """The state shown now."""
        return self.steps[self.position]

    def go(self, position: int) -> None:
        """Show step ``position`` (clipped to the recorded steps)."""
        position = max(0, min(int(position), len(self.steps) - 1))
        self.position = position
        self.slider.value = position
        step = self.step
        self.caption.value = f"<b>step {position} of {len(self.steps) - 1} ({step['phase']})</b>: {step['event']}"
        self._figure, png = model_state_figure(step, self._figure)
        self.image.value = png

    def _repr_mimebundle_(self, **kwargs):
        return self.widget._repr_mimebundle_(**kwargs)
