"""The UI words of every vocabulary, collected from the tables beside their enums and served to
the pages' scripts (embedded in the page shell and at GET /api/v1/labels), so no script keeps a
copy of its own."""

from __future__ import annotations

import json
from functools import cache
from typing import Any

from fastapi import APIRouter
from markupsafe import Markup

from fengqiao.assessment.annual import DEPARTMENT_CATEGORIES
from fengqiao.assessment.annual import PART_ZH as ANNUAL_PART_ZH
from fengqiao.assessment.annual_models import SCHEME_STATUS_ZH
from fengqiao.assessment.service import RANK_LEVEL_ZH
from fengqiao.basemap.models import PROVIDER_ZH as BASEMAP_PROVIDER_ZH
from fengqiao.basemap.models import SOURCE_ZH as BASEMAP_SOURCE_ZH
from fengqiao.calls.models import CALL_OUTCOME_ZH
from fengqiao.cameras.models import CAMERA_STATUS_ZH
from fengqiao.campaigns.models import CAMPAIGN_STATUS_ZH, MEASURE_UNIT_ZH, TAG_HOW_ZH
from fengqiao.catalogue.models import SERVICE_LEVEL_ZH
from fengqiao.catalogue.proxy import PROXY_ACTION_ZH, PROXY_STATUS_ZH
from fengqiao.crs import CRS_ZH
from fengqiao.events.escalation import REASON_ZH as ESCALATION_REASON_ZH
from fengqiao.events.escalation import RUNG_ZH
from fengqiao.events.parts import PART_ROLE_ZH, PART_STATUS_ZH
from fengqiao.events.public import PUBLIC_STATUS_KEYS_ZH
from fengqiao.events.schemas import PHOTO_KIND_ZH
from fengqiao.events.sources import SOURCE_ZH
from fengqiao.events.trail import TRAIL_ACTION_ZH
from fengqiao.events.workflow import ACTOR_ZH, STATUS_ZH, TRANSITIONS
from fengqiao.inspections.models import LOG_ACTION_ZH as INSPECTION_ACTION_ZH
from fengqiao.inspections.models import RESULT_ZH as INSPECTION_RESULT_ZH
from fengqiao.inspections.models import SELF_STATUS_ZH
from fengqiao.iot.alarms import OUTCOME_ZH as ALARM_OUTCOME_ZH
from fengqiao.iot.rules import READING_ZH
from fengqiao.iot.service import DEVICE_TYPES_ZH
from fengqiao.jointops.models import OPERATION_ACTION_ZH, OPERATION_STATUS_ZH
from fengqiao.meetings.models import MEETING_ACTION_ZH, MEETING_LEVEL_ZH, MEETING_STATUS_ZH
from fengqiao.notices.models import NOTICE_ACTION_ZH, NOTICE_STATUS_ZH
from fengqiao.notify.templates import TEMPLATE_ZH
from fengqiao.org.models import (
    AREA_TYPE_ZH,
    GRID_TYPE_ZH,
    ORG_LEVEL_ZH,
    PLATFORM_ZH,
    UNIT_TYPE_ZH,
)
from fengqiao.org.service import UNIT_CATEGORY_ZH
from fengqiao.outbox.models import CHANNEL_ZH, OUTBOX_STATUS_ZH
from fengqiao.scope import ROLE_ZH
from fengqiao.sla.deadlines import LIGHT_ZH, LIMIT_UNIT_ZH
from fengqiao.standards.models import (
    ASPECT_ZH,
    EVIDENCE_ZH,
    STANDARD_ACTION_ZH,
    STANDARD_STATUS_ZH,
)
from fengqiao.supervision.models import ORDER_KIND_ZH, ORDER_STATUS_ZH
from fengqiao.tasks.answers import TASK_LIGHT_ZH
from fengqiao.tasks.models import TASK_ACTION_ZH, TASK_KIND_ZH, TASK_STATUS_ZH
from fengqiao.taxonomy.models import EVENT_LEVEL_SHORT_ZH, EVENT_LEVEL_ZH
from fengqiao.taxonomy.questions import DATATYPE_ZH
from fengqiao.warnings.models import WARNING_KIND_ZH, WARNING_STATUS_ZH


@cache
def vocabularies() -> dict[str, Any]:
    """Every vocabulary the pages show, `{name: {code: 中文}}` (escalation rungs: a list by rung)."""
    return {
        # Events (the first ten names are those the scripts read since the labels were embedded).
        "status": dict(STATUS_ZH),
        "source": dict(SOURCE_ZH),
        "actions": {t.action: t.name_zh for t in TRANSITIONS} | TRAIL_ACTION_ZH,
        "actors": dict(ACTOR_ZH),
        # The transition table itself, for the event page: where each step starts, who takes it,
        # and whether it is the loop's next step (not words, but kept beside them: one table).
        "steps": {
            t.action: {"from": sorted(t.sources), "actors": list(t.actors), "main": t.main}
            for t in TRANSITIONS
        },
        "rungs": list(RUNG_ZH),
        "escalationReasons": dict(ESCALATION_REASON_ZH),
        "levels": {str(level): word for level, word in EVENT_LEVEL_ZH.items()},
        "photoKinds": dict(PHOTO_KIND_ZH),
        "levelsShort": {str(level): word for level, word in EVENT_LEVEL_SHORT_ZH.items()},
        "lights": dict(LIGHT_ZH),
        "platforms": dict(PLATFORM_ZH),
        "orderKinds": dict(ORDER_KIND_ZH),
        "orderStatus": dict(ORDER_STATUS_ZH),
        "roles": dict(ROLE_ZH),
        # The rest of the system.
        "orgLevels": dict(ORG_LEVEL_ZH),
        "areaTypes": dict(AREA_TYPE_ZH),
        "gridTypes": dict(GRID_TYPE_ZH),
        "unitCategories": dict(UNIT_CATEGORY_ZH),
        "unitTypes": dict(UNIT_TYPE_ZH),
        "limitUnits": dict(LIMIT_UNIT_ZH),
        "crs": dict(CRS_ZH),
        "rankLevels": dict(RANK_LEVEL_ZH),
        "warningKinds": dict(WARNING_KIND_ZH),
        "warningStatus": dict(WARNING_STATUS_ZH),
        "outboxStatus": dict(OUTBOX_STATUS_ZH),
        "channels": dict(CHANNEL_ZH),
        "messageTemplates": dict(TEMPLATE_ZH),
        "cameraStatus": dict(CAMERA_STATUS_ZH),
        "deviceTypes": dict(DEVICE_TYPES_ZH),
        "alarmOutcomes": dict(ALARM_OUTCOME_ZH),
        "iotReadings": dict(READING_ZH),
        "questionTypes": dict(DATATYPE_ZH),
        "proxyStatus": dict(PROXY_STATUS_ZH),
        "proxyActions": dict(PROXY_ACTION_ZH),
        "serviceLevels": dict(SERVICE_LEVEL_ZH),
        "callOutcomes": dict(CALL_OUTCOME_ZH),
        "basemapProviders": dict(BASEMAP_PROVIDER_ZH),
        "basemapSources": dict(BASEMAP_SOURCE_ZH),
        "publicStatus": dict(PUBLIC_STATUS_KEYS_ZH),
        "noticeStatus": dict(NOTICE_STATUS_ZH),
        "noticeActions": dict(NOTICE_ACTION_ZH),
        "partStatus": dict(PART_STATUS_ZH),
        "partRoles": dict(PART_ROLE_ZH),
        "jointOpStatus": dict(OPERATION_STATUS_ZH),
        "jointOpActions": dict(OPERATION_ACTION_ZH),
        "campaignStatus": dict(CAMPAIGN_STATUS_ZH),
        "measureUnits": dict(MEASURE_UNIT_ZH),
        "campaignTagHow": dict(TAG_HOW_ZH),
        "taskKind": dict(TASK_KIND_ZH),
        "taskStatus": dict(TASK_STATUS_ZH),
        "taskLight": dict(TASK_LIGHT_ZH),
        "taskActions": dict(TASK_ACTION_ZH),
        "annualParts": dict(ANNUAL_PART_ZH),
        "annualKinds": {"town": "镇街", **DEPARTMENT_CATEGORIES},
        "schemeStatus": dict(SCHEME_STATUS_ZH),
        "meetingLevel": dict(MEETING_LEVEL_ZH),
        "meetingStatus": dict(MEETING_STATUS_ZH),
        "meetingActions": dict(MEETING_ACTION_ZH),
        "standardAspects": dict(ASPECT_ZH),
        "standardEvidence": dict(EVIDENCE_ZH),
        "standardStatus": dict(STANDARD_STATUS_ZH),
        "standardActions": dict(STANDARD_ACTION_ZH),
        "inspectionResults": dict(INSPECTION_RESULT_ZH),
        "inspectionActions": dict(INSPECTION_ACTION_ZH),
        "selfAssessmentStatus": dict(SELF_STATUS_ZH),
    }


@cache
def shell_json() -> Markup:
    """The vocabularies as JSON for the page shell's <script type="application/json"> block."""
    text = json.dumps(vocabularies(), ensure_ascii=False, separators=(",", ":"))
    # Inside a <script> element only "</" (a closing tag) and "<!--" can end or bend the data;
    # "\u003c" is the same string to JSON.parse.
    return Markup(text.replace("<", "\\u003c"))


# Not scoped data: the same words for every caller, so no scope test covers it. Authenticated like
# the rest of the API; the public pages (login, 办事指南) read the same JSON from the page shell.
router = APIRouter(tags=["labels"])


@router.get("/labels", summary="UI words of every vocabulary")
def labels() -> dict[str, Any]:
    """The words the pages show for each code, `{vocabulary: {code: 中文}}`."""
    return vocabularies()
