"""``pip install .`` outside the repository: the wheel holds every file the code reads at run time
(the default prompts, migrations, sample data, the web view's pages), and a councilbot installed
from it runs, with its shipped prompts, from a folder that is not a checkout."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "councilbot"


def package_data_patterns() -> list[str]:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    patterns: list[str] = pyproject["tool"]["setuptools"]["package-data"]["councilbot"]
    return patterns


def source_files() -> set[str]:
    """The package's files as the wheel should name them (compiled caches aside)."""
    return {
        path.relative_to(ROOT).as_posix()
        for path in PACKAGE.rglob("*")
        if path.is_file() and "__pycache__" not in path.parts
    }


def run(*command: str | Path, cwd: Path, env: dict[str, str] | None = None) -> str:
    done = subprocess.run(
        [str(c) for c in command], cwd=cwd, env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, f"{command}\n{done.stdout}\n{done.stderr}"
    return done.stdout


def test_package_data_names_only_files_that_exist() -> None:
    for pattern in package_data_patterns():
        assert list(PACKAGE.glob(pattern)), f"package-data pattern {pattern!r} matches no file"


def test_the_wheel_installs_and_runs_outside_the_repository(tmp_path: Path) -> None:
    # Built from a copy, so that the build's scratch files stay out of the checkout.
    source = tmp_path / "source"
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    shutil.copytree(PACKAGE, source / "councilbot", ignore=shutil.ignore_patterns("__pycache__"))
    wheels = tmp_path / "wheels"
    pip = (sys.executable, "-m", "pip", "--disable-pip-version-check")
    run(*pip, "wheel", "--no-deps", "--no-build-isolation", "--no-index", "-q", "-w", wheels, ".", cwd=source)
    (wheel,) = wheels.glob("councilbot-*.whl")

    with zipfile.ZipFile(wheel) as archive:
        packed = set(archive.namelist())
    assert source_files() - packed == set()  # prompts, migrations, sample data, templates: all of it
    assert {f"councilbot/prompts/{name}" for name in ("drafting_system.md", "rules.yaml")} <= packed

    # Installed on its own (the dependencies are this environment's), used from a folder of no checkout.
    site = tmp_path / "site"
    run(*pip, "install", "--no-deps", "--no-index", "-q", "--target", site, wheel, cwd=tmp_path)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {
        **{k: v for k, v in os.environ.items() if k not in ("PROMPTS_DIR", "PYTHONPATH")},
        "PYTHONPATH": str(site),
        "DATABASE_URL": f"sqlite:///{elsewhere}/installed.db",
        "INDEX_DIR": str(elsewhere / "index"),
        "EXPORT_DIR": str(elsewhere / "exports"),
    }
    assert "議会答弁" in run(site / "bin" / "councilbot", "--help", cwd=elsewhere, env=env)
    probe = (
        "import councilbot\n"
        "from councilbot.services.prompt_files import load_prompts\n"
        "from councilbot.settings import Settings\n"
        "print(councilbot.__file__)\n"
        "print(load_prompts(Settings()).directory)\n"
    )
    module, prompts = run(sys.executable, "-c", probe, cwd=elsewhere, env=env).splitlines()
    assert Path(module).is_relative_to(site) and Path(prompts) == site / "councilbot" / "prompts"
    run(site / "bin" / "councilbot", "db", "upgrade", cwd=elsewhere, env=env)  # migrations from the wheel
    assert (elsewhere / "installed.db").exists()
