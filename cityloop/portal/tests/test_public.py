"""The citizen portal (/public/): 随手拍, follow and rate, the public map, rate limits and photos."""

from __future__ import annotations

import uuid

import pytest
from django.urls import reverse

from cityloop.cases import services
from cityloop.cases.models import Attachment, Case
from cityloop.cases.statuses import CaseStatus, Source
from cityloop.portal import ratelimit
from cityloop.portal.selectors import public_map_points

from .conftest import closed, days_ago, jpeg, public_case, unlabelled_fields

pytestmark = pytest.mark.django_db

JSON = {"HTTP_ACCEPT": "application/json"}
NOT_FOUND = "未找到该案卷，请核对案卷编号和手机号后四位"


def report_data(city, **overrides):
    lon, lat = city.point(1)
    data = {
        "idempotency_key": str(uuid.uuid4()),
        "category": city.garbage.code,
        "description": "路边有一堆垃圾",
        "lon": f"{lon:.7f}",
        "lat": f"{lat:.7f}",
        "reporter_name": "李四",
        "reporter_phone": "139 1234 5678",
        "photos": [jpeg()],
    }
    data.update(overrides)
    return data


# --- 随手拍 -----------------------------------------------------------------------------------------


def test_report_page_needs_no_login_and_labels_every_field(client, catalogue):
    response = client.get(reverse("portal_public:report"))
    text = response.content.decode()
    assert response.status_code == 200
    assert unlabelled_fields(text) == []
    assert 'name="category" value="06010"' in text  # 暴露垃圾 is one of the common problems
    assert 'id="id_reporter_phone"' in text and 'id="id_self_handled"' not in text
    assert "网络不可用，已保存草稿，恢复网络后可重新提交" in text  # the offline message, for report.js


def test_citizen_reports_and_is_told_how_to_follow(client, catalogue):
    response = client.post(reverse("portal_public:report"), report_data(catalogue))
    assert response.status_code == 302
    case = Case.objects.get()
    assert case.source == Source.PUBLIC and case.reporter is None
    assert case.reporter_name == "李四" and case.reporter_phone == "13912345678"
    done = client.get(response["Location"]).content.decode()
    assert case.number in done and "手机号后四位" in done


def test_citizen_report_with_fetch_and_a_retry_with_the_same_key(client, catalogue):
    data = report_data(catalogue)
    first = client.post(reverse("portal_public:report"), data, **JSON)
    data["photos"] = [jpeg()]
    again = client.post(reverse("portal_public:report"), data, **JSON)
    assert first.status_code == 201 and again.status_code == 200
    assert first.json()["number"] == again.json()["number"] and again.json()["created"] is False
    assert first.json()["next"] == reverse("portal_public:report-done")
    assert Case.objects.count() == 1


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"reporter_phone": ""}, "reporter_phone", "请填写手机号"),
        ({"reporter_phone": "1234567"}, "reporter_phone", "请填写 11 位手机号"),
        ({"reporter_phone": "23912345678"}, "reporter_phone", "请填写 11 位手机号"),
        ({"photos": []}, "photos", "请至少上传一张现场照片"),
        ({"lon": "117.5", "lat": "36.9"}, "location", "该位置不在本市任何单元网格内"),
        ({"category": ""}, "category", "请选择问题分类"),
    ],
)
def test_bad_citizen_input_is_refused_with_a_chinese_message(client, catalogue, overrides, field, message):
    response = client.post(reverse("portal_public:report"), report_data(catalogue, **overrides), **JSON)
    assert response.status_code == 422
    assert any(message in m for m in response.json()["errors"][field])
    assert Case.objects.count() == 0


def test_plus86_prefix_is_accepted(client, catalogue):
    response = client.post(reverse("portal_public:report"), report_data(catalogue, reporter_phone="+86 139-1234-5678"))
    assert response.status_code == 302
    assert Case.objects.get().reporter_phone == "13912345678"


def test_public_category_search_needs_no_login(client, catalogue):
    results = client.get(reverse("portal_public:categories"), {"q": "bllj"}).json()["results"]
    assert results[0]["code"] == "06010"


# --- follow and rate -----------------------------------------------------------------------------


def test_track_with_the_right_digits_shows_status_and_public_timeline(client, catalogue, people):
    case = public_case(catalogue, description="<script>alert('x')</script>")
    response = client.post(reverse("portal_public:track"), {"number": case.number, "phone_last4": "5678"})
    text = response.content.decode()
    assert response.status_code == 200
    assert "已上报" in text and "上报" in text
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in text and "<script>alert" not in text
    assert "张三" not in text and "13912345678" not in text  # the page never echoes the name or full phone
    assert unlabelled_fields(text) == []


def test_wrong_digits_and_wrong_number_look_the_same(client, catalogue):
    case = public_case(catalogue)
    wrong_digits = client.post(reverse("portal_public:track"), {"number": case.number, "phone_last4": "0000"})
    wrong_number = client.post(reverse("portal_public:track"), {"number": "2099999999", "phone_last4": "5678"})
    assert wrong_digits.status_code == wrong_number.status_code == 200
    for response in (wrong_digits, wrong_number):
        assert NOT_FOUND in response.content.decode()
        assert response.context["case"] is None
    assert "已上报" not in wrong_digits.content.decode()


def test_rate_after_close(client, catalogue, people):
    case = closed(catalogue, people)
    page = client.post(reverse("portal_public:track"), {"number": case.number, "phone_last4": "5678"})
    text = page.content.decode()
    assert "已结案" in text and "对处理结果是否满意？" in text and "垃圾已清运" in text  # the handling result
    assert "基本满意" in text

    wrong = client.post(reverse("portal_public:rate"), {"number": case.number, "phone_last4": "1111", "rating": "3"})
    assert NOT_FOUND in wrong.content.decode()
    response = client.post(reverse("portal_public:rate"), {"number": case.number, "phone_last4": "5678", "rating": "3"})
    assert response.status_code == 200 and "感谢您的评价" in response.content.decode()
    case.refresh_from_db()
    assert case.satisfaction == 3
    assert "您的评价：满意" in response.content.decode()

    twice = client.post(reverse("portal_public:rate"), {"number": case.number, "phone_last4": "5678", "rating": "1"})
    assert twice.status_code == 409 and "已评价过" in twice.content.decode()
    case.refresh_from_db()
    assert case.satisfaction == 3


def test_an_open_case_cannot_be_rated(client, catalogue):
    case = public_case(catalogue)
    page = client.post(reverse("portal_public:track"), {"number": case.number, "phone_last4": "5678"})
    assert "对处理结果是否满意？" not in page.content.decode()
    response = client.post(reverse("portal_public:rate"), {"number": case.number, "phone_last4": "5678", "rating": "3"})
    assert response.status_code == 409
    assert "不能“满意度评价”" in response.content.decode()


def test_merged_case_points_to_the_case_it_was_merged_into(client, catalogue, people):
    first = public_case(catalogue, phone="13700000001")
    mine = public_case(catalogue, phone="13912345678")
    services.case_merge(case=mine, into=first, actor=people.operator)
    response = client.post(reverse("portal_public:track"), {"number": mine.number, "phone_last4": "5678"})
    text = response.content.decode()
    assert "已合并" in text and f"已合并到案卷 {first.number}" in text
    # My phone follows the case it was merged into.
    followed = client.post(reverse("portal_public:track"), {"number": first.number, "phone_last4": "5678"})
    assert followed.context["case"] == first


# --- the public map --------------------------------------------------------------------------------


def test_public_map_json_has_no_personal_data_and_coarse_positions(client, catalogue, people):
    case = public_case(catalogue, description="我家门口 3 号楼", address="幸福小区 3 号楼 2 单元")
    public_case(catalogue, at=days_ago(40))  # too old
    rejected = public_case(catalogue, grid=2)
    services.case_reject(case=rejected, actor=people.operator, note="重复")
    response = client.get(reverse("portal_public:map-json"))
    assert response.status_code == 200
    features = response.json()["features"]
    assert len(features) == 1
    feature = features[0]
    assert set(feature["properties"]) == {"category", "status", "status_label"}
    assert feature["properties"] == {"category": "暴露垃圾", "status": "reported", "status_label": "已上报"}
    raw = response.content.decode()
    for secret in ("张三", "13912345678", "5678", case.number, "幸福小区", "3 号楼"):
        assert secret not in raw
    lon, lat = feature["geometry"]["coordinates"]
    grid = case.grid
    assert lon == round((grid.min_lon + grid.max_lon) / 2, 3) and lat == round((grid.min_lat + grid.max_lat) / 2, 3)
    assert len(str(lon).split(".")[1]) <= 3 and len(str(lat).split(".")[1]) <= 3


def test_public_map_page_renders(client, catalogue):
    response = client.get(reverse("portal_public:map"))
    assert response.status_code == 200
    assert "vendor/markercluster/leaflet.markercluster.js" in response.content.decode()
    regions = client.get(reverse("portal_public:regions")).json()
    assert {f["properties"]["name"] for f in regions["features"]} == {"历下区", "市中区"}


def test_map_points_are_snapped_even_for_cases_in_one_grid(catalogue):
    lon, lat = catalogue.point(0)
    public_case(catalogue)
    services.case_report(source=Source.PUBLIC, category=catalogue.manhole, description="井盖", lon=lon + 0.0004,
                         lat=lat - 0.0004, reporter_phone="13900000000")
    points = public_map_points()
    assert len({(p.lon, p.lat) for p in points}) == 1


# --- rate limits -------------------------------------------------------------------------------------


def test_tracking_is_rate_limited_per_ip(client, catalogue, settings):
    settings.CITYLOOP_RATE_LIMITS = {"track": (3, 3600)}
    case = public_case(catalogue)
    for _ in range(3):
        assert client.post(reverse("portal_public:track"), {"number": case.number, "phone_last4": "0000"}).status_code == 200
    refused = client.post(reverse("portal_public:track"), {"number": case.number, "phone_last4": "5678"})
    assert refused.status_code == 429 and "操作过于频繁" in refused.content.decode()
    assert int(refused["Retry-After"]) > 0
    other_ip = client.post(reverse("portal_public:track"), {"number": case.number, "phone_last4": "5678"},
                           REMOTE_ADDR="10.0.0.9")
    assert other_ip.status_code == 200
    # X-Forwarded-For is ignored unless the proxy is trusted: it cannot be used to dodge the limit.
    dodged = client.post(reverse("portal_public:track"), {"number": case.number, "phone_last4": "5678"},
                         HTTP_X_FORWARDED_FOR="203.0.113.7")
    assert dodged.status_code == 429


def test_reports_are_rate_limited_with_a_json_429(client, catalogue, settings):
    settings.CITYLOOP_RATE_LIMITS = {"report": (2, 3600)}
    for _ in range(2):
        client.post(reverse("portal_public:report"), report_data(catalogue), **JSON)
    refused = client.post(reverse("portal_public:report"), report_data(catalogue), **JSON)
    assert refused.status_code == 429
    assert refused.json()["code"] == "rate_limited" and "操作过于频繁" in refused.json()["message"]
    assert Case.objects.count() == 2
    assert client.get(reverse("portal_public:report")).status_code == 200  # reading the form is not limited


def test_client_ip_behind_a_trusted_proxy(rf, settings):
    request = rf.post("/", REMOTE_ADDR="10.1.2.3", HTTP_X_FORWARDED_FOR="198.51.100.4, 10.1.2.2")
    assert ratelimit.client_ip(request) == "10.1.2.3"
    settings.CITYLOOP_TRUSTED_PROXIES = ["10.0.0.0/8"]
    assert ratelimit.client_ip(request) == "198.51.100.4"
    spoofed = rf.post("/", REMOTE_ADDR="10.1.2.3", HTTP_X_FORWARDED_FOR="1.1.1.1, 198.51.100.4")
    assert ratelimit.client_ip(spoofed) == "198.51.100.4"  # only the hop the proxy saw counts


# --- photos ---------------------------------------------------------------------------------------------


def test_public_photo_view_serves_only_public_variants(client, catalogue, settings):
    client.post(reverse("portal_public:report"), report_data(catalogue))
    attachment = Attachment.objects.get()
    case = attachment.case
    page = client.post(reverse("portal_public:track"), {"number": case.number, "phone_last4": "5678"})
    rest = attachment.public_path.removeprefix("photos/public/")
    url = reverse("portal_public:photo", kwargs={"path": rest})
    assert url in page.content.decode()
    assert "/media/" not in page.content.decode()  # never a storage URL, least of all the original's

    response = client.get(url)
    assert response.status_code == 200 and response["Content-Type"] == "image/jpeg"
    assert b"".join(response.streaming_content)[:2] == b"\xff\xd8"

    (settings.MEDIA_ROOT / "secret.txt").write_text("secret")
    original = attachment.original_path.removeprefix("photos/")
    for path in ("../secret.txt", "../../secret.txt", "..%2F..%2Fsecret.txt", "%2e%2e/%2e%2e/secret.txt",
                 "/etc/passwd", f"../{original}", original.replace(".jpg", ".JPG"), f"{rest}/../../../secret.txt"):
        refused = client.get(f"/public/photos/{path}")
        assert refused.status_code == 404, path


def test_category_status_and_labels_in_the_page_are_chinese(client, catalogue):
    case = public_case(catalogue)
    assert case.status == CaseStatus.REPORTED
    page = client.post(reverse("portal_public:track"), {"number": case.number, "phone_last4": "5678"}).content.decode()
    assert '<html class="no-js" lang="zh-CN">' in page
    assert "办理进度" in page and "暴露垃圾" in page


def test_control_characters_in_a_citizen_report_are_cleaned(client, catalogue):
    data = report_data(catalogue, description="路边\x0c有垃圾\x07", reporter_name="李\x1b四", address="经十路\r\n1 号")
    response = client.post(reverse("portal_public:report"), data)
    assert response.status_code == 302
    case = Case.objects.get()
    assert (case.description, case.reporter_name, case.address) == ("路边\n有垃圾", "李四", "经十路 1 号")
