"""The demo's notices to residents and a leaflet campaign (the seed's 25万份宣传折页) with
deliveries in the demo worker's grid, made through the same domain functions as the API, with
dates relative to `now` so a fresh demo shows them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from fengqiao.auth.models import User
from fengqiao.auth.service import load_principal
from fengqiao.notices import leaflets, service
from fengqiao.notices.schemas import CampaignIn, DeliveryIn, NoticeIn
from fengqiao.org.models import OrgUnit

NOTICES = (
    # (who, where: "district" or "village" (the demo resident's), title, text)
    ("demo_district_operator", "district", "冬季消防安全提示",
     "天干物燥，请勿在楼道、门厅给电动自行车停放充电，不私拉乱接电线。"
     "发现火灾隐患可通过“随手拍”上报，或拨打 119。"),
    ("demo_operator", "village", "本周六社区平安志愿者招募",
     "本周六上午 9 时在社区服务中心集合，开展平安巡防和反诈宣传，欢迎居民报名参加。"),
)  # fmt: skip
DELIVERED = 36  # households of the demo worker's grid reached so far


@dataclass
class NoticesReport:
    notices: int
    deliveries: int


def seed_notices(*, db: Session, now: datetime) -> NoticesReport:
    """Two published notices (district-wide and the demo resident's village) and one district
    campaign with some households of the demo worker's grid reached."""
    users = {
        u.username: u
        for u in db.scalars(select(User).where(User.username.in_(
            ("demo_district_operator", "demo_operator", "demo_grid_worker", "demo_resident")
        )))
    }  # fmt: skip
    if len(users) < 4:
        return NoticesReport(0, 0)
    resident_home = db.get(OrgUnit, users["demo_resident"].home_org_id)
    district = service.district(db)
    assert resident_home is not None
    today = service.local_today(now)
    made = []
    for username, where, title, text in NOTICES:
        principal = load_principal(db=db, user_id=users[username].id)
        assert principal is not None
        target = district if where == "district" else resident_home
        if not principal.covers(target.path):
            continue
        data = NoticeIn(
            org_id=target.id, title=title, text=text, valid_from=today - timedelta(days=2),
            valid_to=today + timedelta(days=28), publish=True,
        )  # fmt: skip
        made.append(service.create_notice(db=db, principal=principal, data=data, now=now))
    boss = load_principal(db=db, user_id=users["demo_district_operator"].id)
    worker = load_principal(db=db, user_id=users["demo_grid_worker"].id)
    assert boss is not None and worker is not None
    campaign = leaflets.create_campaign(
        db=db, principal=boss, now=now,
        data=CampaignIn(org_id=district.id, name="平安建设宣传折页", copies=250_000,
                        notice_id=made[0].id if made else None),
    )  # fmt: skip
    grid_id = users["demo_grid_worker"].home_org_id
    for n in range(DELIVERED):
        door = f"{n // 6 + 1}幢{(n % 6) // 2 + 1}0{n % 2 + 1}室"
        leaflets.deliver(
            db=db, principal=worker, campaign=campaign,
            data=DeliveryIn(grid_id=grid_id, household=door),
            now=now - timedelta(hours=DELIVERED - n),
        )  # fmt: skip
    return NoticesReport(len(made), DELIVERED)
