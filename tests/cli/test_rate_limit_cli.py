"""``punchlog tenant set --rate-limit/--rate-burst``: a tenant's own rate per key."""

from __future__ import annotations

from tests.cli.conftest import Run, failed, ok_json
from tests.support.world import World


def test_a_tenant_gets_its_own_rate_and_goes_back_to_the_default(run: Run, world: World) -> None:
    updated = ok_json(
        run("tenant", "set", world.slug, "--rate-limit", "20", "--rate-burst", "100", "--json")
    )
    assert (updated["rateLimitPerSecond"], updated["rateLimitBurst"]) == (20.0, 100)
    off = ok_json(run("tenant", "set", world.slug, "--rate-limit", "0", "--json"))
    assert (off["rateLimitPerSecond"], off["rateLimitBurst"]) == (0.0, 100)
    back = ok_json(run("tenant", "set", world.slug, "--rate-limit", "default", "--json"))
    assert (back["rateLimitPerSecond"], back["rateLimitBurst"]) == (None, None)


def test_a_bad_rate_is_one_clear_line_and_changes_nothing(run: Run, world: World) -> None:
    failed(
        run("tenant", "set", world.slug, "--rate-limit", "lots", "--timezone", "UTC"),
        "rate limit must be a number or 'default'",
    )
    failed(run("tenant", "set", world.slug, "--rate-burst", "0"), "rate burst must be between")
    tenants = ok_json(run("tenant", "list", "--json"))["tenants"]
    shown = next(t for t in tenants if t["slug"] == world.slug)
    assert shown["timezone"] != "UTC"
    assert shown["rateLimitPerSecond"] is None
