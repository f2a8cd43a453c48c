"""``python -m audience.cli``: the ``audience`` command without its console script."""

from __future__ import annotations

from audience.cli import main

if __name__ == "__main__":
    main()
