"""``python -m carbon_bayes`` runs the ``carbon-bayes`` command line."""

import sys

from carbon_bayes.cli import main

sys.exit(main())
