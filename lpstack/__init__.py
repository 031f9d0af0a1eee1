"""The LPStack: what a provider cluster runs (tenant-isolation defaults, observability, mesh, ingress
connector, optional VMs and GPUs, the provider agent), with its versions pinned in versions.yaml."""

from lpstack.config import LPStackConfig
from lpstack.errors import LPStackConfigError, LPStackError
from lpstack.render import admission_configuration, crds, load_config, render, render_groups

__all__ = [
    "LPStackConfig",
    "LPStackConfigError",
    "LPStackError",
    "admission_configuration",
    "crds",
    "load_config",
    "render",
    "render_groups",
]
