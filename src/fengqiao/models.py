"""Every ORM model, imported in one place so the metadata is complete (migrations, tests)."""

from fengqiao.analytics.models import TABLES as ROLLUP_TABLES
from fengqiao.assessment.annual_models import AnnualLog, AnnualScheme, BenchmarkList, UnitEvaluation
from fengqiao.assessment.models import Bulletin, BulletinSubscription
from fengqiao.auth.models import ApiKey, GridAssignment, SmsCode, User, UserRole
from fengqiao.basemap.models import BaseFeature, BasemapSetting
from fengqiao.calls.models import VideoCall
from fengqiao.cameras.models import Camera
from fengqiao.campaigns.models import (
    Campaign,
    CampaignCursor,
    CampaignEvent,
    CampaignLog,
    CampaignMeasure,
    CampaignProgress,
    CampaignQuantity,
)
from fengqiao.catalogue.models import ProxyRequest, ProxyRequestLog, ServiceItem
from fengqiao.catalogue.search import SEARCH_OBJECTS
from fengqiao.command.models import AlarmState
from fengqiao.events.models import (
    POSTGRES_ONLY_INDEXES,
    Attachment,
    Event,
    EventLog,
    EventMeToo,
    EventPart,
    EventSequence,
    RollupPending,
)
from fengqiao.geo.models import LayerFeature
from fengqiao.inspections.models import (
    InspectionGroup,
    InspectionGroupMember,
    InspectionGroupTown,
    InspectionLog,
    InspectionRound,
    InspectionRoundItem,
    SelfAssessment,
    SelfAssessmentItem,
)
from fengqiao.intake.models import ChecklistRun
from fengqiao.iot.models import Device, IotFold, IotInbox, IotQuarantine, IotRule
from fengqiao.jointops.models import JointOperation, JointOperationEvent, JointOperationLog
from fengqiao.meetings.models import Meeting, MeetingAttendee, MeetingLog
from fengqiao.notices.models import LeafletCampaign, LeafletDelivery, Notice, NoticeLog
from fengqiao.notify.models import Notification
from fengqiao.open311.models import Open311Refusal, Open311Request
from fengqiao.ops.models import PersonalDataAccess
from fengqiao.org.models import ChangeCounter, OrgUnit, Unit
from fengqiao.outbox.models import Outbox
from fengqiao.partitions import is_partition
from fengqiao.patrol.models import Patrol, Position
from fengqiao.rooms.models import RoomParticipant, RoomSession
from fengqiao.search.index import SEARCH_OBJECTS as PLACE_SEARCH_OBJECTS
from fengqiao.sla.models import CalendarOverride, SlaPolicy
from fengqiao.standards.models import StandardItem, StandardLog, StandardVersion
from fengqiao.supervision.models import SupervisionOrder
from fengqiao.tasks.models import TrackedTask, TrackedTaskPhoto, TrackedTaskTrail
from fengqiao.taxonomy.models import (
    Category,
    CategoryMajor,
    IntakeModule,
    IntakeQuestion,
    RoutingRule,
)
from fengqiao.warnings.models import EarlyWarning, WarningScan

__all__ = [
    "ROLLUP_TABLES",
    "AlarmState",
    "AnnualLog",
    "AnnualScheme",
    "ApiKey",
    "Attachment",
    "BaseFeature",
    "BasemapSetting",
    "BenchmarkList",
    "Bulletin",
    "BulletinSubscription",
    "CalendarOverride",
    "Camera",
    "Campaign",
    "CampaignCursor",
    "CampaignEvent",
    "CampaignLog",
    "CampaignMeasure",
    "CampaignProgress",
    "CampaignQuantity",
    "Category",
    "CategoryMajor",
    "ChangeCounter",
    "ChecklistRun",
    "Device",
    "EarlyWarning",
    "Event",
    "EventLog",
    "EventMeToo",
    "EventPart",
    "EventSequence",
    "GridAssignment",
    "InspectionGroup",
    "InspectionGroupMember",
    "InspectionGroupTown",
    "InspectionLog",
    "InspectionRound",
    "InspectionRoundItem",
    "IntakeModule",
    "IntakeQuestion",
    "IotFold",
    "IotInbox",
    "IotQuarantine",
    "IotRule",
    "JointOperation",
    "JointOperationEvent",
    "JointOperationLog",
    "LayerFeature",
    "LeafletCampaign",
    "LeafletDelivery",
    "Meeting",
    "MeetingAttendee",
    "MeetingLog",
    "Notice",
    "NoticeLog",
    "Notification",
    "Open311Refusal",
    "Open311Request",
    "OrgUnit",
    "Outbox",
    "Patrol",
    "PersonalDataAccess",
    "Position",
    "ProxyRequest",
    "ProxyRequestLog",
    "RollupPending",
    "RoomParticipant",
    "RoomSession",
    "RoutingRule",
    "SelfAssessment",
    "SelfAssessmentItem",
    "ServiceItem",
    "SlaPolicy",
    "SmsCode",
    "StandardItem",
    "StandardLog",
    "StandardVersion",
    "SupervisionOrder",
    "TrackedTask",
    "TrackedTaskPhoto",
    "TrackedTaskTrail",
    "Unit",
    "UnitEvaluation",
    "User",
    "UserRole",
    "VideoCall",
    "WarningScan",
]

# Objects without a model on every backend: the service catalogue's search index (FTS5 /
# pg_trgm, made by hand in 0012), the search box's (0028) and the indexes only PostgreSQL has.
UNMODELLED = SEARCH_OBJECTS | PLACE_SEARCH_OBJECTS | POSTGRES_ONLY_INDEXES


def include_name(name: str | None, type_: str, parent_names: object) -> bool:
    """Alembic's `include_name` hook: autogenerate reflects nothing of `UNMODELLED`, nor
    PostgreSQL's monthly partitions of the big tables (migration 0040; the parents are modelled)."""
    if type_ == "table" and is_partition(name):
        return False
    return name not in UNMODELLED


def include_object(
    object_: object, name: str | None, type_: str, reflected: bool, compare_to: object
) -> bool:
    """Alembic's `include_object` hook: nor does it compare the models' side of them."""
    return name not in UNMODELLED
