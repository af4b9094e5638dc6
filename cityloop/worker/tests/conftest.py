from cityloop.cases.tests.conftest import city, handling, people  # noqa: F401
from cityloop.notifications.tests.conftest import hook_server  # noqa: F401
