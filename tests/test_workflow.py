"""The Pages workflow does what the README says a fresh machine needs, in order.

Reads .github/workflows/site.yml (with .ci/run expanded where a step calls it)
and checks every step of the README's two set-up commands against it, so a
workflow that skips `python -m vae assets` or the Chromium install fails here
rather than on the runner.
"""

import re
import shlex

import pytest
import yaml

from .conftest import REPO

WORKFLOW = REPO / ".github" / "workflows" / "site.yml"
CI_SCRIPT = REPO / ".ci" / "run"


def readme_commands() -> list[list[str]]:
    """The README's set-up commands (build the site; run the tests), each split at `&&`."""
    text = (REPO / "README.md").read_text()
    section = text.split("## Set up", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```bash\n(.*?)\n```", section, re.S)
    assert len(blocks) == 2, "the README's set-up section should hold exactly two commands"
    return [[step.strip() for step in block.split("&&")] for block in blocks]


def normalise(command: str) -> tuple[str, ...]:
    """A command as words, with `python3 -m pip` and `pip` spelled alike."""
    words = shlex.split(command.replace("python3 ", "python "))
    if words[:3] == ["python", "-m", "pip"]:
        words = ["pip", *words[3:]]
    if words[:3] == ["python", "-m", "mkdocs"]:
        words = ["mkdocs", *words[3:]]
    # The test extra pulls in the docs extra (checked below), so it covers it.
    return tuple(".[docs]" if w == ".[test]" else w for w in words)


def script_commands(text: str) -> list[tuple[str, ...]]:
    """Every command of a shell text, in order, split at `&&` and line ends."""
    text = re.sub(r"\\\n", " ", text)
    commands = []
    for line in text.splitlines():
        line = line.split(" #", 1)[0].strip()
        if not line or line.startswith("#"):
            continue
        for part in line.split("&&"):
            part = part.strip().strip("{}; ").strip()
            if part:
                try:
                    commands.append(normalise(part))
                except ValueError:
                    continue
    return commands


def workflow_commands() -> list[tuple[str, ...]]:
    """The build job's commands in order, .ci/run expanded in place."""
    job = yaml.safe_load(WORKFLOW.read_text())["jobs"]["build"]
    commands = []
    for step in job["steps"]:
        if "run" not in step:
            continue
        for command in script_commands(step["run"]):
            if command == ("bash", ".ci/run"):
                commands += script_commands(CI_SCRIPT.read_text())
            else:
                commands.append(command)
    return commands


def contains(command: tuple[str, ...], step: tuple[str, ...]) -> bool:
    """Whether `command` runs `step`: the same program, every word of it, extra options allowed."""
    return command[:2] == step[:2] and set(step[2:]) <= set(command[2:])


def test_the_readme_test_command_is_the_ci_script():
    """CI runs .ci/run: a README test command that is anything else can pass here
    and fail on a fresh machine (it once skipped the Chromium install)."""
    assert readme_commands()[1] == ["bash .ci/run"]


def test_the_ci_script_installs_everything_then_tests_and_builds_strictly():
    steps = [
        ("apt-get", "install", "chromium"),
        ("pip", "install", "torch==2.13.0"),
        ("pip", "install", "-e", ".[docs]"),
        ("python", "-m", "vae", "assets"),
        ("python", "-m", "ruff", "check"),
        ("python", "-m", "pytest"),
        ("mkdocs", "build", "--strict"),
    ]
    commands = script_commands(CI_SCRIPT.read_text())
    position = 0
    for step in steps:
        found = next(
            (i for i in range(position, len(commands)) if set(step) <= set(commands[i])), None
        )
        assert found is not None, f".ci/run never runs {' '.join(step)!r} in order"
        position = found + 1


@pytest.mark.parametrize("which", [0, 1], ids=["build the site", "run the tests"])
def test_the_workflow_runs_every_readme_step_in_order(which):
    steps = [normalise(s) for s in readme_commands()[which]]
    if steps == [("bash", ".ci/run")]:
        steps = script_commands(CI_SCRIPT.read_text())
    commands = workflow_commands()
    position = 0
    for step in steps:
        found = next(
            (i for i in range(position, len(commands)) if contains(commands[i], step)), None
        )
        assert found is not None, f"the workflow never runs {' '.join(step)!r} in order"
        position = found + 1


def test_the_test_extra_includes_the_docs_extra():
    assert "vae-explained[docs]" in (REPO / "pyproject.toml").read_text()


def test_the_runner_has_debian_chromium_and_keeps_its_caches():
    job = yaml.safe_load(WORKFLOW.read_text())["jobs"]["build"]
    assert "bookworm" in str(job.get("container", "")) or "debian" in str(job.get("container"))
    assert "apt-get install" in CI_SCRIPT.read_text() and "chromium" in CI_SCRIPT.read_text()
    steps = job["steps"]
    cache = next(i for i, s in enumerate(steps) if "actions/cache" in s.get("uses", ""))
    ci = next(i for i, s in enumerate(steps) if "bash .ci/run" in s.get("run", ""))
    assert cache < ci, "the cache must be restored before the install and tests"
    cached = steps[cache]["with"]["path"].split()
    for variable in ("VAE_VENDOR_DIR", "VAE_CACHE_DIR"):
        directory = job["env"][variable].replace("${{ github.workspace }}/", "")
        assert directory in cached, f"{variable} ({directory}) is not cached"
