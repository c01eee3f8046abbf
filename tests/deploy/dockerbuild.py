"""deploy/docker/Dockerfile read as `docker build` reads it, and its build stage replayed without Docker.

There is no Docker engine here. What the build stage does is done on this machine instead: its
COPY sources (less what Dockerfile.dockerignore keeps out) copied into a folder standing for its
WORKDIR, its ENV set, and its RUN commands run by /bin/sh with the stage's own paths (/wheels,
/opt/leadsync) moved into a temporary folder. CI runs it (`python -m tests.deploy.dockerbuild`):
pip fetches the dependencies from PyPI there, which the tests themselves never contact. What is
checked is the virtual environment the runtime stage copies whole: leadsync runs from it, it
holds no pip, its bytecode is compiled (the image's root file system is read-only), and it reads
the deployment's rules and config.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from dockerfile_parse import DockerfileParser

from tests.deploy.support import DEPLOY, ROOT

DOCKERFILE = DEPLOY / "docker" / "Dockerfile"
IGNORED = ("__pycache__", "*.pyc", "*.pyo")  # Dockerfile.dockerignore's exclusions under the sources


@dataclass
class Stage:
    """One FROM ... of the Dockerfile: its base, name and instructions (keyword → values in order)."""

    base: str
    name: str | None
    steps: list[tuple[str, str]] = field(default_factory=list)

    def values(self, instruction: str) -> list[str]:
        return [value for keyword, value in self.steps if keyword == instruction]

    def env(self) -> dict[str, str]:
        """The stage's ENV, as key=value pairs (the form this Dockerfile uses)."""
        pairs = [p.partition("=") for value in self.values("ENV") for p in shlex.split(value)]
        return {key: value for key, _, value in pairs}

    def exec_form(self, instruction: str) -> list[str]:
        """The JSON array of an ENTRYPOINT, CMD or HEALTHCHECK ... CMD (exec form, no shell)."""
        [value] = self.values(instruction)
        return list(json.loads(value[value.index("[") :]))


def stages(path: Path = DOCKERFILE) -> list[Stage]:
    """The Dockerfile's stages, ARG defaults substituted in FROM lines."""
    parser = DockerfileParser(path=str(path))
    args = dict(a.split("=", 1) for a in _values(parser, "ARG") if "=" in a)
    found: list[Stage] = []
    for step in parser.structure:
        keyword, value = step["instruction"], step["value"]
        if keyword == "FROM":
            image, _, name = value.partition(" AS ")
            for key, default in args.items():
                image = image.replace(f"${{{key}}}", default)
            found.append(Stage(base=image.strip(), name=name.strip() or None))
        elif found and keyword != "COMMENT":
            found[-1].steps.append((keyword, value))
    return found


def _values(parser: DockerfileParser, instruction: str) -> list[str]:
    return [str(s["value"]) for s in parser.structure if s["instruction"] == instruction]


def copies(stage: Stage) -> list[tuple[list[str], str]]:
    """The stage's COPY instructions from the build context: (sources, destination)."""
    return [found for value in stage.values("COPY") if (found := _from_context(value))]


def _from_context(copy: str) -> tuple[list[str], str] | None:
    """A COPY's (sources, destination), or None for a COPY --from another stage."""
    words = copy.split()
    if any(w.startswith("--from=") for w in words):
        return None
    return words[:-1], words[-1]


def replay_build(workdir: Path, python: str = sys.executable) -> Path:
    """Do the build stage's work in ``workdir``; the virtual environment it leaves (/opt/leadsync)."""
    [build] = [s for s in stages() if s.name == "build"]
    places = {"/wheels": workdir / "wheels", "/opt/leadsync": workdir / "opt" / "leadsync"}
    bin_dir = workdir / "bin"  # `python` in RUN is the image's Python: here, this one
    bin_dir.mkdir(parents=True)
    (bin_dir / "python").symlink_to(python)
    env = {**os.environ, **build.env(), "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"}
    cwd = workdir
    for keyword, value in build.steps:
        if keyword == "WORKDIR":
            cwd = workdir / value.lstrip("/")
            cwd.mkdir(parents=True, exist_ok=True)
        elif keyword == "COPY" and (found := _from_context(value)):
            sources, destination = found
            for source in sources:
                _copy(ROOT / source, cwd / destination)
        elif keyword == "RUN":
            command = value
            for container_path, here in places.items():
                command = command.replace(container_path, str(here))
            subprocess.run(["/bin/sh", "-c", command], cwd=cwd, env=env, check=True)
    return places["/opt/leadsync"]


def _copy(source: Path, destination: Path) -> None:
    """COPY SRC DEST: a folder's content into DEST, a file into the folder DEST names."""
    if source.is_dir():
        shutil.copytree(source, destination, ignore=shutil.ignore_patterns(*IGNORED), dirs_exist_ok=True)
    else:
        destination.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, destination / source.name)


def check_environment(venv: Path) -> list[str]:
    """What is wrong with the environment the runtime stage would copy (nothing: an empty list)."""
    problems = []
    leadsync = venv / "bin" / "leadsync"
    version = _run(str(leadsync), "--version")
    if "leadsync, version" not in version.stdout:
        problems.append(f"`leadsync --version` printed {version.stdout!r} {version.stderr[-500:]!r}")
    if (venv / "bin" / "pip").exists():
        problems.append("the environment holds pip; the Dockerfile makes it --without-pip")
    [site] = list((venv / "lib").glob("python3*/site-packages"))
    if not list((site / "leadsync" / "sync").glob("__pycache__/*.pyc")):
        problems.append("leadsync's bytecode was not compiled at install (pip install --compile)")
    for rules in (DEPLOY / "docker" / "rules.yaml", DEPLOY / "kubernetes" / "base" / "rules.yaml"):
        done = _run(str(leadsync), "validate", str(rules))
        if done.returncode != 0:
            problems.append(f"`leadsync validate {rules}`: {done.stderr[-500:]}")
    return problems


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, capture_output=True, text=True, timeout=120, check=False)


def main() -> int:
    """CI: replay the build stage in a temporary folder and check what it built."""
    with tempfile.TemporaryDirectory(prefix="leadsync-dockerbuild-") as folder:
        venv = replay_build(Path(folder))
        problems = check_environment(venv)
        wheels = sorted(p.name for p in (Path(folder) / "wheels").iterdir())
    for problem in problems:
        print(f"deploy/docker/Dockerfile: {problem}", file=sys.stderr)
    if not problems:
        print(f"deploy/docker/Dockerfile: the build stage built {', '.join(wheels)} and installed it")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
