"""mentionwatch: a command-line brand-mention monitor."""

__version__ = "0.1.0"
PROJECT_URL = "https://github.com/mentionwatch/mentionwatch"
