"""`python server.py ARGS` is `livepanel serve ARGS`."""

import sys

from panel.cli import main

if __name__ == "__main__":
    sys.exit(main(["serve", *sys.argv[1:]]))
