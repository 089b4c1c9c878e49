"""The demo's IoT registry: every sensor on the map's iot_device layer becomes a registered
device (filing as `demo_device`), and the shipped rules are loaded."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import insert
from sqlalchemy.orm import Session

from fengqiao.iot.models import Device
from fengqiao.iot.rules import shipped_rules
from fengqiao.iot.service import DEVICE_TYPES_ZH, import_rules, new_device_key

# The class a demo device files under when it raises an alarm no rule maps (`alarm: true`).
DEVICE_CLASSES = {"water_quality": "0901", "smoke_detector": "0406"}


@dataclass
class DemoDevices:
    count: int = 0
    # One key per device type, printed once by `fengqiao seed` so a visitor can try the webhook;
    # the other devices' keys are never shown (rotate one to use it).
    keys: dict[str, str] = field(default_factory=dict)


def seed_devices(
    *, db: Session, features: Sequence[dict[str, Any]], users: Sequence[dict[str, Any]],
    created_at: datetime,
) -> DemoDevices:  # fmt: skip
    """Register the demo's map sensors as devices and load the shipped rules."""
    import_rules(db=db, rules=shipped_rules())
    reporter = next(u["id"] for u in users if u["username"] == "demo_device")
    rows, shown = [], DemoDevices()
    for feature in features:
        if feature["kind"] != "iot_device":
            continue
        device_type = feature["props"]["device_type"]
        key = new_device_key()
        if device_type not in shown.keys:
            shown.keys[device_type] = f"{feature['code']} {key.key}"
        rows.append(
            {
                "code": feature["code"], "name": feature["name"], "device_type": device_type,
                "lng": feature["lng"], "lat": feature["lat"], "address": "",
                "grid_id": feature["grid_id"], "category_code": DEVICE_CLASSES.get(device_type),
                "unit_id": None, "reporter_id": reporter, "key_prefix": key.prefix,
                "key_hash": key.key_hash, "status": "active", "feature_id": feature["id"],
                "created_at": created_at, "updated_at": created_at, "last_seen_at": None,
            }
        )  # fmt: skip
        assert device_type in DEVICE_TYPES_ZH
    if rows:
        db.execute(insert(Device), rows)
    shown.count = len(rows)
    return shown
