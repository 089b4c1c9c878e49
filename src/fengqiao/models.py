"""Every ORM model, imported in one place so the metadata is complete (migrations, tests)."""

from fengqiao.analytics.models import TABLES as ROLLUP_TABLES
from fengqiao.assessment.models import Bulletin, BulletinSubscription
from fengqiao.auth.models import ApiKey, GridAssignment, User, UserRole
from fengqiao.cameras.models import Camera
from fengqiao.catalogue.models import ProxyRequest, ProxyRequestLog, ServiceItem
from fengqiao.events.models import Attachment, Event, EventLog, EventSequence, RollupPending
from fengqiao.geo.models import LayerFeature
from fengqiao.intake.models import ChecklistRun
from fengqiao.iot.models import Device, IotFold, IotInbox, IotQuarantine, IotRule
from fengqiao.notify.models import Notification
from fengqiao.open311.models import Open311Refusal, Open311Request
from fengqiao.ops.models import PersonalDataAccess
from fengqiao.org.models import ChangeCounter, OrgUnit, Unit
from fengqiao.outbox.models import Outbox
from fengqiao.patrol.models import Patrol, Position
from fengqiao.sla.models import CalendarOverride, SlaPolicy
from fengqiao.supervision.models import SupervisionOrder
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
    "ApiKey",
    "Attachment",
    "Bulletin",
    "BulletinSubscription",
    "CalendarOverride",
    "Camera",
    "Category",
    "CategoryMajor",
    "ChangeCounter",
    "ChecklistRun",
    "Device",
    "EarlyWarning",
    "Event",
    "EventLog",
    "EventSequence",
    "GridAssignment",
    "IntakeModule",
    "IntakeQuestion",
    "IotFold",
    "IotInbox",
    "IotQuarantine",
    "IotRule",
    "LayerFeature",
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
    "RoutingRule",
    "ServiceItem",
    "SlaPolicy",
    "SupervisionOrder",
    "Unit",
    "User",
    "UserRole",
    "WarningScan",
]
