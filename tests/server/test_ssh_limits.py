"""ssh-serve's session limits: per member, and in all."""

from __future__ import annotations

from server.ssh.server import Limits


def test_a_member_past_their_limit_is_told_and_others_still_get_in() -> None:
    limits = Limits(per_user=2, total=3)
    assert limits.take(1) is None
    assert limits.take(1) is None
    assert "2 SSH sessions open already" in str(limits.take(1))
    assert limits.take(2) is None
    assert "as many SSH sessions open as it allows" in str(limits.take(3))
    limits.give_back(1)
    assert limits.take(3) is None  # a session that ended made room
