"""The estimate: what resources cost at one provider for a duration, exact to the wei. One shape for
`linq estimate --json` and `GET /api/v1/estimate`."""

from __future__ import annotations

from typing import Any

from linq.market.models import Candidate, Requirements
from linq.protocol.money import deposit_for, runway_seconds
from linq.units import format_lnq, format_rate


def estimate_json(best: Candidate, req: Requirements, min_prepaid_seconds: int) -> dict[str, Any]:
    """Rate, deposit for the duration and its runway, and the escrow's minimum deposit at `best`'s price;
    wei as decimal strings."""
    rate, deposit = best.rate_per_hour, best.total_cost
    return {
        "provider": best.provider,
        "gpu_class": best.gpu_class_id,
        "resources": best.resources(req).to_json(),
        "duration_seconds": req.duration_seconds,
        "rate_per_hour_wei": str(rate),
        "deposit_wei": str(deposit),
        "runway_seconds": runway_seconds(rate, deposit),
        "min_prepaid_seconds": min_prepaid_seconds,
        "min_deposit_wei": str(deposit_for(rate, min_prepaid_seconds)),
        "rate_per_hour": format_rate(rate),
        "deposit": format_lnq(deposit),
    }
