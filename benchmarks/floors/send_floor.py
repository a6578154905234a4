"""Floor for a real `event send`: the dry-run floor plus a requests POST.

Run: python send_floor.py DeployEvent --title "Deployed" --url http://127.0.0.1:PORT/...
"""

import requests
import typer
from dry_run_floor import build


def main(event_type: str, title: str = typer.Option(...), url: str = typer.Option(...)) -> None:
    body = build(event_type, title).model_dump_json(exclude_none=True)
    response = requests.post(
        url, data=body, headers={"Content-Type": "application/json"}, timeout=(5, 30)
    )
    response.raise_for_status()


if __name__ == "__main__":
    typer.run(main)
