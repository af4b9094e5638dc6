import pytest

ONE_DISTRICT = {"370102": 3}  # 历下区 with three demo streets keeps the test quick


@pytest.fixture
def demo():
    """The demo city loaded with one district (real boundary, demo streets, one user per role)."""
    from cityloop.demo.services import demo_load

    return demo_load(districts=ONE_DISTRICT, simulate_days=1, simulate_rate=5)
