"""action.yml as a workflow, for actionlint, which lints workflows and not actions: the
action's steps as one job's, its inputs as a reusable workflow's, so that its expressions,
its `if:`s and the step outputs they read are checked as a workflow's are.

Run: python .ci/action_as_workflow.py action.yml > action-workflow.yml
"""

import sys

import yaml


def main(path: str) -> None:
    with open(path, encoding="utf-8") as stream:
        action = yaml.safe_load(stream)
    inputs = {
        name: {"type": "string", "required": False, "default": str(spec.get("default", ""))}
        for name, spec in action["inputs"].items()
    }
    workflow = {
        "name": action["name"],
        "on": {"workflow_call": {"inputs": inputs}},
        "permissions": {},
        "jobs": {"action": {"runs-on": "ubuntu-latest", "steps": action["runs"]["steps"]}},
    }
    yaml.safe_dump(workflow, sys.stdout, sort_keys=False, width=1000)


if __name__ == "__main__":
    main(sys.argv[1])
