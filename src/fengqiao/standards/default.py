"""The shipped first version of the standard: the seed article's eight aspects (工作制度、信息平台、
指挥体系、全科网格、属地管理、便民服务、标识标牌、工作台账), each with items in the article's own
wording where it has some, weights summing to 100."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from fengqiao.standards import service
from fengqiao.standards.models import StandardVersion
from fengqiao.standards.schemas import ItemIn, StandardIn

TITLE = "“四个平台”标准化建设标准（第一版）"
# (aspect, text, weight, evidence)
ITEMS: tuple[tuple[str, str, float, str], ...] = (
    ("system", "建立工作例会制度，定期召开“四个平台”工作例会并有记录", 4, "document"),
    ("system", "建立督查考核机制，派驻机构考核评比由镇街负责", 4, "document"),
    ("system", "建立分析研判制度，定期组织会商、分析情况、研究措施", 5, "document"),
    ("platform", "基层治理综合信息平台正常运行，网格事件按十大类四十二小类归口流转", 5, "none"),
    ("platform", "民情通、食安通、智慧安监、河长通等业务应用并入一个系统，“一个口子进、一个口子出”", 4, "none"),
    ("platform", "二级以上事件提前二十四小时提醒，超期亮红灯并下派督办单", 4, "none"),
    ("command", "综合信息指挥室独立选址，面积不低于六十平方米", 5, "photo"),
    ("command", "显示大屏不少于六块，视频监控、视联网接入指挥室", 4, "photo"),
    ("command", "配备二名以上专职人员，落实值班值守", 4, "document"),
    ("grid", "网格按农村不多于一百五十户、城区不多于三百户划分，统一编号", 5, "document"),
    ("grid", "全科网格员配备到位并统一培训，发挥信息员、宣传员、服务员作用", 4, "document"),
    ("grid", "网格员巡查轨迹全程记录，事件由网格员发起、由网格员确认关闭", 4, "none"),
    ("territorial", "十二个派驻机构以镇街属地管理为主，力量下沉到位", 5, "document"),
    ("territorial", "常态化开展联合执法，统筹使用条块力量", 4, "document"),
    ("territorial", "平台协调组、镇街领导、区级逐级协调机制落实", 4, "document"),
    ("service", "便民服务中心“一窗受理、集成服务”，办理事项下放延伸到位", 4, "photo"),
    ("service", "网格员代办服务规范开展，代办事项有登记", 4, "document"),
    ("service", "便民服务事项可通过有线电视机顶盒和手机查询", 4, "none"),
    ("signage", "综合信息指挥室标识统一规范，符合《标识标牌标准化手册》", 4, "photo"),
    ("signage", "村（社区）综合信息工作室标识上墙", 4, "photo"),
    ("signage", "网格公示牌（网格员姓名、电话、职责）设置到位", 4, "photo"),
    ("ledger", "事件受理、交办、处置、反馈全流程台账完整", 4, "document"),
    ("ledger", "督查发现问题的整改台账齐全，限期整改到位", 4, "document"),
    ("ledger", "“四个平台”宣传折页入户发放有台账", 3, "document"),
)  # fmt: skip
assert sum(weight for _, _, weight, _ in ITEMS) == 100


def ensure_default(*, db: Session, now: datetime) -> StandardVersion:
    """The version in force; when none exists yet, the shipped one drafted and published (by
    the system, no actor)."""
    existing = service.current(db)
    if existing is not None:
        return existing
    data = StandardIn(
        title=TITLE,
        items=[ItemIn(aspect=a, text=t, weight=w, evidence=e)
               for a, t, w, e in ITEMS],
    )  # fmt: skip
    version = service.create_version(db=db, principal=None, data=data, now=now)
    return service.publish_version(
        db=db, principal=None, version=version, expected=version.version, now=now
    )
