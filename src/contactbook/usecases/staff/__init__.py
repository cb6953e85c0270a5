"""Staff accounts of the back office (便民服務後臺管理系統).

Login is by username and password, plus a second factor (TOTP, RFC 6238) for
members who enrolled one — and for every member when
``Settings.require_staff_totp`` is on; a member who has not enrolled then gets a
principal that may only enroll (``enroll_totp`` / ``confirm_totp``). Each
enrollment comes with 10 single-use recovery codes, stored only as password
hashes. Wrong passwords, TOTP codes and recovery codes all count towards the
lock of ``domain.lockout``; every login attempt is audited.

There are no shared or default accounts: ``bootstrap_admin`` works only while no
staff member exists, and every other account is created by an admin for one
named person. Admins never set or see a staff member's new password: they start
a reset (``start_reset``), which mails the member a one-time link when the member
has an e-mail address, or else returns the one-time token for the admin to hand
over out of band; only the member chooses the password (``complete_reset``).
A member who lost the authenticator and the recovery codes asks another admin to
clear the factor (``clear_totp``), then enrolls again. Both a completed reset and
a cleared factor move the member's ``session_version`` on, which ends the other
sessions of a front end that checks ``session_valid``.
"""

from __future__ import annotations

from typing import ClassVar

from contactbook.usecases._support.context import Context
from contactbook.usecases._support.second_factor import RECOVERY_CODES, TotpEnrollment
from contactbook.usecases.staff.administration import StaffAdministration
from contactbook.usecases.staff.members import StaffResetTicket, StaffView
from contactbook.usecases.staff.reset import StaffPasswordReset
from contactbook.usecases.staff.second_factor import StaffSecondFactor
from contactbook.usecases.staff.sign_in import StaffSignIn

__all__ = ["RECOVERY_CODES", "Staff", "StaffResetTicket", "StaffView", "TotpEnrollment"]


class Staff(StaffAdministration, StaffSignIn, StaffSecondFactor, StaffPasswordReset):
    """``book.staff``: one group, written in four parts (administration, sign-in, the
    second factor, password resets)."""

    group: ClassVar[str] = "staff"

    def __init__(self, ctx: Context) -> None:
        self._ctx = ctx
