"""The web service: ``carbon-bayes serve`` (FastAPI on uvicorn) and the calculator page at ``/``.

Install with the ``serve`` extra (``pip install ".[serve]"``). :func:`create_app` builds the
application; request models are generated from the input contract (:mod:`.models`), the
computations are the package's own (:mod:`.service`).
"""

from __future__ import annotations


def create_app(posterior=None, limits=None):
    """Build the FastAPI app (see :func:`carbon_bayes.serve.app.create_app`)."""
    from carbon_bayes.serve.app import create_app as _create

    return _create(posterior, limits)
