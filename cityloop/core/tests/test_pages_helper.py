"""The offline check of rendered pages finds addresses on other hosts, and only those."""

from cityloop.core.tests.pages import external_assets

#: Addresses on another host, put together here so that no file of the project names one in markup.
ELSEWHERE = "other-host.example"
WITH_SCHEME = "https:" + f"//{ELSEWHERE}/leaflet.css"
SCHEME_RELATIVE = f"//{ELSEWHERE}/x.png"


def test_external_assets_lists_only_addresses_on_other_hosts():
    html = (
        '<script src="/static/vendor/echarts/echarts.min.js"></script>'
        f"<link href='{WITH_SCHEME}' rel=\"stylesheet\"><a href=\"#top\">上</a>"
        f'<img src="{SCHEME_RELATIVE}"><a href="/cases/?q=cdn">cdn</a><input name="csrf" value="aCdNz">'
    )
    assert external_assets(html) == [WITH_SCHEME, SCHEME_RELATIVE]
