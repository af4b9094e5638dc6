"""Configuration of the demo city 济南 (demo configuration, not a standard: every row is marked is_demo)."""

from __future__ import annotations

from decimal import Decimal

from cityloop.accounts.models import Role
from cityloop.catalog.models import DepartmentKind, Stage
from cityloop.core.choices import TimeUnit

CITY_CODE = "370100"
CITY_NAME = "济南市"
DISTRICTS_FILE = "geo/jinan-370100-districts.gcj02.json"
CATEGORIES_FILE = "categories.csv"
LEGACY_CATEGORIES_FILE = "categories_legacy_cjt214.csv"

#: The four central districts that get demo streets, communities and unit grids, with their number of streets.
CENTRAL_DISTRICTS = {"370102": 14, "370103": 17, "370104": 16, "370105": 15}
#: Target area of one demo community in km² (a 100 m grid allows at most 999 cells in a community).
COMMUNITY_KM2 = 1.5

DEMO_PASSWORD = "Demo@2026"
#: The short simulation the demo runs on an empty city (days up to yesterday, reports a day).
SIMULATE_DAYS = 5
SIMULATE_RATE = 40

#: City-level departments: code, name, kind.
CITY_DEPARTMENTS = [
    ("center", "市城市管理监督指挥中心", DepartmentKind.CENTER),
    ("municipal", "市市政公用事业服务中心", DepartmentKind.MUNICIPAL),
    ("sanitation", "市环境卫生管理中心", DepartmentKind.SANITATION),
    ("landscape", "市园林和林业绿化局", DepartmentKind.LANDSCAPE),
    ("enforcement", "市城市管理综合行政执法支队", DepartmentKind.ENFORCEMENT),
    ("traffic", "市交通运输局", DepartmentKind.TRAFFIC),
    ("traffic-police", "市公安局交通警察支队", DepartmentKind.TRAFFIC),
    ("water", "市供水公司", DepartmentKind.UTILITY),
    ("gas", "市燃气公司", DepartmentKind.UTILITY),
    ("power", "市供电公司", DepartmentKind.UTILITY),
    ("heating", "市热力公司", DepartmentKind.UTILITY),
    ("telecom", "市通信管线联合办公室", DepartmentKind.UTILITY),
]

#: Routing by major class (大类) for the whole city: major code → department code.
MAJOR_ROUTES = {
    "01": "municipal",
    "02": "traffic",
    "03": "sanitation",
    "04": "landscape",
    "07": "enforcement",
    "08": "enforcement",
    "10": "municipal",
}
#: Majors handled by the street office where the case lies (属地管理).
STREET_OFFICE_MAJORS = ["05", "06", "09"]
#: Minor classes (小类) routed to a utility rather than their major class's department.
MINOR_ROUTES = {
    "01001": "water",
    "01005": "power",
    "01007": "telecom",
    "01008": "telecom",
    "01009": "telecom",
    "01010": "heating",
    "01011": "gas",
    "01012": "traffic-police",
    "01015": "traffic-police",
}

#: Demo handling limits per major class: (normal value, unit, urgent value, unit).
MAJOR_LIMITS = {
    "01": (Decimal(3), TimeUnit.WORK_DAY, Decimal(4), TimeUnit.WORK_HOUR),
    "02": (Decimal(3), TimeUnit.WORK_DAY, Decimal(4), TimeUnit.WORK_HOUR),
    "03": (Decimal(1), TimeUnit.WORK_DAY, Decimal(2), TimeUnit.WORK_HOUR),
    "04": (Decimal(5), TimeUnit.WORK_DAY, Decimal(1), TimeUnit.WORK_DAY),
    "05": (Decimal(5), TimeUnit.WORK_DAY, Decimal(1), TimeUnit.WORK_DAY),
    "06": (Decimal(4), TimeUnit.WORK_HOUR, Decimal(1), TimeUnit.WORK_HOUR),
    "07": (Decimal(1), TimeUnit.WORK_DAY, Decimal(2), TimeUnit.WORK_HOUR),
    "08": (Decimal(2), TimeUnit.WORK_DAY, Decimal(4), TimeUnit.WORK_HOUR),
    "09": (Decimal(2), TimeUnit.WORK_HOUR, Decimal(1), TimeUnit.WORK_HOUR),
    "10": (Decimal(24), TimeUnit.HOUR, Decimal(4), TimeUnit.HOUR),
}

STAGE_LIMITS = {
    Stage.ACCEPT: (Decimal("0.5"), TimeUnit.WORK_HOUR),
    Stage.VERIFY: (Decimal(1), TimeUnit.WORK_HOUR),
    Stage.REGISTER: (Decimal("0.5"), TimeUnit.WORK_HOUR),
    Stage.DISPATCH: (Decimal("0.5"), TimeUnit.WORK_HOUR),
    Stage.CHECK: (Decimal(1), TimeUnit.WORK_HOUR),
    Stage.CLOSE: (Decimal("0.5"), TimeUnit.WORK_HOUR),
}

#: One demo user per role: username, role, full name, department code (handlers), scope.
#: Scope "street" means the first demo street of 历下区, "district" 历下区 itself, None the whole city.
USERS = [
    ("admin", Role.ADMIN, "管理员", None, None),
    ("inspector", Role.INSPECTOR, "王建国", None, "street"),
    ("operator", Role.OPERATOR, "李晓梅", None, None),
    ("shiftlead", Role.SHIFT_LEADER, "赵志强", None, None),
    ("dispatcher", Role.DISPATCHER, "陈静", None, None),
    ("handler", Role.HANDLER, "刘洋", "municipal", None),
    ("handler2", Role.HANDLER, "孙丽", "sanitation", None),
    ("leader", Role.LEADER, "周海涛", None, None),
    ("citizen", Role.CITIZEN, "吴小雨", None, None),
]

CHINESE_NUMERALS = "零一二三四五六七八九"
