"""Code shared by every Lookout service: settings, logging, the series model and
its validation, the wire codec, the broker topology and the database schema."""

__version__ = "0.1.0"
