#!/usr/bin/env python
"""Same as the ``cityloop`` command, for those used to manage.py."""

from cityloop.__main__ import main

if __name__ == "__main__":
    main()
