"""``python -m ccnce …``: the ``ccnce`` command, also under ``torchrun -m ccnce train …``."""

import sys

from ccnce.cli import main

sys.exit(main())
