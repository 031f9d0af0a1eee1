"""LinqProtocol infrastructure toolkit: the core library (no Pulumi import here)."""

__version__ = "0.1.0"
