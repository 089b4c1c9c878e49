"""Every ORM model, imported in one place so the metadata is complete (migrations, tests)."""

from fengqiao.auth.models import ApiKey, GridAssignment, User, UserRole
from fengqiao.geo.models import LayerFeature
from fengqiao.org.models import ChangeCounter, OrgUnit, Unit

__all__ = [
    "ApiKey",
    "ChangeCounter",
    "GridAssignment",
    "LayerFeature",
    "OrgUnit",
    "Unit",
    "User",
    "UserRole",
]
