"""`python -m vae`: the library's commands (`vae.cli`) and the site's (`vae.site.cli`).

This entry point is the one place where the two halves meet; the library
itself never imports the site machinery.
"""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    """Runs `python -m vae ...`; returns the exit status."""
    from vae.site.cli import COMMANDS as SITE_COMMANDS

    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] in SITE_COMMANDS:
        from vae.site.cli import main as site_main

        return site_main(argv)
    from vae.cli import main as library_main

    return library_main(argv)


if __name__ == "__main__":
    sys.exit(main())
