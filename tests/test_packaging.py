"""The package's metadata: conda and pip list the same dependencies; public API present."""

import os
import re
import tomllib
from pathlib import Path

import yaml

import cmrlab

ROOT = Path(__file__).resolve().parents[1]


def _requirement(text: str):
    match = re.fullmatch(r"([A-Za-z0-9_.\-]+)\s*(.*)", text.strip())
    return match.group(1).lower().replace("_", "-"), match.group(2).replace(" ", "")


def test_environment_yml_lists_the_same_dependencies_as_pyproject():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = dict(_requirement(r) for r in project["dependencies"] + project["optional-dependencies"]["test"])
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    listed = {}
    for entry in env["dependencies"]:
        if isinstance(entry, dict):
            listed.update(_requirement(r) for r in entry["pip"] if not r.startswith("-e"))
        else:
            listed.update([_requirement(entry)])
    python = listed.pop("python")
    listed.pop("pip")
    assert listed == wanted
    assert python == project["requires-python"]


def test_public_api_names():
    for name in ("CMR", "DEFAULT_PARAMETERS", "simulate", "log_likelihood", "spc", "pfr", "lag_crp",
                 "pnr", "temporal_factor", "datasets"):
        assert hasattr(cmrlab, name), name
    assert sorted(cmrlab.__all__) == sorted(set(cmrlab.__all__))


def test_ci_runs_the_readme_test_command():
    readme = (ROOT / "README.md").read_text()
    commands = re.findall(r"```(?:bash|sh)\n(.*?)```", readme, flags=re.S)
    test_command = [c.strip() for c in commands if "pytest" in c][0]
    ci = (ROOT / ".ci" / "run").read_text()
    assert test_command in ci.splitlines()


def test_the_compilation_cache_is_on_in_a_folder_of_its_own_and_can_be_switched_off(tmp_path):
    import subprocess
    import sys

    script = "import jax, cmrlab; print(jax.config.jax_compilation_cache_dir)"
    env = {k: v for k, v in os.environ.items() if k not in ("CMRLAB_COMPILATION_CACHE", "JAX_COMPILATION_CACHE_DIR")}

    def run(**extra):
        out = subprocess.run([sys.executable, "-c", script], env={**env, **extra}, capture_output=True, text=True,
                             cwd=ROOT, timeout=300)
        assert out.returncode == 0, out.stderr[-2000:]
        return out.stdout.strip().splitlines()[-1]

    folder = run(XDG_CACHE_HOME=str(tmp_path))
    assert folder.startswith(str(tmp_path / "cmrlab" / "jax")) and Path(folder).is_dir()
    assert run(CMRLAB_COMPILATION_CACHE=str(tmp_path / "mine")) == str(tmp_path / "mine")
    assert run(CMRLAB_COMPILATION_CACHE="off") == "None"
    assert run(JAX_COMPILATION_CACHE_DIR=str(tmp_path / "jax_own")) == str(tmp_path / "jax_own")
