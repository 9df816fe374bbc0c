import jax
import matplotlib
import numpy as np

import cmrlab
from cmrlab.plotting import CurvePanels, curves_figure, lag_window

matplotlib.use("Agg")


def test_lag_window_masks_lag_zero_and_clips_to_the_list():
    crp = np.arange(7, dtype=float)  # L = 4, lags -3..3
    lags, values = lag_window(crp, 5)
    np.testing.assert_array_equal(lags, [-3, -2, -1, 0, 1, 2, 3])
    assert np.isnan(values[3]) and values[4] == 4.0


def test_curves_figure_has_labelled_axes_and_the_data():
    recalls = cmrlab.simulate(jax.random.PRNGKey(0), cmrlab.DEFAULT_PARAMETERS, 10, 200)
    fig = curves_figure(recalls, 10, data=recalls, data_label="same")
    for ax in fig.axes:
        assert ax.get_xlabel() and ax.get_ylabel() and ax.get_title()
        assert len(ax.lines) >= 2
    spc_line = fig.axes[0].lines[0]
    np.testing.assert_allclose(spc_line.get_ydata(), cmrlab.spc(recalls, 10))


def test_curve_panels_update_in_place_and_render_png():
    recalls = cmrlab.simulate(jax.random.PRNGKey(1), cmrlab.DEFAULT_PARAMETERS, 12, 200)
    panels = CurvePanels(12)
    panels.show(cmrlab.summarize(recalls, 12))
    first = panels.png()
    assert first.startswith(b"\x89PNG")
    figure = panels.figure
    panels.show(cmrlab.summarize(recalls[:50], 12))
    assert panels.figure is figure and panels.png() != first
    np.testing.assert_allclose(panels.curve_data()["pfr"][1], cmrlab.pfr(recalls[:50], 12))
