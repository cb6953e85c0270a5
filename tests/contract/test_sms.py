"""SmsGatewayContract on the in-memory gateway, plus its programmable failures."""

from __future__ import annotations

import pytest

from contactbook.adapters.sms.memory import MemorySmsGateway
from contactbook.ports.delivery import OutgoingSms, SmsGateway, TemporaryDeliveryFailure
from contactbook.testing.delivery_contract import SentSms, SmsGatewayContract


class TestMemorySmsGateway(SmsGatewayContract):
    @pytest.fixture
    def gateway(self) -> MemorySmsGateway:
        return MemorySmsGateway.from_url("memory://")

    @pytest.fixture
    def sms(self, gateway: MemorySmsGateway) -> SmsGateway:
        return gateway

    @pytest.fixture
    def sent_sms(self, gateway: MemorySmsGateway) -> SentSms:
        return lambda: [(s.message_id, s.to, s.body) for s in gateway.sent]

    def test_fail_next_raises_then_recovers(self, gateway: MemorySmsGateway) -> None:
        message = OutgoingSms("s1", "0912345678", "驗證碼 123456")
        gateway.fail_next(TemporaryDeliveryFailure("gateway busy"))
        with pytest.raises(TemporaryDeliveryFailure):
            gateway.send(message)
        gateway.send(message)
        assert gateway.sent == [message]

    def test_clear_forgets_what_was_sent(self, gateway: MemorySmsGateway) -> None:
        gateway.send(OutgoingSms("s1", "0912345678", "x"))
        gateway.clear()
        assert gateway.sent == []

    def test_from_url_refuses_other_schemes(self) -> None:
        with pytest.raises(ValueError):
            MemorySmsGateway.from_url("https://sms.example.org")
