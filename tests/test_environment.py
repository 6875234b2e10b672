"""The set-up files agree: versions are pinned in requirements.txt only, and
environment.yml asks nothing of a conda channel that no longer publishes PyTorch."""

import re
import subprocess
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent


def _name(spec: str) -> str:
    return (
        re.split(r"[=<>!~\[ ;]", spec.strip(), maxsplit=1)[0].lower().replace("_", "-")
    )


def _versions(spec: str) -> set:
    """The version numbers a spec names ("torch==2.13.0" and conda's "torch=2.13.0"
    agree)."""
    return set(re.findall(r"\d+(?:\.\w+)+", spec.split(";")[0]))


def _pins(lines) -> dict:
    out = {}
    for line in lines:
        line = line.split("#", 1)[0].strip()
        if line and not line.startswith("-"):
            out[_name(line)] = line.replace(" ", "")
    return out


def test_environment_yml_reads_requirements_and_only_conda_forge():
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    # `pytorch` stopped publishing with 2.6, and `nvidia` went with it
    assert env["channels"] == ["conda-forge"]
    conda = [d for d in env["dependencies"] if isinstance(d, str)]
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    assert "-r requirements.txt" in pip
    assert not {"pytorch", "torchvision", "pytorch-cuda", "pytorch-gpu"} & {
        _name(c) for c in conda
    }
    required = {
        name: _versions(spec)
        for name, spec in _pins(
            (ROOT / "requirements.txt").read_text().splitlines()
        ).items()
    }
    # a package named in both files must carry the same versions
    for spec in [*conda, *pip]:
        if _name(spec) in required:
            assert _versions(spec) == required[_name(spec)], (
                f"{spec} disagrees with requirements.txt"
            )


def test_torch_and_torchvision_are_pinned_together():
    required = _pins((ROOT / "requirements.txt").read_text().splitlines())
    assert "==" in required["torch"] and "==" in required["torchvision"]
    assert "jupyterlab" in required and "ipykernel" in required
    nodeps = _pins((ROOT / "requirements-nodeps.txt").read_text().splitlines())
    # one file per package, so one version per package
    assert not set(nodeps) & set(required)
    assert all("==" in spec for spec in nodeps.values())


def test_makefile_installs_from_the_same_files_and_registers_the_kernel():
    make = (ROOT / "Makefile").read_text()
    assert (
        "-r requirements.txt" in make and "--no-deps -r requirements-nodeps.txt" in make
    )
    assert re.search(r"ipykernel install --user --name geosurvey", make)


def test_the_ci_book_executes_seeds_1_and_2_and_other_books_one_seed():
    def book_command(*overrides):
        out = subprocess.run(
            ["make", "-n", "book", *overrides],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        return next(line for line in out.splitlines() if "tools.book" in line)

    assert book_command().endswith("--seed 0 --other-seeds 1 2")
    for overrides in (["PROFILE=full"], ["DATA_ROOT=/data"], ["OTHER_SEEDS="]):
        assert "--other-seeds" not in book_command(*overrides), overrides
