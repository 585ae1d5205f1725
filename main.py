"""OneDesk entry point: `python main.py` opens the desk app; `python main.py --help` lists the subcommands."""

import sys

from app.cli import main

if __name__ == "__main__":
    sys.exit(main())
