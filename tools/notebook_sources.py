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

# --------------------------------------------------------------------------- 01 explore

NOTEBOOKS["01_explore_cmr"] = [
    ("md", """
# Explore CMR

How do people recall a list of words in whatever order they like? The Context
Maintenance and Retrieval model (CMR; Howard & Kahana, 2002; Polyn, Norman & Kahana,
2009) says: a slowly drifting mental *context* is bound to each word as it is studied,
and at recall the current context cues the words studied in a similar context; each
recalled word pulls context back toward the moment it was studied.

Run the cells, then move the sliders. Every move simulates 1,000 fresh lists and
redraws three curves: the **serial-position curve** (how often each position is
recalled), the **lag-CRP** (after recalling position *i*, how likely is *i + lag* next)
and the **probability of first recall**. Dashed black: Murdock's (1962) data.
"""),
    ("code", SETUP + """
from cmrlab.widgets import Explorer
"""),
    ("code", """
# NBVAL_IGNORE_OUTPUT
explorer = Explorer(dataset="LL20-1s")
explorer
"""),
    ("md", """
## A guided tour

1. **Encoding drift** (β_enc): drag it toward 1. Context then jumps to each new word, so
   neighbours no longer share context and the lag-CRP flattens. Drag it toward 0: context
   barely moves while studying and order matters much less.
2. **Primacy scale** (φ_s): set it to 0 and the rise at the start of the serial-position
   curve disappears; raise it and the first words dominate.
3. **Choice sensitivity** (τ): low values make recall nearly random among the words;
   high values make it follow the strongest cue almost deterministically.
4. **Stop scale** and **stop growth** (θ_s, θ_r) decide how many words are recalled
   before the search ends. Compare the line under the plots with the data's.
5. Pick another data set under *compare with data*: the list length follows. Murdock's
   40-word lists show what CMR with these defaults does not yet capture (primacy nearly
   vanishes); the Healey & Kahana (2014) lists show 16-word recall in a modern lab.
6. Try the presets: *no primacy*, *no contiguity* and *fast stopping* each switch off one
   ingredient; *Healey & Kahana (2014) median fits* is a lesson in why the median of
   per-subject parameters need not describe the median subject.

The same numbers are open to code: `explorer.parameters` holds the current values and
`explorer.summary` the curves now drawn. (This cell prints what the panel showed when the
notebook was saved; after you move sliders it prints your values.)
"""),
    ("code", """
# NBVAL_IGNORE_OUTPUT
print({name: round(value, 3) for name, value in explorer.parameters.items()})
summary = explorer.summary
print(f"{float(summary.mean_recalls):.2f} words recalled per list; "
      f"P(recall) at positions 1, 10, 20: {np.round(np.asarray(summary.spc)[[0, 9, 19]], 2)}")
"""),
    ("md", """
## As a classroom app

The Explorer also runs on its own page, without the code, with
[Voila](https://voila.readthedocs.io): `voila notebooks/01_explore_cmr.ipynb` serves
this notebook as an app (each visitor gets a kernel of their own).
"""),
]

# --------------------------------------------------------------------------- 02 how CMR works

NOTEBOOKS["02_how_cmr_works"] = [
    ("md", """
# How CMR works

This notebook opens the model up. `cmrlab.CMR` is one list's state as an immutable
PyTree; each method returns a *new* model, so the same code runs step by step here and
compiled, batched and differentiated by JAX elsewhere.

With `L` items: the context `c` has `L + 1` units (unit 0 marks the start of the list),
`M^FC` (`L x (L+1)`) maps each item to the context it retrieves, and `M^CF`
(`(L+1) x L`) maps context to item support. The equations are in `CMR_SPEC.md` and in
the docstrings (`help(cmrlab.model.integrate)`).
"""),
    ("code", SETUP + """
from cmrlab import CMR
np.set_printoptions(precision=3, suppress=True)
"""),
    ("md", """
## Study: `experience`

Before study, context is the start unit. Studying item *i* drifts context toward the
item's pre-experimental context (`M^FC[i]`):

    c = rho * c + beta_enc * c_in        (rho keeps |c| = 1)

then both memories learn the new context: `M^FC[i] += gamma c`, and
`M^CF[:, i] += phi_k c` with a primacy gain `phi_k = phi_s exp(-phi_d k) + 1`.
"""),
    ("code", """
L = 6
model = CMR(list_length=L, parameters=cmrlab.DEFAULT_PARAMETERS)
print("before study:", np.asarray(model.context))
for item in range(1, L + 1):
    model = model.experience(item)
    print(f"after item {item}:", np.asarray(model.context))
"""),
    ("md", """
Each new item takes over part of the context while older items fade gradually: that
fading trace is *temporal context*. Context vectors of nearby study positions are
similar, distant ones much less so:
"""),
    ("code", """
contexts = []
model = CMR(list_length=16, parameters=cmrlab.DEFAULT_PARAMETERS)
for item in range(1, 17):
    model = model.experience(item)
    contexts.append(np.asarray(model.context))
contexts = np.array(contexts)
similarity = contexts @ contexts.T
for lag in range(1, 6):
    print(f"mean similarity of contexts {lag} positions apart: {np.mean(np.diag(similarity, lag)):.3f}")
"""),
    ("md", """
## The two association matrices

`M^CF` holds the primacy-weighted contexts each item was studied in (its columns); the
start-of-list row 0 starts empty and gathers the early items.
"""),
    ("code", """
fig, axes = plt.subplots(1, 2, figsize=(10, 3.6), layout="constrained")
for ax, matrix, title in [(axes[0], model.mfc, "M^FC (item to context)"), (axes[1], model.mcf, "M^CF (context to item)")]:
    image = ax.imshow(np.asarray(matrix), cmap="viridis", aspect="auto")
    fig.colorbar(image, ax=ax)
    ax.set_title(title)
axes[0].set_xlabel("Context unit"); axes[0].set_ylabel("Item (row i = item i + 1)")
axes[1].set_xlabel("Item (column j = item j + 1)"); axes[1].set_ylabel("Context unit")
plt.show()
"""),
    ("md", """
## Recall: `start_retrieving`, `outcome_probabilities`, `retrieve`

Before recall, context drifts back toward the start unit (`beta_start`). Then each
outcome has a probability: index 0 is *stop*, index *i* is item *i*. The support of
each item is `a = c @ M^CF`, sharpened by the choice sensitivity τ (Luce rule
`a^τ`); the stop probability grows with each recall.
"""),
    ("code", """
model = model.start_retrieving()
probabilities = np.asarray(model.outcome_probabilities())
print("P(stop) =", round(float(probabilities[0]), 3))
print("P(item)  =", probabilities[1:])
print("most likely first recall: item", int(np.argmax(probabilities[1:])) + 1)
"""),
    ("code", """
model = model.retrieve(16)     # recall the last item
p = np.asarray(model.outcome_probabilities())
print("after recalling item 16, the most likely next items:", (np.argsort(p[1:])[::-1][:3] + 1).tolist())
print("P(item 16 again) =", float(p[16]), "  P(stop) =", round(float(p[0]), 3))
"""),
    ("md", """
Recalling item 16 brings back its study context, which overlaps most with the contexts
of items 15 and 14: that is the **contiguity effect**. For an item in the middle of the
list the *forward* neighbour wins more often, because the recalled item's own context
unit was still part of the context in which the following items were studied: the
**forward asymmetry**. Items already recalled get probability 0.

## Model inside

Step through one simulated list with the buttons: study, then recall, with the context,
`M^CF` and the outcome probabilities at every step.
"""),
    ("code", """
# NBVAL_IGNORE_OUTPUT
from cmrlab.widgets import ModelInside

inside = ModelInside(list_length=8, seed=0)
inside
"""),
    ("code", """
for step in inside.steps:
    print(f"{step['phase']:>15}: {step['event']}")
"""),
    ("md", """
## The same functions, compiled and batched

Because a model step is a pure function, JAX can vectorize a whole experiment. This is
the project's seed example: 100 lists, each studied and brought to the start of recall,
in one `vmap`.
"""),
    ("code", """
params = cmrlab.DEFAULT_PARAMETERS

def simulate_single_trial(key, presentations):
    model = CMR(list_length=len(presentations), parameters=params)
    for item_id in presentations:
        model = model.experience(item_id)
    model = model.start_retrieving()
    return model.outcome_probabilities()

keys = jax.random.split(jax.random.PRNGKey(0), 100)
presentations = jnp.tile(jnp.arange(1, 17), (100, 1))
first_outcomes = jax.vmap(simulate_single_trial)(keys, presentations)
print(first_outcomes.shape, "rows sum to", np.round(np.asarray(first_outcomes.sum(axis=1))[:3], 5))
"""),
]

# --------------------------------------------------------------------------- 03 parameters

NOTEBOOKS["03_parameters_and_phenomena"] = [
    ("md", """
# Parameters and the benchmark phenomena

Three regularities appear in nearly every free-recall experiment (Kahana, 2012):

* **primacy**: the first few items are recalled better than the middle ones;
* **recency**: the last items are recalled best of all, and recall usually starts there;
* **contiguity**: after recalling one item, people tend to recall its neighbours next,
  forward more often than backward.

This notebook shows which CMR parameter produces which effect, then asks you to produce
them yourself. The exercise cells check your answers when you run them.
"""),
    ("code", SETUP + """
from cmrlab.plotting import lag_window

L, N = 16, 2000
KEY = jax.random.PRNGKey(3)

def curves(**changes):
    recalls = cmrlab.simulate(KEY, {**cmrlab.DEFAULT_PARAMETERS, **changes}, L, N)
    return cmrlab.summarize(recalls, L)
"""),
    ("md", "## The phenomena under the default parameters"),
    ("code", """
s = curves()
spc, crp = np.asarray(s.spc), np.asarray(s.lag_crp)
print(f"primacy:    P(position 1) = {spc[0]:.2f} vs middle (position 8) = {spc[7]:.2f}")
print(f"recency:    P(position 16) = {spc[15]:.2f}, the highest: {bool(spc[15] == spc.max())}")
print(f"            first recall is one of the last 4 items in {np.asarray(s.pfr)[-4:].sum():.0%} of lists")
print(f"contiguity: lag +1 = {crp[16]:.2f}, lag -1 = {crp[14]:.2f}, lag +/-5 = {crp[20]:.2f} / {crp[10]:.2f}")
"""),
    ("md", """
## One parameter at a time

Each row changes one parameter (the others stay at the defaults) and draws the
serial-position curve and the lag-CRP.
"""),
    ("code", """
sweeps = {
    "encoding_drift_rate": [0.2, 0.46, 0.9],
    "primacy_scale": [1.2e-7, 4.1, 12.0],
    "choice_sensitivity": [1.0, 6.3, 15.0],
    "stop_probability_scale": [0.005, 0.029, 0.1],
}
fig, axes = plt.subplots(len(sweeps), 2, figsize=(9, 11), layout="constrained")
for row, (name, values) in enumerate(sweeps.items()):
    for value in values:
        s = curves(**{name: value})
        axes[row, 0].plot(np.arange(1, L + 1), np.asarray(s.spc), marker="o", ms=2.5, label=f"{value:g}")
        lags, window = lag_window(s.lag_crp, 5)
        axes[row, 1].plot(lags, window, marker="o", ms=2.5)
    axes[row, 0].set_ylabel("Recall probability")
    axes[row, 1].set_ylabel("Lag-CRP")
    axes[row, 0].legend(title=name, frameon=False, fontsize="small")
    for ax in axes[row]:
        ax.set_ylim(0, 1)
axes[-1, 0].set_xlabel("Serial position")
axes[-1, 1].set_xlabel("Lag")
plt.show()
"""),
    ("code", """
print("mean words recalled per list:")
for value in sweeps["stop_probability_scale"]:
    print(f"  stop_probability_scale = {value:<6g} -> {float(curves(stop_probability_scale=value).mean_recalls):.2f}")
"""),
    ("md", """
What to notice:

* **Encoding drift** shapes contiguity and the balance of primacy against recency: with
  little drift the lag-CRP flattens (all items share much the same context) and the first
  items win; with more drift neighbours share more context than distant items, and
  recency and contiguity grow.
* **Primacy scale** lifts the first positions at the expense of the others: without it
  the serial-position curve has recency only.
* **Choice sensitivity** decides how strongly the best-supported item wins: low values
  blur every effect, high values sharpen recency and contiguity.
* **Stop probability** sets how much is recalled; the shape of the curves changes less.

## Exercises

Set the value in each cell and run it; the check simulates 2,000 lists with your value
and tells you whether the goal is reached. Any value that works counts.

**1.** Find a `primacy_scale` for which position 1 is recalled *less* often than
position 8 (other parameters at their defaults).
"""),
    ("code", """
from cmrlab.exercises import check_no_contiguity, check_no_primacy, check_recall_count

my_primacy_scale = None   # your value here
print(check_no_primacy(my_primacy_scale))
"""),
    ("md", """
**2.** Find an `encoding_drift_rate` that makes the lag-CRP flat: lag +1 within 0.03 of
lag +4, and lag -1 within 0.03 of lag -4.
"""),
    ("code", """
my_encoding_drift_rate = None   # your value here
print(check_no_contiguity(my_encoding_drift_rate))
"""),
    ("md", """
**3.** Find a `stop_probability_scale` at which CMR recalls about 4 of 16 words per list
(within 0.5).
"""),
    ("code", """
my_stop_probability_scale = None   # your value here
print(check_recall_count(my_stop_probability_scale))
"""),
    ("md", """
Stuck? The Explorer in notebook 01 shows the same curves live; the checks above accept
any value that reaches the goal.
"""),
]

# --------------------------------------------------------------------------- 04 JAX patterns

NOTEBOOKS["04_jax_patterns"] = [
    ("md", """
# JAX patterns for memory models

cmrlab's core is written in [JAX](https://docs.jax.dev). This notebook shows the handful
of patterns it relies on, each live, and the errors you will meet when you write your
own model code: `jit` and compilation, `vmap` over trials, explicit random keys,
`grad` of the likelihood, shapes and padding, and working in chunks.
"""),
    ("code", SETUP + """
import time
from cmrlab.model import integrate
"""),
    ("md", """
## `jit`: the first call compiles

`jax.jit` traces a Python function once per input *shape* and compiles it; later calls
with the same shapes skip Python entirely.
"""),
    ("code", """
@jax.jit
def drift_many(context, inputs, beta):
    for row in inputs:                      # unrolled at trace time
        context = integrate(context, row, beta)
    return context

context = jnp.zeros(17).at[0].set(1.0)
inputs = jax.random.uniform(jax.random.PRNGKey(0), (16, 17))

start = time.perf_counter(); drift_many(context, inputs, 0.5).block_until_ready(); first = time.perf_counter() - start
start = time.perf_counter(); drift_many(context, inputs, 0.6).block_until_ready(); second = time.perf_counter() - start
print(f"first call slower than the second (it compiled): {first > 5 * second}")
print("a new beta did not recompile; compiled versions:", drift_many._cache_size())
"""),
    ("md", """
## `vmap`: one trial's code, many trials at once

Write the function for one list; `vmap` adds the batch dimension.
"""),
    ("code", """
def final_context(beta):
    return drift_many(context, inputs, beta)

betas = jnp.linspace(0.1, 0.9, 5)
batched = jax.vmap(final_context)(betas)
print(batched.shape)
print("weight left on the start unit:", np.round(np.asarray(batched[:, 0]), 4))
"""),
    ("md", """
## Random numbers: explicit keys

JAX has no hidden random state. A key makes the same numbers every time; `split` makes
independent new keys. `cmrlab.simulate` takes a key, so a simulation is reproducible
bit for bit.
"""),
    ("code", """
key = jax.random.PRNGKey(42)
a = cmrlab.simulate(key, cmrlab.DEFAULT_PARAMETERS, 16, 500)
b = cmrlab.simulate(key, cmrlab.DEFAULT_PARAMETERS, 16, 500)
key1, key2 = jax.random.split(key)
c = cmrlab.simulate(key1, cmrlab.DEFAULT_PARAMETERS, 16, 500)
print("same key, same lists:", bool((a == b).all()))
print("split key, different lists:", bool((a != c).any()))
"""),
    ("md", """
## `grad` of the likelihood

The log-likelihood is an ordinary JAX function of the parameter dict, so `jax.grad`
gives the slope for every parameter at once; fitting builds on this.
"""),
    ("code", """
data = cmrlab.datasets.load_murdock1962("LL20-1s")
loglik = cmrlab.log_likelihood_function(data.recalls, data.list_length)
gradient = jax.grad(loglik)(dict(cmrlab.DEFAULT_PARAMETERS))
print(f"log-likelihood at the defaults: {float(loglik(cmrlab.DEFAULT_PARAMETERS)):.1f}")
for name, value in gradient.items():
    print(f"  d/d {name:<24} {float(value):+10.1f}")
"""),
    ("md", """
The defaults are a *rounded* maximum-likelihood fit to this condition: the gradient is
not zero because rounding moved them off the optimum, and it says which way is uphill.
Notebook 06 climbs it.

## Shapes: every new shape compiles again; padding avoids it

Compiled code is specialized to array shapes. Recall matrices of different widths would
each compile anew; padding them with zeros to one width keeps one compiled version, and
the analyses give identical results whatever the padding.
"""),
    ("code", """
@jax.jit
def total_recalls(recalls):
    return (recalls > 0).sum()

for width in (10, 12, 14):
    total_recalls(jnp.zeros((5, width), int))
print("three widths, compiled versions:", total_recalls._cache_size())

padded = jnp.pad(a, ((0, 0), (0, 8)))
print("same serial-position curve with 8 extra padding columns:",
      bool(jnp.allclose(cmrlab.spc(a, 16), cmrlab.spc(padded, 16))))
"""),
    ("md", """
## Common errors

**Python control flow on traced values.** Inside `jit`, arrays are abstract tracers:
Python cannot know whether `x > 0`, so `if` fails with a `ConcretizationTypeError`.
Use `jnp.where` or `jax.lax.cond`.
"""),
    ("code", """
@jax.jit
def stop_or_go(p_stop):
    if p_stop > 0.5:          # Python `if` on a tracer
        return 0
    return 1

try:
    stop_or_go(0.7)
except jax.errors.ConcretizationTypeError as error:
    print(f"{type(error).__name__}, a kind of ConcretizationTypeError")

@jax.jit
def stop_or_go_fixed(p_stop):
    return jax.lax.cond(p_stop > 0.5, lambda: 0, lambda: 1)

print("with lax.cond:", int(stop_or_go_fixed(0.7)), int(stop_or_go_fixed(0.2)))
"""),
    ("md", """
**Leaked tracers.** Saving an intermediate value from inside a traced function into a
global and using it later raises `UnexpectedTracerError`: return values instead.
"""),
    ("code", """
saved = []

@jax.jit
def leaky(x):
    saved.append(x)           # a tracer escapes the trace
    return x * 2

leaky(1.0)
try:
    saved[0] + 1
except jax.errors.UnexpectedTracerError as error:
    print("UnexpectedTracerError:", type(error).__name__)
"""),
    ("md", """
**Running out of memory.** Vectorizing everything at once can need more memory than the
machine has (one simulated list needs little, a million at once a lot). Process in
chunks: `jax.lax.map` with `batch_size` runs a `vmap` over one chunk at a time.
"""),
    ("code", """
keys = jax.random.split(jax.random.PRNGKey(0), 40)

def recalls_per_list(key):
    return (cmrlab.simulate(key, cmrlab.DEFAULT_PARAMETERS, 16, 250) > 0).sum(axis=1).mean()

# all 40 x 250 lists in one go would hold everything in memory at once; 8 at a time:
means = jax.lax.map(recalls_per_list, keys, batch_size=8)
print(f"{means.shape[0]} chunks, mean recalls per list {float(means.mean()):.2f}")
"""),
]

# --------------------------------------------------------------------------- 06 fitting

NOTEBOOKS["06_fitting"] = [
    ("md", """
# Fitting CMR to data

Which parameter values make a person's recall most probable? For every list the spec
gives the exact probability CMR assigns to each recall and to stopping, so the
log-likelihood of a data set is a sum of logs (`cmrlab.log_likelihood`). Fitting means
finding the parameters, inside their bounds, that maximize it.

The likelihood surface has several local optima, so `cmrlab.fit` searches globally with
differential evolution (a population of parameter sets, all evaluated in one batched,
compiled call per generation). Gradient ascent with `jax.grad` is available too
(`method="gradient"` or `"de+gradient"`).

Data: Healey & Kahana (2014), PEERS experiment 1, the lists studied without an encoding
task (28 per subject).
"""),
    ("code", SETUP + """
from cmrlab.datasets import load_healey_kahana2014
from cmrlab.fitting import fit, fit_subjects, load_fit, save_fit
from cmrlab.plotting import curves_figure

data = load_healey_kahana2014(no_task_only=True)
print(data)
"""),
    ("md", "## One subject"),
    ("code", """
subject = data.for_subject(63)
result = fit(subject.recalls, subject.list_length, key=jax.random.PRNGKey(0))
print(f"log-likelihood {result.log_likelihood:.1f} over {result.n_lists} lists "
      f"({result.evaluations} evaluations, converged: {result.converged})")
for name, value in result.parameters.items():
    print(f"  {name:<24} {value:8.3f}")
"""),
    ("md", """
jaxcmr's published fit of this subject scores -694.93 under the same likelihood; the fit
above should be at least as high. Now the model's curves (2,000 lists simulated with the
fitted parameters) against the subject's:
"""),
    ("code", """
simulated = cmrlab.simulate(jax.random.PRNGKey(1), result.parameters, 16, 2000)
fig = curves_figure(simulated, 16, data=subject.recalls, label="CMR fit", data_label="subject 63")
plt.show()
"""),
    ("md", """
## Saving a fit, and exploring it

`save_fit` writes JSON (atomically: a crash never leaves half a file); `load_fit` reads it
back and checks the parameters. The Explorer of notebook 01 takes it as a preset.
"""),
    ("code", """
import tempfile, pathlib

path = save_fit(result, pathlib.Path(tempfile.mkdtemp()) / "subject63.json")
again = load_fit(path)
print("round trip exact:", again.parameters == result.parameters)
"""),
    ("code", """
# NBVAL_IGNORE_OUTPUT
from cmrlab.widgets import Explorer

explorer = Explorer(dataset="Healey & Kahana (2014) no-task lists")
explorer.add_preset("subject 63 fit", again.parameters)
explorer.preset.value = "subject 63 fit"
explorer
"""),
    ("md", """
## Many subjects at once

`fit_subjects` fits every subject of a data set: subjects are padded to equal numbers of
lists (padding lists weigh 0), fitted several at a time with `vmap`, and sharded over all
JAX devices, with a progress bar. Here the first 8 subjects; the whole data set (126
subjects) takes about two minutes on a 2-core laptop.
"""),
    ("code", """
# NBVAL_IGNORE_OUTPUT
subset = data.select(np.isin(data.subject, data.subjects[:8]))
table = fit_subjects(subset, key=jax.random.PRNGKey(0))
"""),
    ("code", """
print(table[["subject", "log_likelihood", "encoding_drift_rate", "recall_drift_rate", "choice_sensitivity"]]
      .round(2).to_string(index=False))
"""),
    ("code", """
names = list(cmrlab.PARAMETER_NAMES)
fig, axes = plt.subplots(1, len(names), figsize=(14, 3), layout="constrained")
for ax, name in zip(axes, names):
    ax.scatter(np.zeros(len(table)) + np.linspace(-0.1, 0.1, len(table)), table[name], s=12)
    ax.set_xticks([])
    ax.set_title(name.replace("_", " "), fontsize=7)
    if cmrlab.PARAMETERS[names.index(name)].upper > 1:
        ax.set_yscale("log")
axes[0].set_ylabel("Fitted value")
fig.suptitle("Spread of fitted parameters across subjects")
plt.show()
"""),
    ("md", """
Subjects differ a lot, and some parameters (the supports, choice sensitivity) trade off
against each other: a flat ridge of the likelihood, not one sharp peak.

## Parameter recovery

Does the fitter find the truth when there is one? Simulate 100 lists from known
parameters, fit them, and compare. The fit's log-likelihood should never fall below the
true parameters' (it maximizes exactly that), and well-identified parameters should come
back close to their true values.
"""),
    ("code", """
from cmrlab.datasets import RecallDataset

rng = np.random.default_rng(0)
free = ["encoding_drift_rate", "recall_drift_rate", "primacy_scale", "choice_sensitivity"]
fixed = {n: v for n, v in cmrlab.DEFAULT_PARAMETERS.items() if n not in free}
n_sets, n_lists = 10, 100
truths, blocks = [], []
for i in range(n_sets):
    true = {**fixed, "encoding_drift_rate": rng.uniform(0.3, 0.8), "recall_drift_rate": rng.uniform(0.4, 0.9),
            "primacy_scale": rng.uniform(1, 8), "choice_sensitivity": rng.uniform(3, 10)}
    truths.append(true)
    blocks.append(np.asarray(cmrlab.simulate(jax.random.PRNGKey(i), true, 16, n_lists)))
# one 'subject' per parameter set, all fitted together
simulated_data = RecallDataset(recalls=np.concatenate(blocks), subject=np.repeat(np.arange(n_sets), n_lists),
                               list_length=16, presentations=np.tile(np.arange(1, 17), (n_sets * n_lists, 1)),
                               condition=np.repeat(["simulated"], n_sets * n_lists))
recovered = fit_subjects(simulated_data, key=jax.random.PRNGKey(1), fixed=fixed, progress=False)
for i, true in enumerate(truths):
    gap = recovered.log_likelihood[i] - float(cmrlab.log_likelihood(true, blocks[i], 16))
    print(f"set {i}: fitted log-likelihood - true = {gap:+.2f}")
"""),
    ("code", """
fig, axes = plt.subplots(1, len(free), figsize=(12, 3), layout="constrained")
for ax, name in zip(axes, free):
    t = np.array([true[name] for true in truths])
    f = recovered[name].to_numpy()
    ax.scatter(t, f)
    low, high = min(t.min(), f.min()), max(t.max(), f.max())
    ax.plot([low, high], [low, high], color="0.6", lw=1)
    ax.set_xlabel(f"true {name}")
    ax.set_ylabel("recovered")
fig.suptitle(f"Parameter recovery: {n_sets} parameter sets, {n_lists} simulated lists each")
plt.show()
"""),
    ("md", """
The fitted log-likelihood is never below the true parameters' and usually a little above:
with 100 lists, maximum likelihood also fits the noise of the sample. The drift rates and
the choice sensitivity come back close to the truth; the primacy scale is pinned down
less tightly by 100 lists.

## Summary-statistic fitting

Many courses fit CMR by matching curves instead: minimize the squared difference
between simulated and observed SPC, PFR and lag-CRP. It needs no likelihood, only
simulation, but it is noisier and slower per step. `fit(..., objective="summary")`:
"""),
    ("code", """
from cmrlab.fitting import DESettings

by_curves = fit(subject.recalls, 16, key=jax.random.PRNGKey(0), objective="summary", n_simulated=1000,
                de=DESettings(population=48, generations=60))
print(f"squared error of the curves: {by_curves.loss:.3f}")
print(f"log-likelihood of its parameters: {by_curves.log_likelihood:.1f} "
      f"(maximum-likelihood fit: {result.log_likelihood:.1f})")
"""),
    ("md", """
Matching curves and maximizing the likelihood do not agree: the curves summarize the
data, the likelihood uses every recall in order. Try `fit_subjects` on all subjects, or
`fixed={...}` to test which parameters a data set really needs.
"""),
]
