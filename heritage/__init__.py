"""Cultural-heritage lakehouse: shared core (settings, record model, logging, clients, CLI)."""

__version__ = "0.1.0"
