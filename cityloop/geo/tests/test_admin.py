from __future__ import annotations

import pytest
from django.urls import reverse

from cityloop.accounts.tests.factories import UserFactory
from cityloop.geo.models import RegionLevel
from cityloop.geo.tests.factories import GridFactory, RegionFactory, ResponsibilityGridFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client):
    client.force_login(UserFactory(username="admin", is_staff=True, is_superuser=True))
    return client


def test_admin_pages_render_without_geometry(admin_client, django_assert_max_num_queries):
    community = RegionFactory(code="370102001001", name="甲社区", level=RegionLevel.COMMUNITY)
    grids = [GridFactory(community=community) for _ in range(30)]
    beat = ResponsibilityGridFactory(name="一组")
    beat.grids.set(grids[:3])

    with django_assert_max_num_queries(12):  # list_select_related: no query per row
        page = admin_client.get(reverse("admin:geo_grid_changelist"))
    assert page.status_code == 200 and "甲社区" in page.content.decode()
    page = admin_client.get(reverse("admin:geo_grid_changelist"), {"q": grids[0].code[:14]})
    assert grids[0].code in page.content.decode()

    page = admin_client.get(reverse("admin:geo_grid_change", args=[grids[0].pk]))
    text = page.content.decode()
    assert page.status_code == 200
    assert "边界(WKB)" not in text and "boundary_wkb" not in text
    assert "面积(平方米)" in text and "117.5" in text  # area and bounding box, read-only
    # The community is chosen with autocomplete, not a dropdown of every region.
    assert 'data-ajax--url="/admin/autocomplete/"' in text

    for name in ("admin:geo_region_changelist", "admin:geo_responsibilitygrid_changelist"):
        assert admin_client.get(reverse(name)).status_code == 200
    assert admin_client.get(reverse("admin:geo_region_change", args=[community.pk])).status_code == 200
    assert admin_client.get(reverse("admin:geo_responsibilitygrid_change", args=[beat.pk])).status_code == 200
    found = admin_client.get(
        reverse("admin:autocomplete"),
        {"app_label": "geo", "model_name": "responsibilitygrid", "field_name": "grids", "term": grids[1].code},
    )
    assert [r["text"] for r in found.json()["results"]] == [grids[1].code]
    inspectors = admin_client.get(
        reverse("admin:autocomplete"),
        {"app_label": "geo", "model_name": "responsibilitygrid", "field_name": "inspectors", "term": "admin"},
    )
    assert inspectors.status_code == 200 and len(inspectors.json()["results"]) == 1
