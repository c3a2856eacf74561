"""Plans recorded with the Dagster instance, so a real run can say how its plan differs.

Deciding needs nothing stored (a real run recomputes its plan and compares ids); this
only explains. Each plan is kept once per id, compressed, in the run storage's key-value
table: the instance database every host of a deployment shares (as the object claims).
"""

from typing import Any

from dagster import DagsterInstance

from gwo_assets.core.plan_id import pack, unpack

KEY = "gwo_assets/plan/{plan_id}"


def record_plan(instance: DagsterInstance, plan_id: str, plan: dict[str, Any]) -> None:
    instance.run_storage.set_cursor_values({KEY.format(plan_id=plan_id): pack(plan)})


def recorded_plan(instance: DagsterInstance, plan_id: str) -> dict[str, Any] | None:
    key = KEY.format(plan_id=plan_id)
    text = instance.run_storage.get_cursor_values({key}).get(key)
    try:
        return unpack(text) if text else None
    except Exception:  # an unreadable record explains nothing; the ids still decide
        return None
