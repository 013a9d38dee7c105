"""``python -m mentionwatch``: the same as the ``mentionwatch`` command."""

from .cli import main

if __name__ == "__main__":
    main()
