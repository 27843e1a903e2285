"""`python -m vae`: see `vae.cli`."""

import sys

from vae.cli import main

if __name__ == "__main__":
    sys.exit(main())
