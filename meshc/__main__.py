"""Run the command-line interface with `python -m meshc`."""

from meshc.cli import run

run()
