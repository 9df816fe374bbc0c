"""Cell sources of the teaching notebooks (built by build_notebooks.py).

Each notebook is a list of ("md" | "code", source) pairs, in reading order.
"""

SETUP = """
%matplotlib inline
import jax
import jax.numpy as jnp
import numpy as np
import matplotlib.pyplot as plt
import cmrlab
"""

NOTEBOOKS = {}

# --------------------------------------------------------------------------- 05 real data

NOTEBOOKS["05_real_data_murdock1962"] = [
    ("md", """
# Real data: Murdock (1962)

What does free recall look like in people, and how does it change with list length?
Murdock (1962) read lists of 10 to 40 common words to 15 people, 80 lists each per
condition, and asked them to recall the words in any order. His serial-position curves
are the classic picture of **primacy** (the first words are recalled well), **recency**
(the last words best of all) and a flat middle that sinks as lists get longer.

Murdock, B. B. (1962). The serial position effect of free recall. *Journal of
Experimental Psychology, 64*(5), 482-488.

cmrlab downloads the data once into its cache (`$CMRLAB_DATA_DIR`, else
`~/.cache/cmrlab`) and checks each file's sha256.
"""),
    ("code", SETUP + """
from cmrlab.datasets import MURDOCK_CONDITIONS, load_murdock1962
from cmrlab.plotting import lag_window
"""),
    ("md", """
## The six conditions

Each condition is a `RecallDataset`: a recall matrix in serial positions (`0` pads
the end of a row, `-1` marks an intrusion, a word that was not on the list), one
subject id per list, and the list length.
"""),
    ("code", """
data = {name: load_murdock1962(name) for name in MURDOCK_CONDITIONS}
for name, d in data.items():
    intrusions = int((d.recalls == -1).sum())
    print(f"{name}: {len(d)} lists, {len(d.subjects)} subjects, "
          f"{float(cmrlab.mean_recalls(d.recalls, d.list_length)):.2f} words recalled per list, "
          f"{intrusions} intrusions")
"""),
    ("md", """
## Serial-position curves

The probability of recalling the word studied at each position. Plotted on one axis, the
curves of the six conditions show that recency spans roughly the last 6-8 positions
whatever the list length, while the middle of the list falls as the list grows; slower
presentation (2 s rather than 1 s per word) lifts the whole curve.
"""),
    ("code", """
fig, ax = plt.subplots(figsize=(7, 4))
for name, d in data.items():
    curve = np.asarray(cmrlab.spc(d.recalls, d.list_length))
    ax.plot(np.arange(1, d.list_length + 1), curve, marker="o", ms=2.5, label=name)
ax.set_xlabel("Serial position")
ax.set_ylabel("Recall probability")
ax.set_ylim(0, 1)
ax.set_title("Murdock (1962): serial-position curves")
ax.legend(frameon=False, ncols=2)
plt.show()
"""),
    ("md", """
## Where recall starts: probability of first recall

People usually begin with one of the last four or five words (recency in the *first*
recall) and now and then with the first word, most often in the short 10-word lists.
Counted from the end of the list (right), the six conditions nearly coincide: where recall
starts depends on how recently a word was studied, hardly on how long the list was.
"""),
    ("code", """
fig, axes = plt.subplots(1, 2, figsize=(11, 3.6), layout="constrained")
for name, d in data.items():
    first = np.asarray(cmrlab.pfr(d.recalls, d.list_length))
    positions = np.arange(1, d.list_length + 1)
    axes[0].plot(positions, first, marker="o", ms=2.5, label=name)
    # the same curves against the distance from the end of the list
    axes[1].plot(positions - d.list_length - 1, first, marker="o", ms=2.5, label=name)
axes[0].set_xlabel("Serial position")
axes[1].set_xlabel("Serial position counted from the end (-1 = last)")
for ax in axes:
    ax.set_ylabel("Probability of first recall")
    ax.set_ylim(0, 0.6)
axes[1].set_xlim(-12.5, -0.5)
axes[0].legend(frameon=False, ncols=2)
plt.show()
"""),
    ("code", """
for name, d in data.items():
    first = np.asarray(cmrlab.pfr(d.recalls, d.list_length))
    print(f"{name}: P(first recall = last word) = {first[-1]:.3f}, = first word: {first[0]:.3f}")
"""),
    ("md", """
## Contiguity: the lag-CRP

After recalling the word from position *i*, which word comes next? The lag-CRP gives the
probability of a transition of each lag (next position minus current one), divided by the
number of chances to make it. People favour near neighbours (|lag| = 1) and move forward
more often than backward, in every condition: the **contiguity effect** with its
**forward asymmetry**, the pattern CMR's drifting context explains.
"""),
    ("code", """
fig, ax = plt.subplots(figsize=(6, 3.8))
for name, d in data.items():
    lags, values = lag_window(cmrlab.lag_crp(d.recalls, d.list_length), 5)
    ax.plot(lags, values, marker="o", ms=3, label=name)
ax.set_xlabel("Lag")
ax.set_ylabel("Conditional response probability")
ax.set_ylim(0, 0.5)
ax.legend(frameon=False, ncols=2)
ax.set_title("Lag-CRP by condition")
plt.show()
"""),
    ("code", """
for name, d in data.items():
    crp = np.asarray(cmrlab.lag_crp(d.recalls, d.list_length))
    L = d.list_length
    print(f"{name}: lag +1 {crp[L]:.3f}, lag -1 {crp[L - 2]:.3f}, "
          f"temporal factor {float(cmrlab.temporal_factor(d.recalls, L)):.3f}")
"""),
    ("md", """
## CMR next to the data

The spec's default parameters are a maximum-likelihood fit to LL20-1s. Simulating
2,000 lists with them and drawing the data on top shows how close the model comes;
notebook 06 fits CMR yourself.
"""),
    ("code", """
from cmrlab.plotting import curves_figure

d = data["LL20-1s"]
simulated = cmrlab.simulate(jax.random.PRNGKey(1962), cmrlab.DEFAULT_PARAMETERS, d.list_length, 2000)
fig = curves_figure(simulated, d.list_length, data=d, label="CMR (spec defaults)")
plt.show()
print(f"log-likelihood of LL20-1s at the defaults: "
      f"{float(cmrlab.log_likelihood(cmrlab.DEFAULT_PARAMETERS, d.recalls, d.list_length)):.1f}")
"""),
]

# --------------------------------------------------------------------------- 01 explore (first version)

NOTEBOOKS["01_explore_cmr"] = [
    ("md", """
# Explore CMR

The Context Maintenance and Retrieval model (Howard & Kahana, 2002; Polyn, Norman &
Kahana, 2009) explains how people recall a list of words in any order they like: a slowly
drifting *context* is bound to each word as it is studied, and at recall the current
context cues the words that were studied in a similar context.

This notebook simulates a thousand 16-word lists and plots the serial-position curve.
"""),
    ("code", SETUP),
    ("code", """
recalls = cmrlab.simulate(jax.random.PRNGKey(0), cmrlab.DEFAULT_PARAMETERS, list_length=16, n_trials=1000)
print(recalls.shape)
print(np.asarray(recalls[:3]))
"""),
    ("code", """
from cmrlab.plotting import curves_figure

fig = curves_figure(recalls, 16)
plt.show()
print("recall probability by position:", np.round(np.asarray(cmrlab.spc(recalls, 16)), 2))
"""),
]
