"""`python -m sitges_retriever.cli`: the same as the `sitges-retriever` command."""

import sys

from . import main

sys.exit(main())
