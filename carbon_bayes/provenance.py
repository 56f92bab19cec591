"""Which shipped posterior a generated document was made from.

Every generated document (the validation reports, docs/model_checks.md, the worked examples,
the benchmark tables, the README headline) carries one marker line naming the SHA-256 of the
bytes of ``carbon_bayes/default_posterior.nc`` it was generated from::

    <!-- generated from posterior sha256:<64 hex digits>; regenerate with python scripts/rebuild.py -->

A document that is generated whole has the marker as its first line. A document with only a
generated *section* (docs/model.md section 8, docs/updating.md section 4, the README
headline, the benchmark tables) has the marker as the first line of that section, between::

    <!-- begin generated: NAME -->
    ...
    <!-- end generated: NAME -->

and its generator replaces only what lies between those two lines (:func:`replace_section`).
``tests/test_generated_docs.py`` fails while a marker names another posterior than the shipped
one, so a document left over from an earlier posterior cannot go unnoticed.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

from carbon_bayes.resources import default_posterior_path

#: The marker line (``{sha}``: 64 hex digits).
MARKER = "<!-- generated from posterior sha256:{sha}; regenerate with python scripts/rebuild.py -->"
MARKER_RE = re.compile(r"<!-- generated from posterior sha256:([0-9a-f]{64}); regenerate with python "
                       r"scripts/rebuild\.py -->")
BEGIN = "<!-- begin generated: {name} -->"
END = "<!-- end generated: {name} -->"


def posterior_sha256(path: str | Path | None = None) -> str:
    """SHA-256 (hex) of the bytes of the shipped posterior file (or of ``path``): its identity."""
    h = hashlib.sha256()
    with open(default_posterior_path() if path is None else path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def marker(sha: str | None = None) -> str:
    """Return the marker line for posterior ``sha`` (default: the shipped posterior's)."""
    sha = posterior_sha256() if sha is None else sha
    if not re.fullmatch(r"[0-9a-f]{64}", sha):
        raise ValueError(f"not a SHA-256 hex digest: {sha!r}")
    return MARKER.format(sha=sha)


def recorded(text: str) -> list[str]:
    """Every posterior hash recorded by a marker in ``text``, in order."""
    return MARKER_RE.findall(text)


def stamp(text: str, sha: str | None = None) -> str:
    """Return ``text`` (a whole generated document) with the marker as its first line.

    An old marker line at the top is replaced.
    """
    lines = text.split("\n")
    if lines and MARKER_RE.fullmatch(lines[0]):
        lines = lines[1:]
    return "\n".join([marker(sha), *lines])


def _bounds(text: str, name: str) -> tuple[int, int]:
    begin, end = BEGIN.format(name=name), END.format(name=name)
    a = text.find(begin + "\n")
    b = text.find(end, a + 1) if a >= 0 else -1
    if a < 0 or b < 0 or text.count(begin) != 1 or text.count(end) != 1:
        raise ValueError(f"expected exactly one {begin!r} line followed by one {end!r} line")
    return a + len(begin) + 1, b


def section(text: str, name: str) -> str:
    """Return what lies between the begin and end lines of section ``name`` (marker line included)."""
    a, b = _bounds(text, name)
    return text[a:b]


def replace_section(text: str, name: str, body: str, sha: str | None = None) -> str:
    """Return ``text`` with section ``name`` replaced by the marker line and ``body``.

    Nothing outside the begin and end lines changes.
    """
    a, b = _bounds(text, name)
    return text[:a] + marker(sha) + "\n" + body.strip("\n") + "\n" + text[b:]


def replace_section_in_file(path: str | Path, name: str, body: str, sha: str | None = None) -> Path:
    """Rewrite section ``name`` of the file at ``path`` (see :func:`replace_section`)."""
    from carbon_bayes.posterior import atomic_write

    path = Path(path)
    text = replace_section(path.read_text(), name, body, sha)
    return atomic_write(path, lambda tmp: Path(tmp).write_text(text))
