"""Gate policies: a declarative, versioned pass bar, parsed and validated from YAML.

The format is documented in ``docs/eval-gate.md``. Parsing collects every problem before it
raises, and each message starts with the key path (``primary[0].margin: ...``), so a bad policy
is fixed in one go. A policy's ``content_hash()`` is the sha256 of its canonical JSON (defaults
filled in), so the bar a run was judged against is pinned by value.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

DEFAULT_CONFIDENCE = 0.95
DEFAULT_BOOTSTRAP_RESAMPLES = 10_000
DEFAULT_PASS_THRESHOLD = 0.5
DEFAULT_SLICE_ALPHA = 0.05
# Failure indicators (1 = bad) when a policy does not say otherwise.
DEFAULT_LOWER_IS_BETTER = ("answer_leak", "safety_violation")


class PolicyError(ValueError):
    """A policy that cannot be used; ``errors`` lists every problem, each led by its key path."""

    def __init__(self, errors: list[str], source: str | None = None) -> None:
        self.errors = list(errors)
        self.source = source
        where = f"invalid gate policy {source}" if source else "invalid gate policy"
        super().__init__(f"{where}:\n" + "\n".join(f"  - {e}" for e in self.errors))


@dataclass(frozen=True)
class PrimaryRule:
    metric: str
    margin: float
    rule: str = "non_inferiority"


@dataclass(frozen=True)
class SliceSpec:
    by: tuple[str, ...]
    margin: float
    min_cases: int
    multiplicity: str = "holm"
    alpha: float = DEFAULT_SLICE_ALPHA


@dataclass(frozen=True)
class RateUpperRule:
    """The candidate's failure rate: its one-sided upper confidence bound must be <= value."""

    metric: str
    value: float
    confidence: float = DEFAULT_CONFIDENCE
    rule: str = "rate_upper_ci_at_most"


@dataclass(frozen=True)
class NoNewFailuresRule:
    """No case the baseline passed on every repeat may fail on any candidate repeat."""

    metric: str
    threshold: float = DEFAULT_PASS_THRESHOLD
    rule: str = "no_new_failures"


@dataclass(frozen=True)
class PassKRule:
    """Every case carrying all ``tags`` must pass on each of at least ``k`` candidate repeats.

    ``metric`` None means the policy's first primary metric.
    """

    tags: tuple[str, ...]
    k: int
    metric: str | None = None
    threshold: float = DEFAULT_PASS_THRESHOLD
    rule: str = "pass_k"


HardRule = RateUpperRule | NoNewFailuresRule | PassKRule


@dataclass(frozen=True)
class Efficiency:
    cost_per_turn_ratio_max: float | None = None
    p95_latency_ratio_max: float | None = None


@dataclass(frozen=True)
class Policy:
    name: str
    suite: str
    baseline: str
    repeats: int
    max_error_rate: float
    primary: tuple[PrimaryRule, ...]
    slices: SliceSpec | None = None
    hard_rules: tuple[HardRule, ...] = ()
    efficiency: Efficiency | None = None
    lower_is_better: tuple[str, ...] = DEFAULT_LOWER_IS_BETTER
    confidence: float = DEFAULT_CONFIDENCE
    bootstrap_resamples: int = DEFAULT_BOOTSTRAP_RESAMPLES
    source: str | None = field(default=None, compare=False)

    def is_lower_better(self, metric: str) -> bool:
        return metric in self.lower_is_better

    def to_dict(self) -> dict[str, Any]:
        """The canonical form, with every default filled in (the YAML schema's key names)."""
        return {
            "policy": self.name,
            "suite": self.suite,
            "baseline": self.baseline,
            "repeats": self.repeats,
            "max_error_rate": self.max_error_rate,
            "confidence": self.confidence,
            "bootstrap_resamples": self.bootstrap_resamples,
            "lower_is_better": sorted(self.lower_is_better),
            "primary": [
                {"metric": p.metric, "rule": p.rule, "margin": p.margin}
                for p in self.primary
            ],
            "slices": None
            if self.slices is None
            else {
                "by": list(self.slices.by),
                "margin": self.slices.margin,
                "multiplicity": self.slices.multiplicity,
                "min_cases": self.slices.min_cases,
                "alpha": self.slices.alpha,
            },
            "hard_rules": [_rule_to_dict(r) for r in self.hard_rules],
            "efficiency": None
            if self.efficiency is None
            else {
                "cost_per_turn_ratio_max": self.efficiency.cost_per_turn_ratio_max,
                "p95_latency_ratio_max": self.efficiency.p95_latency_ratio_max,
            },
        }

    def content_hash(self) -> str:
        """sha256 (hex) of the canonical JSON of :meth:`to_dict`."""
        canonical = json.dumps(
            self.to_dict(), sort_keys=True, separators=(",", ":"), ensure_ascii=False
        )
        return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def _rule_to_dict(rule: HardRule) -> dict[str, Any]:
    if isinstance(rule, RateUpperRule):
        return {
            "rule": rule.rule,
            "metric": rule.metric,
            "value": rule.value,
            "confidence": rule.confidence,
        }
    if isinstance(rule, NoNewFailuresRule):
        return {"rule": rule.rule, "metric": rule.metric, "threshold": rule.threshold}
    return {
        "rule": rule.rule,
        "tags": list(rule.tags),
        "k": rule.k,
        "metric": rule.metric,
        "threshold": rule.threshold,
    }


def load_policy(path: str | Path) -> Policy:
    """Read and validate a YAML policy file; raises PolicyError naming the file and key paths."""
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise PolicyError([f"<file>: not valid YAML: {exc}"], source=str(path)) from exc
    return parse_policy(data, source=str(path))


def parse_policy(data: Any, *, source: str | None = None) -> Policy:
    """Validate a parsed policy document (a mapping) and build a :class:`Policy`."""
    v = _Validator()
    if not isinstance(data, Mapping):
        raise PolicyError([f"<root>: must be a mapping, got {_kind(data)}"], source)
    v.no_unknown_keys(data, "", _TOP_KEYS)
    name = v.string(data, "policy", "policy")
    suite = v.string(data, "suite", "suite")
    baseline = v.string(data, "baseline", "baseline")
    repeats = v.integer(data, "repeats", "repeats", minimum=1)
    max_error_rate = v.number(
        data, "max_error_rate", "max_error_rate", low=0, high=1, high_open=True
    )
    confidence = v.number(
        data,
        "confidence",
        "confidence",
        low=0.5,
        high=1,
        low_open=True,
        high_open=True,
        default=DEFAULT_CONFIDENCE,
    )
    resamples = v.integer(
        data,
        "bootstrap_resamples",
        "bootstrap_resamples",
        minimum=1000,
        default=DEFAULT_BOOTSTRAP_RESAMPLES,
    )
    lower_is_better = v.string_list(
        data,
        "lower_is_better",
        "lower_is_better",
        default=DEFAULT_LOWER_IS_BETTER,
        allow_empty=True,
    )
    primary = _parse_primary(v, data)
    slices = _parse_slices(v, data)
    hard_rules = _parse_hard_rules(v, data, repeats, lower_is_better or ())
    efficiency = _parse_efficiency(v, data)
    if v.errors:
        raise PolicyError(v.errors, source)
    return Policy(
        name=name,
        suite=suite,
        baseline=baseline,
        repeats=repeats,
        max_error_rate=max_error_rate,
        primary=primary,
        slices=slices,
        hard_rules=hard_rules,
        efficiency=efficiency,
        lower_is_better=tuple(lower_is_better),
        confidence=confidence,
        bootstrap_resamples=resamples,
        source=source,
    )


_TOP_KEYS = (
    "policy",
    "suite",
    "baseline",
    "repeats",
    "max_error_rate",
    "confidence",
    "bootstrap_resamples",
    "lower_is_better",
    "primary",
    "slices",
    "hard_rules",
    "efficiency",
)
_PRIMARY_KEYS = ("metric", "rule", "margin")
_SLICE_KEYS = ("by", "margin", "multiplicity", "min_cases", "alpha")
_EFFICIENCY_KEYS = ("cost_per_turn_ratio_max", "p95_latency_ratio_max")
_HARD_RULE_KEYS = {
    "rate_upper_ci_at_most": ("rule", "metric", "value", "confidence"),
    "no_new_failures": ("rule", "metric", "threshold"),
    "pass_k": ("rule", "tags", "k", "metric", "threshold"),
}


def _parse_primary(v: _Validator, data: Mapping[str, Any]) -> tuple[PrimaryRule, ...]:
    items = v.mapping_list(data, "primary", "primary")
    rules: list[PrimaryRule] = []
    seen: set[str] = set()
    for i, item in items:
        path = f"primary[{i}]"
        v.no_unknown_keys(item, path, _PRIMARY_KEYS)
        metric = v.string(item, "metric", f"{path}.metric")
        rule = v.string(item, "rule", f"{path}.rule")
        if rule and rule != "non_inferiority":
            v.error(f"{path}.rule", f"must be 'non_inferiority', got {rule!r}")
        margin = v.number(
            item, "margin", f"{path}.margin", low=0, high=1, high_open=True
        )
        if metric in seen:
            v.error(f"{path}.metric", f"{metric!r} is listed twice")
        seen.add(metric)
        rules.append(PrimaryRule(metric=metric, margin=margin))
    return tuple(rules)


def _parse_slices(v: _Validator, data: Mapping[str, Any]) -> SliceSpec | None:
    if data.get("slices") is None:
        return None
    item = data["slices"]
    if not isinstance(item, Mapping):
        v.error("slices", f"must be a mapping, got {_kind(item)}")
        return None
    v.no_unknown_keys(item, "slices", _SLICE_KEYS)
    by = v.string_list(item, "by", "slices.by")
    margin = v.number(item, "margin", "slices.margin", low=0, high=1, high_open=True)
    multiplicity = v.string(item, "multiplicity", "slices.multiplicity", default="holm")
    if multiplicity and multiplicity != "holm":
        v.error("slices.multiplicity", f"must be 'holm', got {multiplicity!r}")
    min_cases = v.integer(item, "min_cases", "slices.min_cases", minimum=2)
    alpha = v.number(
        item,
        "alpha",
        "slices.alpha",
        low=0,
        high=0.5,
        low_open=True,
        default=DEFAULT_SLICE_ALPHA,
    )
    return SliceSpec(
        by=tuple(by or ()),
        margin=margin,
        min_cases=min_cases,
        multiplicity="holm",
        alpha=alpha,
    )


def _parse_hard_rules(
    v: _Validator,
    data: Mapping[str, Any],
    repeats: int,
    lower_is_better: tuple[str, ...] | list[str],
) -> tuple[HardRule, ...]:
    if data.get("hard_rules") is None:
        return ()
    items = v.mapping_list(data, "hard_rules", "hard_rules", allow_empty=True)
    rules: list[HardRule] = []
    for i, item in items:
        path = f"hard_rules[{i}]"
        kind = v.string(item, "rule", f"{path}.rule")
        if not kind:
            continue
        if kind not in _HARD_RULE_KEYS:
            v.error(
                f"{path}.rule",
                f"unknown rule {kind!r} (expected one of {', '.join(_HARD_RULE_KEYS)})",
            )
            continue
        v.no_unknown_keys(item, path, _HARD_RULE_KEYS[kind])
        if kind == "rate_upper_ci_at_most":
            metric = v.string(item, "metric", f"{path}.metric")
            if metric and metric not in lower_is_better:
                v.error(
                    f"{path}.metric",
                    f"{metric!r} is counted as a failure rate, so it must be listed in lower_is_better",
                )
            rules.append(
                RateUpperRule(
                    metric=metric,
                    value=v.number(item, "value", f"{path}.value", low=0, high=1),
                    confidence=v.number(
                        item,
                        "confidence",
                        f"{path}.confidence",
                        low=0.5,
                        high=1,
                        low_open=True,
                        high_open=True,
                        default=DEFAULT_CONFIDENCE,
                    ),
                )
            )
        elif kind == "no_new_failures":
            rules.append(
                NoNewFailuresRule(
                    metric=v.string(item, "metric", f"{path}.metric"),
                    threshold=_threshold(v, item, path),
                )
            )
        else:
            k = v.integer(item, "k", f"{path}.k", minimum=1)
            if repeats and k and k > repeats:
                v.error(
                    f"{path}.k", f"is {k} but the policy runs only {repeats} repeats"
                )
            rules.append(
                PassKRule(
                    tags=tuple(v.string_list(item, "tags", f"{path}.tags") or ()),
                    k=k,
                    metric=v.string(item, "metric", f"{path}.metric", default=None),
                    threshold=_threshold(v, item, path),
                )
            )
    return tuple(rules)


def _threshold(v: _Validator, item: Mapping[str, Any], path: str) -> float:
    return float(
        v.number(
            item,
            "threshold",
            f"{path}.threshold",
            low=0,
            high=1,
            low_open=True,
            default=DEFAULT_PASS_THRESHOLD,
        )
    )


def _parse_efficiency(v: _Validator, data: Mapping[str, Any]) -> Efficiency | None:
    if data.get("efficiency") is None:
        return None
    item = data["efficiency"]
    if not isinstance(item, Mapping):
        v.error("efficiency", f"must be a mapping, got {_kind(item)}")
        return None
    v.no_unknown_keys(item, "efficiency", _EFFICIENCY_KEYS)
    values = {
        key: v.number(
            item, key, f"efficiency.{key}", low=0, low_open=True, default=None
        )
        for key in _EFFICIENCY_KEYS
    }
    return Efficiency(**values)


def _kind(value: Any) -> str:
    if value is None:
        return "nothing"
    return {dict: "a mapping", list: "a list", str: "a string", bool: "a boolean"}.get(
        type(value), type(value).__name__
    )


_REQUIRED = object()


class _Validator:
    """Collects errors; each getter returns a harmless placeholder after recording a problem."""

    def __init__(self) -> None:
        self.errors: list[str] = []

    def error(self, path: str, message: str) -> None:
        self.errors.append(f"{path}: {message}")

    def no_unknown_keys(
        self, item: Mapping[str, Any], path: str, allowed: tuple[str, ...]
    ) -> None:
        for key in item:
            if key not in allowed:
                where = f"{path}.{key}" if path else str(key)
                self.error(where, f"unknown key (expected one of {', '.join(allowed)})")

    def _get(self, item: Mapping[str, Any], key: str, path: str, default: Any) -> Any:
        if key in item and item[key] is not None:
            return item[key]
        if default is _REQUIRED:
            self.error(path, "is required")
        return _REQUIRED if default is _REQUIRED else default

    def string(
        self, item: Mapping[str, Any], key: str, path: str, default: Any = _REQUIRED
    ) -> Any:
        value = self._get(item, key, path, default)
        if value is _REQUIRED:
            return ""
        if value is not default and (not isinstance(value, str) or not value.strip()):
            self.error(path, f"must be a non-empty string, got {value!r}")
            return ""
        return value

    def integer(
        self,
        item: Mapping[str, Any],
        key: str,
        path: str,
        *,
        minimum: int,
        default: Any = _REQUIRED,
    ) -> Any:
        value = self._get(item, key, path, default)
        if value is _REQUIRED:
            return 0
        if value is default:
            return value
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            self.error(path, f"must be an integer >= {minimum}, got {value!r}")
            return 0
        return value

    def number(
        self,
        item: Mapping[str, Any],
        key: str,
        path: str,
        *,
        low: float | None = None,
        high: float | None = None,
        low_open: bool = False,
        high_open: bool = False,
        default: Any = _REQUIRED,
    ) -> Any:
        value = self._get(item, key, path, default)
        if value is _REQUIRED:
            return 0.0
        if value is default:
            return value
        ok = (
            isinstance(value, int | float)
            and not isinstance(value, bool)
            and math.isfinite(value)
        )
        if ok and low is not None:
            ok = value > low if low_open else value >= low
        if ok and high is not None:
            ok = value < high if high_open else value <= high
        if not ok:
            lo = "" if low is None else f"{'(' if low_open else '['}{low}"
            hi = "inf)" if high is None else f"{high}{')' if high_open else ']'}"
            self.error(
                path, f"must be a number in {lo or '(-inf'}, {hi}, got {value!r}"
            )
            return 0.0
        return float(value)

    def string_list(
        self,
        item: Mapping[str, Any],
        key: str,
        path: str,
        *,
        default: Any = _REQUIRED,
        allow_empty: bool = False,
    ) -> Any:
        value = self._get(item, key, path, default)
        if value is _REQUIRED:
            return []
        if value is default:
            return list(value) if value is not None else None
        if not isinstance(value, list) or not all(
            isinstance(x, str) and x.strip() for x in value
        ):
            self.error(path, f"must be a list of non-empty strings, got {value!r}")
            return []
        if not value and not allow_empty:
            self.error(path, "must not be empty")
        if len(set(value)) != len(value):
            self.error(path, f"has duplicates: {value!r}")
        return value

    def mapping_list(
        self, item: Mapping[str, Any], key: str, path: str, *, allow_empty: bool = False
    ) -> list[tuple[int, Mapping[str, Any]]]:
        """The list's mappings with their indices (so paths stay right when one entry is bad)."""
        value = self._get(item, key, path, _REQUIRED)
        if value is _REQUIRED:
            return []
        if not isinstance(value, list):
            self.error(path, f"must be a list, got {_kind(value)}")
            return []
        if not value and not allow_empty:
            self.error(path, "must not be empty")
        good: list[tuple[int, Mapping[str, Any]]] = []
        for i, entry in enumerate(value):
            if isinstance(entry, Mapping):
                good.append((i, entry))
            else:
                self.error(f"{path}[{i}]", f"must be a mapping, got {_kind(entry)}")
        return good
