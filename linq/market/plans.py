"""Plan names to requirement sizes, read through linq.catalog (templates/plans.yaml is the one source).

A deployment's disk use on a provider is its persistent volume plus its ephemeral scratch space, so a
plan reserves storageGiB + ephemeralStorageGiB of the registry's storage capacity.
"""

from __future__ import annotations

from dataclasses import dataclass


class PlanError(ValueError):
    """--plan names no plan, or the plans file cannot be read; the message says which and the fix."""


@dataclass(frozen=True)
class PlanSize:
    name: str
    cpu_millis: int
    memory_mib: int
    storage_gib: int
    gpu_count: int


def plan_size(name: str) -> PlanSize:
    from linq.catalog.paths import plans_file
    from linq.catalog.plans import load_plans

    path = plans_file()
    if not path.exists():
        raise PlanError(f"--plan {name!r} needs {path}, which does not exist; give --cpu/--memory/--storage instead")
    try:
        plans = load_plans(path)
        plan = plans.get(name, field="--plan")
    except Exception as err:  # the catalog's errors already name field, value and fix
        raise PlanError(str(err)) from None
    return PlanSize(
        name=plan.name,
        cpu_millis=plan.cpu_millis,
        memory_mib=plan.memory_mib,
        storage_gib=plan.reserved_storage_gib,
        gpu_count=plan.gpu_count,
    )


def plan_names() -> list[str]:
    from linq.catalog.plans import load_plans

    try:
        return list(load_plans().order)
    except Exception:
        return []
