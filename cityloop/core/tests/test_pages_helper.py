"""The offline check of rendered pages finds addresses on other hosts, and only those."""

from cityloop.core.tests.pages import external_assets


def test_external_assets_lists_only_addresses_on_other_hosts():
    html = """<script src="/static/vendor/echarts/echarts.min.js"></script>
    <link href='https://cdn.example.com/leaflet.css' rel="stylesheet"><a href="#top">上</a>
    <img src="//cdn.example.com/x.png"><a href="/cases/?q=cdn">cdn</a><input name="csrf" value="aCdNz">"""
    assert external_assets(html) == ["https://cdn.example.com/leaflet.css", "//cdn.example.com/x.png"]
