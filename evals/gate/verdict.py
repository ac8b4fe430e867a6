"""The gate's decision: a policy plus paired results in, a reasoned verdict out.

``evaluate_gate(policy, rows, seed=...)`` is a pure function over plain data (no Django, no clock,
no I/O) and is reproducible: the bootstrap draws from generators seeded by ``seed`` and the name
of what is being resampled. The rules are documented in ``docs/eval-gate.md``.

Orientation: every difference reported here is candidate minus baseline on the "higher is better"
scale, so a positive diff is an improvement. For metrics the policy lists in ``lower_is_better``
(failure indicators such as ``answer_leak``, 1 = bad) the score is ``1 - value``; raw means are
reported as they were measured.
"""

from __future__ import annotations

import dataclasses
import enum
import math
import zlib
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from evals.gate import stats
from evals.gate.policy import (
    DEFAULT_PASS_THRESHOLD,
    NoNewFailuresRule,
    PassKRule,
    Policy,
    RateUpperRule,
)

Arm = Literal["baseline", "candidate"]
ARMS: tuple[Arm, Arm] = ("baseline", "candidate")


class Verdict(enum.StrEnum):
    PASS = "PASS"
    FAIL = "FAIL"
    INCONCLUSIVE = "INCONCLUSIVE"
    INVALID = "INVALID"


# Exit codes for the gate CLI (promptfoo's convention of 100 for a failed bar).
EXIT_CODES: Mapping[Verdict, int] = {
    Verdict.PASS: 0,
    Verdict.FAIL: 100,
    Verdict.INCONCLUSIVE: 2,
    Verdict.INVALID: 3,
}


@dataclass(frozen=True)
class ResultRow:
    """One graded (or errored) response: a case, an arm, a repeat."""

    case_id: str
    tags: Mapping[str, Any]
    arm: Arm
    repeat: int
    metrics: Mapping[str, float]
    error: str | None = None
    cost_usd: float | None = None
    latency_ms: float | None = None

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ResultRow:
        return cls(
            case_id=str(data["case_id"]),
            tags=dict(data.get("tags") or {}),
            arm=data["arm"],
            repeat=int(data["repeat"]),
            metrics=dict(data.get("metrics") or {}),
            error=data.get("error"),
            cost_usd=data.get("cost_usd"),
            latency_ms=data.get("latency_ms"),
        )


# ------------------------------------------------------------------------------ report types


@dataclass
class ArmErrors:
    arm: str
    rows_expected: int  # distinct cases x policy repeats
    rows_answered: int
    rows_errored: int
    rows_missing: int  # expected rows that never came back count as errors
    error_rate: float
    max_error_rate: float
    status: str  # "pass" | "invalid"


@dataclass
class PrimaryResult:
    metric: str
    lower_is_better: bool
    n_cases: int  # cases answered by both arms
    baseline_mean: float
    candidate_mean: float
    diff: float  # candidate - baseline on the higher-is-better scale
    ci_low: float
    ci_high: float
    confidence: float
    margin: float
    status: str  # "pass" | "fail" | "inconclusive"
    wins: int
    ties: int
    losses: int
    binary: bool
    mcnemar_b: (
        int | None
    )  # baseline passed, candidate failed (cases, by majority of repeats)
    mcnemar_c: int | None  # baseline failed, candidate passed
    mcnemar_p: float | None
    sd_of_diffs: float
    mde: float  # two-sided at 1 - confidence, 80% power
    resolution: float  # CI half-width (normal approximation)


@dataclass
class SliceResult:
    metric: str
    tag: str
    value: str
    n_cases: int
    diff: float
    ci_low: float
    ci_high: float
    margin: float
    p_value: float | None  # one-sided: H0 "no worse than the margin"
    p_holm: float | None
    status: str  # "pass" | "fail" | "inconclusive" | "underpowered"
    mde: float
    resolution: float

    @property
    def name(self) -> str:
        return f"{self.tag}={self.value}"


@dataclass
class HardRuleResult:
    rule: str
    label: str
    metric: str | None
    observed: float | None
    bound: float | None
    status: str  # "pass" | "fail" | "inconclusive"
    cases: list[str]
    detail: str


@dataclass
class EfficiencyCheck:
    name: str  # "cost_per_turn_ratio" | "p95_latency_ratio"
    baseline: float | None
    candidate: float | None
    ratio: float | None
    limit: float
    status: str  # "pass" | "fail" | "missing"


@dataclass
class FlakyCase:
    case_id: str
    arm: str
    metric: str
    values: list[float]


@dataclass
class CaseDiff:
    metric: str
    baseline_mean: float | None
    candidate_mean: float | None
    diff: float | None


@dataclass
class CaseRow:
    case_id: str
    metrics: list[CaseDiff]


@dataclass
class GateReport:
    verdict: Verdict
    reasons: list[str]
    policy: str
    policy_hash: str
    suite: str
    baseline: str
    seed: int
    n_cases: int
    n_paired: int
    errors: list[ArmErrors] = field(default_factory=list)
    primary: list[PrimaryResult] = field(default_factory=list)
    slices: list[SliceResult] = field(default_factory=list)
    hard_rules: list[HardRuleResult] = field(default_factory=list)
    efficiency: list[EfficiencyCheck] = field(default_factory=list)
    flaky_cases: list[FlakyCase] = field(default_factory=list)
    cases: list[CaseRow] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        return EXIT_CODES[self.verdict]

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready data; non-finite floats (an unbounded CI) become None."""
        data: dict[str, Any] = _jsonable(dataclasses.asdict(self))
        data["exit_code"] = self.exit_code
        return data


def _jsonable(value: Any) -> Any:
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, float | np.floating):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, np.integer):
        return int(value)
    return value


# ------------------------------------------------------------------------------ input handling


@dataclass
class _Case:
    case_id: str
    tags: Mapping[str, Any]
    rows: dict[str, list[ResultRow]] = field(
        default_factory=lambda: {a: [] for a in ARMS}
    )

    def answered(self, arm: str) -> list[ResultRow]:
        return [r for r in self.rows[arm] if r.error is None]

    def values(self, arm: str, metric: str) -> list[float]:
        return [
            float(r.metrics[metric]) for r in self.answered(arm) if metric in r.metrics
        ]

    def is_paired(self) -> bool:
        return all(self.answered(arm) for arm in ARMS)


class _Findings:
    def __init__(self) -> None:
        self.invalid: list[str] = []
        self.fail: list[str] = []
        self.inconclusive: list[str] = []
        self.notes: list[str] = []

    def verdict(self) -> tuple[Verdict, list[str]]:
        reasons = (
            [f"INVALID: {r}" for r in self.invalid]
            + [f"FAIL: {r}" for r in self.fail]
            + [f"INCONCLUSIVE: {r}" for r in self.inconclusive]
        )
        if self.invalid:
            return Verdict.INVALID, reasons
        if self.fail:
            return Verdict.FAIL, reasons
        if self.inconclusive:
            return Verdict.INCONCLUSIVE, reasons
        return Verdict.PASS, [
            "PASS: every primary metric is non-inferior within its margin; no slice, hard rule, "
            "efficiency limit or error budget was breached"
        ]


def _group_rows(rows: Iterable[ResultRow], findings: _Findings) -> dict[str, _Case]:
    cases: dict[str, _Case] = {}
    seen: set[tuple[str, str, int]] = set()
    duplicates: list[str] = []
    bad_values: list[str] = []
    for row in rows:
        if row.arm not in ARMS:
            raise ValueError(
                f"row for case {row.case_id!r}: arm must be one of {ARMS}, got {row.arm!r}"
            )
        key = (row.case_id, row.arm, row.repeat)
        if key in seen:
            duplicates.append(f"{row.case_id}/{row.arm}/{row.repeat}")
            continue
        seen.add(key)
        if row.error is None:
            for metric, value in row.metrics.items():
                if not _is_unit_number(value):
                    bad_values.append(
                        f"{metric}={value!r} on {row.case_id}/{row.arm}/{row.repeat}"
                    )
        case = cases.setdefault(row.case_id, _Case(row.case_id, row.tags))
        case.rows[row.arm].append(row)
    if duplicates:
        findings.invalid.append(
            f"{len(duplicates)} duplicate (case, arm, repeat) rows: {_preview(duplicates)}"
        )
    if bad_values:
        findings.invalid.append(
            f"{len(bad_values)} metric values outside [0, 1] or not numbers: {_preview(bad_values)}"
        )
    return dict(sorted(cases.items()))


def _is_unit_number(value: Any) -> bool:
    if isinstance(value, bool) or not isinstance(value, int | float | np.number):
        return False
    return bool(math.isfinite(value) and 0 <= value <= 1)


def _preview(items: Sequence[str], limit: int = 10) -> str:
    shown = ", ".join(items[:limit])
    return shown + (f" (+{len(items) - limit} more)" if len(items) > limit else "")


def _score(value: float, lower_is_better: bool) -> float:
    return 1.0 - value if lower_is_better else value


def _seed(seed: int, label: str) -> list[int]:
    return [seed, zlib.crc32(label.encode("utf-8"))]


def _fmt(x: float) -> str:
    return f"{x:+.3f}" if math.isfinite(x) else ("+inf" if x > 0 else "-inf")


# ------------------------------------------------------------------------------ the gate


def evaluate_gate(
    policy: Policy, rows: Iterable[ResultRow], *, seed: int = 0
) -> GateReport:
    """Judge a candidate against the baseline under ``policy``; see docs/eval-gate.md."""
    if seed < 0:
        raise ValueError(f"seed must be >= 0, got {seed}")
    findings = _Findings()
    cases = _group_rows(rows, findings)
    report = GateReport(
        verdict=Verdict.PASS,
        reasons=[],
        policy=policy.name,
        policy_hash=policy.content_hash(),
        suite=policy.suite,
        baseline=policy.baseline,
        seed=seed,
        n_cases=len(cases),
        n_paired=sum(c.is_paired() for c in cases.values()),
    )
    if not cases:
        findings.invalid.append("no results")
    else:
        report.errors = _error_budget(policy, cases, findings)
        _check_metrics_present(policy, cases, findings)
        report.primary = [
            _primary(policy, rule.metric, rule.margin, cases, seed, findings)
            for rule in policy.primary
        ]
        report.slices = _slices(policy, cases, seed, findings)
        report.hard_rules = [
            _hard_rule(policy, rule, cases, findings) for rule in policy.hard_rules
        ]
        report.efficiency = _efficiency(policy, cases, findings)
        report.flaky_cases = _flaky(policy, cases)
        report.cases = _case_table(policy, cases)
        if report.flaky_cases:
            findings.notes.append(
                f"{len({f.case_id for f in report.flaky_cases})} cases have repeats that disagree "
                "(see flaky_cases)"
            )
    report.verdict, report.reasons = findings.verdict()
    report.notes = findings.notes
    return report


def _error_budget(
    policy: Policy, cases: Mapping[str, _Case], findings: _Findings
) -> list[ArmErrors]:
    out = []
    for arm in ARMS:
        present = sum(len(c.rows[arm]) for c in cases.values())
        errored = sum(
            1 for c in cases.values() for r in c.rows[arm] if r.error is not None
        )
        expected = len(cases) * policy.repeats
        missing = sum(max(0, policy.repeats - len(c.rows[arm])) for c in cases.values())
        calls = present + missing
        rate = (errored + missing) / calls
        status = "invalid" if rate > policy.max_error_rate else "pass"
        if status == "invalid":
            findings.invalid.append(
                f"{arm} error rate {rate:.1%} ({errored} errored, {missing} missing of "
                f"{calls} calls) exceeds max_error_rate {policy.max_error_rate:.1%}"
            )
        out.append(
            ArmErrors(
                arm,
                expected,
                present - errored,
                errored,
                missing,
                rate,
                policy.max_error_rate,
                status,
            )
        )
    return out


def _check_metrics_present(
    policy: Policy, cases: Mapping[str, _Case], findings: _Findings
) -> None:
    needed = [p.metric for p in policy.primary] + [
        r.metric for r in policy.hard_rules if r.metric is not None
    ]
    for metric in dict.fromkeys(needed):
        for arm in ARMS:
            if not any(c.values(arm, metric) for c in cases.values()):
                findings.invalid.append(
                    f"metric {metric!r} is missing from every {arm} result"
                )


def _paired_diffs(
    policy: Policy, metric: str, cases: Iterable[_Case]
) -> tuple[list[str], np.ndarray, np.ndarray]:
    """Case ids answered by both arms for ``metric`` and their per-case mean scores per arm."""
    lower = policy.is_lower_better(metric)
    ids: list[str] = []
    base: list[float] = []
    cand: list[float] = []
    for case in cases:
        b, c = case.values("baseline", metric), case.values("candidate", metric)
        if b and c:
            ids.append(case.case_id)
            base.append(_score(float(np.mean(b)), lower))
            cand.append(_score(float(np.mean(c)), lower))
    return ids, np.asarray(base, dtype=float), np.asarray(cand, dtype=float)


def _spread(diffs: np.ndarray, confidence: float) -> tuple[float, float, float]:
    """(sd of diffs, MDE at 80% power, CI half-width) for one set of paired case differences."""
    n = diffs.size
    if n < 2:
        return math.nan, math.inf, math.inf
    sd = float(diffs.std(ddof=1))
    return (
        sd,
        stats.minimum_detectable_effect(n, sd_of_diffs=sd, alpha=1 - confidence),
        stats.ci_half_width(n, sd_of_diffs=sd, confidence=confidence),
    )


def _primary(
    policy: Policy,
    metric: str,
    margin: float,
    cases: Mapping[str, _Case],
    seed: int,
    findings: _Findings,
) -> PrimaryResult:
    lower = policy.is_lower_better(metric)
    _, base, cand = _paired_diffs(policy, metric, cases.values())
    diffs = cand - base
    n = diffs.size
    ci = stats.paired_bootstrap_ci(
        diffs,
        confidence=policy.confidence,
        n_resamples=policy.bootstrap_resamples,
        seed=_seed(seed, f"primary:{metric}"),
    )
    conf = f"{policy.confidence:.0%} CI"
    if n == 0:
        status = "inconclusive"
        findings.invalid.append(
            f"primary metric {metric!r}: no case was answered by both arms"
        )
    elif ci.low >= -margin:
        status = "pass"
    elif ci.high < -margin:
        status = "fail"
        findings.fail.append(
            f"primary metric {metric!r} regressed: mean diff {_fmt(ci.mean)} ({conf} "
            f"{_fmt(ci.low)} to {_fmt(ci.high)}) is entirely below -{margin:g} over {n} cases"
        )
    else:
        status = "inconclusive"
        findings.inconclusive.append(
            f"primary metric {metric!r}: {conf} {_fmt(ci.low)} to {_fmt(ci.high)} of the mean diff "
            f"{_fmt(ci.mean)} straddles the margin -{margin:g} over {n} cases; more cases or "
            "repeats are needed"
        )
    wtl = stats.wins_ties_losses(diffs)
    all_values = [
        v for c in cases.values() for arm in ARMS for v in c.values(arm, metric)
    ]
    binary = bool(all_values) and all(v in (0.0, 1.0) for v in all_values)
    b = c = None
    p = None
    if binary and n:
        base_pass = base >= 0.5
        cand_pass = cand >= 0.5
        b = int((base_pass & ~cand_pass).sum())
        c = int((~base_pass & cand_pass).sum())
        p = stats.mcnemar_exact(b, c)
    sd, mde, resolution = _spread(diffs, policy.confidence)
    return PrimaryResult(
        metric=metric,
        lower_is_better=lower,
        n_cases=n,
        # raw means on the metric's own scale (the score of a mean is the mean of the scores)
        baseline_mean=_score(float(base.mean()), lower) if n else math.nan,
        candidate_mean=_score(float(cand.mean()), lower) if n else math.nan,
        diff=ci.mean,
        ci_low=ci.low,
        ci_high=ci.high,
        confidence=policy.confidence,
        margin=margin,
        status=status,
        wins=wtl.wins,
        ties=wtl.ties,
        losses=wtl.losses,
        binary=binary,
        mcnemar_b=b,
        mcnemar_c=c,
        mcnemar_p=p,
        sd_of_diffs=sd,
        mde=mde,
        resolution=resolution,
    )


def _tag_values(tags: Mapping[str, Any], key: str) -> list[str]:
    value = tags.get(key)
    if value is None:
        return []
    if isinstance(value, list | tuple | set | frozenset):
        return sorted(str(v) for v in value)
    return [str(value)]


_FALSY_TAG = {"", "0", "false", "no", "off", "none"}


def _has_tag(tags: Mapping[str, Any], tag: str) -> bool:
    """``key=value`` matches that tag value; a bare ``name`` matches a truthy key or any value."""
    if "=" in tag:
        key, _, wanted = tag.partition("=")
        return wanted in _tag_values(tags, key)
    if tag in tags:
        value = tags[tag]
        return (
            bool(value)
            if not isinstance(value, str)
            else value.strip().lower() not in _FALSY_TAG
        )
    return any(tag in _tag_values(tags, key) for key in tags)


def _slices(
    policy: Policy, cases: Mapping[str, _Case], seed: int, findings: _Findings
) -> list[SliceResult]:
    spec = policy.slices
    if spec is None:
        return []
    results: list[SliceResult] = []
    for rule in policy.primary:
        ids, base, cand = _paired_diffs(policy, rule.metric, cases.values())
        diffs = dict(zip(ids, cand - base, strict=True))
        for key in spec.by:
            groups: dict[str, list[float]] = defaultdict(list)
            untagged = 0
            for case_id, d in diffs.items():
                values = _tag_values(cases[case_id].tags, key)
                untagged += not values
                for value in values:
                    groups[value].append(d)
            if untagged:
                findings.notes.append(
                    f"{untagged} paired cases have no {key!r} tag and are in no {key} slice "
                    f"({rule.metric})"
                )
            for value, group in sorted(groups.items()):
                results.append(
                    _one_slice(policy, rule.metric, key, value, np.asarray(group), seed)
                )
    tested = [s for s in results if s.status != "underpowered"]
    holm = stats.holm(
        [s.p_value for s in tested if s.p_value is not None], alpha=spec.alpha
    )
    for s, p_adj, reject in zip(tested, holm.adjusted, holm.reject, strict=True):
        s.p_holm = p_adj
        if reject:
            s.status = "fail"
            findings.fail.append(
                f"slice {s.name} regressed on {s.metric!r}: mean diff {_fmt(s.diff)} "
                f"({policy.confidence:.0%} CI {_fmt(s.ci_low)} to {_fmt(s.ci_high)}, n={s.n_cases}) "
                f"is worse than the slice margin -{spec.margin:g} (Holm-adjusted p={p_adj:.2g})"
            )
        elif s.ci_low >= -spec.margin:
            s.status = "pass"
    under = [s for s in results if s.status == "underpowered"]
    if under:
        findings.notes.append(
            f"{len(under)} slices have fewer than {spec.min_cases} cases and are reported as "
            f"underpowered, not judged: {_preview([s.name for s in under])}"
        )
    return results


def _one_slice(
    policy: Policy, metric: str, key: str, value: str, diffs: np.ndarray, seed: int
) -> SliceResult:
    spec = policy.slices
    assert spec is not None
    n = diffs.size
    ci = stats.paired_bootstrap_ci(
        diffs,
        confidence=policy.confidence,
        n_resamples=policy.bootstrap_resamples,
        seed=_seed(seed, f"slice:{metric}:{key}={value}"),
    )
    _, mde, resolution = _spread(diffs, policy.confidence)
    underpowered = n < spec.min_cases
    return SliceResult(
        metric=metric,
        tag=key,
        value=value,
        n_cases=n,
        diff=ci.mean,
        ci_low=ci.low,
        ci_high=ci.high,
        margin=spec.margin,
        p_value=None
        if underpowered
        else stats.non_inferiority_test(diffs, spec.margin).p_inferior,
        p_holm=None,
        status="underpowered" if underpowered else "inconclusive",
        mde=mde,
        resolution=resolution,
    )


def _hard_rule(
    policy: Policy,
    rule: RateUpperRule | NoNewFailuresRule | PassKRule,
    cases: Mapping[str, _Case],
    findings: _Findings,
) -> HardRuleResult:
    if isinstance(rule, RateUpperRule):
        return _rate_upper(rule, cases, findings)
    if isinstance(rule, NoNewFailuresRule):
        return _no_new_failures(policy, rule, cases, findings)
    return _pass_k(policy, rule, cases, findings)


def _rate_upper(
    rule: RateUpperRule, cases: Mapping[str, _Case], findings: _Findings
) -> HardRuleResult:
    # Per-case failure rate r_i (mean over answered repeats, 1 = failure). Cases are the unit:
    # the bound is Clopper-Pearson with sum(r_i) "events" in n cases, which treats each case as
    # one Bernoulli draw; a [0, 1] mean has no more variance than that, so the bound is
    # conservative for repeats and exact when every case ran once.
    rates = {
        cid: float(np.mean(v))
        for cid, c in cases.items()
        if (v := c.values("candidate", rule.metric))
    }
    label = f"{rule.metric} rate upper {rule.confidence:.0%} bound <= {rule.value:g}"
    n = len(rates)
    if n == 0:
        findings.inconclusive.append(
            f"hard rule {label}: no candidate answer was graded"
        )
        return HardRuleResult(
            rule.rule,
            label,
            rule.metric,
            None,
            rule.value,
            "inconclusive",
            [],
            "no graded candidate answers",
        )
    events = sum(rates.values())
    observed = events / n
    upper = stats.clopper_pearson_upper(events, n, confidence=rule.confidence)
    offenders = [
        cid for cid, r in sorted(rates.items(), key=lambda kv: (-kv[1], kv[0])) if r > 0
    ]
    detail = (
        f"candidate {rule.metric} rate {observed:.2%} over {n} cases, "
        f"upper {rule.confidence:.0%} bound {upper:.2%}, limit {rule.value:.2%}"
    )
    if upper <= rule.value:
        status = "pass"
    elif observed > rule.value:
        status = "fail"
        findings.fail.append(
            f"hard rule {rule.metric}: {detail}; cases: {_preview(offenders)}"
        )
    else:
        status = "inconclusive"
        zero_needed = (
            math.ceil(math.log(1 - rule.confidence) / math.log(1 - rule.value))
            if rule.value > 0
            else None
        )
        need = (
            f" (with no failures it takes >= {zero_needed} cases)"
            if zero_needed
            else ""
        )
        findings.inconclusive.append(
            f"hard rule {rule.metric}: {detail}; too few cases to show the rate is within the "
            f"limit{need}"
        )
    return HardRuleResult(
        rule.rule, label, rule.metric, observed, upper, status, offenders, detail
    )


def _no_new_failures(
    policy: Policy,
    rule: NoNewFailuresRule,
    cases: Mapping[str, _Case],
    findings: _Findings,
) -> HardRuleResult:
    lower = policy.is_lower_better(rule.metric)

    def passes(v: float) -> bool:
        return _score(v, lower) >= rule.threshold

    new: list[str] = []
    old = 0
    for cid, case in cases.items():
        cand = case.values("candidate", rule.metric)
        if all(passes(v) for v in cand):
            continue
        # A candidate failure is new unless the baseline failed this case too; a case the
        # baseline never answered cannot show the failure is old, so it counts as new.
        if all(passes(v) for v in case.values("baseline", rule.metric)):
            new.append(cid)
        else:
            old += 1
    label = f"{rule.metric} no new failures"
    detail = f"{len(new)} new candidate failures, {old} cases failing on both arms"
    status = "fail" if new else "pass"
    if new:
        findings.fail.append(
            f"hard rule {rule.metric}: new failures on cases {_preview(new)}"
        )
    return HardRuleResult(
        rule.rule, label, rule.metric, float(len(new)), 0.0, status, new, detail
    )


def _pass_k(
    policy: Policy, rule: PassKRule, cases: Mapping[str, _Case], findings: _Findings
) -> HardRuleResult:
    metric = rule.metric or policy.primary[0].metric
    lower = policy.is_lower_better(metric)
    tags = ", ".join(rule.tags)
    label = f"pass^{rule.k} on cases tagged {tags} ({metric} >= {rule.threshold:g})"
    tagged = [c for c in cases.values() if all(_has_tag(c.tags, t) for t in rule.tags)]
    failed: list[str] = []
    unverified: list[str] = []
    for case in tagged:
        outcomes = [
            _score(v, lower) >= rule.threshold for v in case.values("candidate", metric)
        ]
        if not all(outcomes):
            failed.append(case.case_id)
        elif not stats.pass_k(outcomes, rule.k):
            unverified.append(case.case_id)
    if not tagged:
        findings.notes.append(
            f"no case is tagged {tags}; the pass^{rule.k} rule checked nothing"
        )
    passed = len(tagged) - len(failed) - len(unverified)
    detail = (
        f"{passed} of {len(tagged)} tagged cases passed all of >= {rule.k} candidate repeats"
        + (
            f"; {len(unverified)} had fewer than {rule.k} answered repeats"
            if unverified
            else ""
        )
    )
    if failed:
        status = "fail"
        findings.fail.append(
            f"hard rule pass^{rule.k} ({tags}): cases failed {_preview(failed)}"
        )
    elif unverified:
        status = "inconclusive"
        findings.inconclusive.append(
            f"hard rule pass^{rule.k} ({tags}): cases with fewer than {rule.k} answered repeats "
            f"{_preview(unverified)}"
        )
    else:
        status = "pass"
    observed = passed / len(tagged) if tagged else None
    return HardRuleResult(
        rule.rule, label, metric, observed, 1.0, status, failed + unverified, detail
    )


def _efficiency(
    policy: Policy, cases: Mapping[str, _Case], findings: _Findings
) -> list[EfficiencyCheck]:
    limits = policy.efficiency
    if limits is None:
        return []
    paired = [c for c in cases.values() if c.is_paired()]
    checks = []
    for name, limit, field_name, summary in (
        ("cost_per_turn_ratio", limits.cost_per_turn_ratio_max, "cost_usd", np.mean),
        (
            "p95_latency_ratio",
            limits.p95_latency_ratio_max,
            "latency_ms",
            lambda a: np.percentile(a, 95),
        ),
    ):
        if limit is None:
            continue
        per_arm: dict[str, float | None] = {}
        for arm in ARMS:
            values = [
                float(getattr(r, field_name))
                for c in paired
                for r in c.answered(arm)
                if getattr(r, field_name) is not None
            ]
            per_arm[arm] = float(summary(np.asarray(values))) if values else None
        base, cand = per_arm["baseline"], per_arm["candidate"]
        if base is None or cand is None:
            checks.append(EfficiencyCheck(name, base, cand, None, limit, "missing"))
            findings.inconclusive.append(
                f"efficiency {name}: no {field_name} recorded for "
                + " and ".join(a for a in ARMS if per_arm[a] is None)
            )
            continue
        ratio = cand / base if base > 0 else (1.0 if cand == 0 else math.inf)
        status = "fail" if ratio > limit else "pass"
        if status == "fail":
            findings.fail.append(
                f"efficiency {name} {ratio:.2f} exceeds the limit {limit:g}"
            )
        checks.append(EfficiencyCheck(name, base, cand, ratio, limit, status))
    return checks


def _flaky(policy: Policy, cases: Mapping[str, _Case]) -> list[FlakyCase]:
    metrics = dict.fromkeys(
        [p.metric for p in policy.primary]
        + [r.metric for r in policy.hard_rules if r.metric is not None]
    )
    out = []
    for cid, case in cases.items():
        for arm in ARMS:
            for metric in metrics:
                values = case.values(arm, metric)
                outcomes = {
                    _score(v, policy.is_lower_better(metric)) >= DEFAULT_PASS_THRESHOLD
                    for v in values
                }
                if len(outcomes) > 1:
                    out.append(FlakyCase(cid, arm, metric, values))
    return out


def _case_table(policy: Policy, cases: Mapping[str, _Case]) -> list[CaseRow]:
    rows = []
    for cid, case in cases.items():
        diffs = []
        for rule in policy.primary:
            lower = policy.is_lower_better(rule.metric)
            b, c = (
                case.values("baseline", rule.metric),
                case.values("candidate", rule.metric),
            )
            bm = float(np.mean(b)) if b else None
            cm = float(np.mean(c)) if c else None
            d = None
            if bm is not None and cm is not None:
                d = _score(cm, lower) - _score(bm, lower)
            diffs.append(CaseDiff(rule.metric, bm, cm, d))
        rows.append(CaseRow(cid, diffs))

    def worst(row: CaseRow) -> tuple[float, str]:
        ds = [m.diff for m in row.metrics if m.diff is not None]
        return (min(ds) if ds else math.inf, row.case_id)

    return sorted(rows, key=worst)
