"""The README's opening commands, and the container recipe of docs/service.md that uses them."""

from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def _readme_commands() -> list[str]:
    """Return the README's two opening commands (the first code block's non-comment lines)."""
    text = (REPO / "README.md").read_text(encoding="utf-8")
    block = re.search(r"```bash\n(.*?)```", text, re.S).group(1)
    return [line for line in block.splitlines() if line.strip() and not line.startswith("#")]


def test_the_readme_opens_with_two_commands_that_set_up_the_service_and_the_tests():
    first, second = _readme_commands()
    assert '".[serve]"' in first and "carbon-bayes estimate" in first  # `carbon-bayes serve` works after it
    assert '".[test]"' in second and second.endswith(".venv/bin/pytest")


def test_the_container_recipe_runs_the_readme_commands():
    doc = (REPO / "docs" / "service.md").read_text(encoding="utf-8")
    recipe = re.search(r"```dockerfile\n(.*?)```", doc, re.S).group(1)
    runs = [line.removeprefix("RUN ") for line in recipe.splitlines() if line.startswith("RUN ")]
    first, second = _readme_commands()
    assert runs[0] == first
    assert runs[1] == f'if [ "$RUN_TESTS" = 1 ]; then {second}; fi'
