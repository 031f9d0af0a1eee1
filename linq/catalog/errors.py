"""Errors a user can cause in the catalog: each names the field, the bad value and the fix."""

from __future__ import annotations

from collections.abc import Iterable
from difflib import get_close_matches

from linq.errors import FieldError


class CatalogError(FieldError):
    """Base class: `field`, `value` and `fix` are kept so callers (CLI, Pulumi) can show them apart."""

    def sentence(self) -> str:
        return f"{self.field}={self.value!r}: {self.problem}. Fix: {self.fix}"


class InvalidTemplate(CatalogError):
    """A template file fails the schema."""


class UnknownTemplate(CatalogError):
    """No template with that id."""


class UnknownPlan(CatalogError):
    """No plan with that name."""


class PlanTooSmall(CatalogError):
    """The plan (or explicit resources) is below the template's minimum plan."""


class GpuPlanRequired(CatalogError):
    """A GPU template on a plan without GPUs (or fewer than it needs)."""


class MissingSecret(CatalogError):
    """A required user secret (or a generated secret the caller must pass) is absent."""


class InvalidSecret(CatalogError):
    """A secret value fails its pattern, or a secret name is not declared by the template."""


class InvalidEnvValue(CatalogError):
    """An environment value fails its type or pattern."""


class UnknownEnvVar(CatalogError):
    """An environment variable the template does not declare."""


class BadImageReference(CatalogError):
    """An image reference that is malformed or not pinned to a release tag."""


class InvalidSpec(CatalogError):
    """A deployment spec that is inconsistent (e.g. both a template and an image)."""


class InvalidPatch(CatalogError):
    """A patch that is malformed, targets nothing, or touches the isolation bundle."""


def closest(word: str, candidates: Iterable[str], n: int = 3) -> list[str]:
    """Up to n candidates that look like `word` (for "did you mean" hints)."""
    pool = sorted(set(candidates))
    found = get_close_matches(word, pool, n=n, cutoff=0.5)
    # Substring hits ("postgres" for "postgresql") are as helpful as edit-distance ones.
    found += [c for c in pool if (word in c or c in word) and c not in found and word]
    return found[:n]


def did_you_mean(word: str, candidates: Iterable[str]) -> str:
    hits = closest(word, candidates)
    return f"did you mean {', '.join(hits)}?" if hits else "none is close"
