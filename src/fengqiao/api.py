"""All API routers in one place; everything under /api/v1 requires a caller unless listed public."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from fengqiao import health
from fengqiao.analytics import views as analytics_views
from fengqiao.assessment import annual_views
from fengqiao.assessment import views as assessment_views
from fengqiao.auth import views as auth_views
from fengqiao.basemap import views as basemap_views
from fengqiao.calls import views as call_views
from fengqiao.cameras import views as camera_views
from fengqiao.campaigns import views as campaign_views
from fengqiao.catalogue import views as service_views
from fengqiao.command import views as command_views
from fengqiao.deps import current_principal
from fengqiao.events import part_views
from fengqiao.events import resident_views as resident_report_views
from fengqiao.events import views as event_views
from fengqiao.geo import views as geo_views
from fengqiao.inspections import views as inspection_views
from fengqiao.intake import views as intake_views
from fengqiao.iot import views as iot_views
from fengqiao.jointops import views as jointops_views
from fengqiao.meetings import views as meeting_views
from fengqiao.notices import views as notice_views
from fengqiao.notify import views as notify_views
from fengqiao.open311 import views as open311_views
from fengqiao.org import views as org_views
from fengqiao.patrol import views as patrol_views
from fengqiao.publicmap import views as publicmap_views
from fengqiao.residents import views as resident_views
from fengqiao.rooms import views as room_views
from fengqiao.search import views as search_views
from fengqiao.sla import views as sla_views
from fengqiao.standards import views as standard_views
from fengqiao.supervision import views as supervision_views
from fengqiao.tasks import views as task_views
from fengqiao.taxonomy import views as taxonomy_views
from fengqiao.warnings import views as warning_views
from fengqiao.web import labels, tv_pages

API_PREFIX = "/api/v1"

public_router = APIRouter()
public_router.include_router(health.router)
public_router.include_router(auth_views.public, prefix=API_PREFIX)
# The service catalogue (最多跑一次) is public: residents read it without an account.
public_router.include_router(service_views.public, prefix=API_PREFIX)
# Open311 GeoReport v2: public reads; POST requests carries the spec's api_key in its form.
public_router.include_router(open311_views.router)
# Devices post alarms with their own key (X-Device-Key), not a user's credentials.
public_router.include_router(iot_views.public, prefix=API_PREFIX)
# The calls' signalling socket signs itself in (cookie or bearer token; no CSRF header on a socket).
public_router.include_router(call_views.socket_router, prefix=API_PREFIX)
# A report's public status by its complete code, for the TV set-top box (/tv).
public_router.include_router(tv_pages.public, prefix=API_PREFIX)
# Residents ask for an SMS sign-in code and read nearby reports without an account.
public_router.include_router(resident_views.public, prefix=API_PREFIX)
# The public map of reports (身边事): no sign-in, rounded points, no personal data.
public_router.include_router(publicmap_views.router, prefix=API_PREFIX)
# Today's notices to residents (宣传): read without an account, like the catalogue.
public_router.include_router(notice_views.public, prefix=API_PREFIX)

# Authenticated by default: the dependency sits on the router, so a new route cannot forget it.
api_router = APIRouter(prefix=API_PREFIX, dependencies=[Depends(current_principal)])
# The map router first: route matching walks the routers in order (each route a regex match,
# about 170 of them), and the grid lookup is the hottest route of the API; the phones'
# positions come next, then what every open command-room screen and event list polls.
api_router.include_router(geo_views.router)
api_router.include_router(basemap_views.router)
api_router.include_router(patrol_views.router)
api_router.include_router(command_views.router)
api_router.include_router(event_views.router)
api_router.include_router(part_views.router)  # 协办 to-do lists (issue 20)
api_router.include_router(jointops_views.router)  # 联合行动 (issue 20)
api_router.include_router(camera_views.router)
api_router.include_router(auth_views.router)
api_router.include_router(auth_views.org_router)
api_router.include_router(org_views.router)
api_router.include_router(taxonomy_views.router)
api_router.include_router(sla_views.router)
api_router.include_router(intake_views.router)
api_router.include_router(supervision_views.router)
api_router.include_router(notify_views.router)
api_router.include_router(annual_views.router)
api_router.include_router(assessment_views.router)
api_router.include_router(campaign_views.router)
api_router.include_router(warning_views.router)
api_router.include_router(service_views.router)
api_router.include_router(analytics_views.router)
api_router.include_router(open311_views.admin)
api_router.include_router(iot_views.router)
api_router.include_router(search_views.router)
api_router.include_router(labels.router)
api_router.include_router(call_views.router)
api_router.include_router(room_views.router)
# 我的上报: a resident's own reports in plain words (and staff's 公开给上报人).
api_router.include_router(resident_report_views.router)
api_router.include_router(resident_views.router)
api_router.include_router(notice_views.router)
api_router.include_router(task_views.router)
api_router.include_router(meeting_views.router)
# Supervision rounds, rectification and the eight-aspect standard (督查整改, 标准化).
api_router.include_router(standard_views.router)
api_router.include_router(inspection_views.router)
