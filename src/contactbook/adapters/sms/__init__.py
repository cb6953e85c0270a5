"""SMS gateways: an in-memory one for tests and demos (HTTP lives in ``http``)."""

from contactbook.adapters.sms.memory import MemorySmsGateway

__all__ = ["MemorySmsGateway"]
