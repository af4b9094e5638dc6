import pytest

from cityloop.accounts.models import Role
from cityloop.accounts.selectors import user_covers_region, user_region_codes
from cityloop.accounts.services import user_upsert
from cityloop.catalog.models import Department
from cityloop.core.errors import ValidationFailed
from cityloop.geo.models import Region, RegionLevel

pytestmark = pytest.mark.django_db


@pytest.fixture
def regions() -> dict[str, Region]:
    city = Region.objects.create(code="370100", name="济南市", level=RegionLevel.CITY)
    lixia = Region.objects.create(code="370102", name="历下区", level=RegionLevel.DISTRICT, parent=city)
    shizhong = Region.objects.create(code="370103", name="市中区", level=RegionLevel.DISTRICT, parent=city)
    street = Region.objects.create(code="370102001", name="甲街道", level=RegionLevel.STREET, parent=lixia)
    community = Region.objects.create(code="370102001001", name="甲社区", level=RegionLevel.COMMUNITY, parent=street)
    return {"city": city, "lixia": lixia, "shizhong": shizhong, "street": street, "community": community}


def test_district_operator_sees_own_district_but_not_another(regions):
    operator = user_upsert(username="op", role=Role.OPERATOR, regions=[regions["lixia"]])
    assert user_covers_region(operator, regions["community"])
    assert user_covers_region(operator, regions["lixia"])
    assert not user_covers_region(operator, regions["shizhong"])


def test_center_role_without_regions_covers_the_whole_city(regions):
    dispatcher = user_upsert(username="disp", role=Role.DISPATCHER)
    assert user_region_codes(dispatcher) is None
    assert user_covers_region(dispatcher, regions["shizhong"])


def test_inspector_without_regions_covers_nothing(regions):
    inspector = user_upsert(username="insp", role=Role.INSPECTOR)
    assert user_region_codes(inspector) == []
    assert not user_covers_region(inspector, regions["community"])


def test_city_scope_covers_its_districts(regions):
    leader = user_upsert(username="lead", role=Role.INSPECTOR, regions=[regions["city"]])
    assert user_covers_region(leader, regions["community"])


def test_handler_must_belong_to_a_department(regions):
    with pytest.raises(ValidationFailed, match="处置单位"):
        user_upsert(username="h", role=Role.HANDLER)
    dept = Department.objects.create(code="m", name="市政")
    handler = user_upsert(username="h", role=Role.HANDLER, departments=[dept], full_name="刘洋")
    assert list(handler.departments.all()) == [dept]
    assert str(handler) == "刘洋"
    assert not handler.is_staff


def test_admin_gets_the_admin_site_and_others_do_not(regions):
    admin = user_upsert(username="adm", role=Role.ADMIN, password="x-Secret-1")
    operator = user_upsert(username="op2", role=Role.OPERATOR)
    assert admin.is_staff and admin.is_superuser and admin.check_password("x-Secret-1")
    assert not operator.is_staff and not operator.has_usable_password()
