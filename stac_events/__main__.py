"""`python -m stac_events`."""

from stac_events.cli import run

if __name__ == "__main__":
    run()
