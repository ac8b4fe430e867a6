import copy
import hashlib
import json
from pathlib import Path

import pytest
import yaml

from evals.gate.policy import (
    NoNewFailuresRule,
    PassKRule,
    PolicyError,
    RateUpperRule,
    load_policy,
    parse_policy,
)

DEFAULT_POLICY = (
    Path(__file__).resolve().parents[2] / "evals" / "policies" / "tutor-upgrade-v1.yaml"
)

# The example from docs/design EVAL_GATE.md, verbatim apart from the suite version.
DESIGN_EXAMPLE = """
policy: tutor-upgrade/v1
suite: pedagogy-core@3
baseline: production
repeats: 3
max_error_rate: 0.02
primary:   [{metric: pedagogy_score, rule: non_inferiority, margin: 0.03}]
slices:    {by: [grade_band, scenario], margin: 0.05, multiplicity: holm, min_cases: 30}
hard_rules:
  - {metric: answer_leak, rule: rate_upper_ci_at_most, value: 0.02}
  - {metric: safety_violation, rule: no_new_failures}
  - {tags: [pinned], rule: pass_k, k: 3}
efficiency: {cost_per_turn_ratio_max: 1.25, p95_latency_ratio_max: 1.3}
"""


def example() -> dict:
    return yaml.safe_load(DESIGN_EXAMPLE)


def errors_for(data) -> list[str]:
    with pytest.raises(PolicyError) as info:
        parse_policy(data)
    return info.value.errors


def test_it_parses_the_design_notes_example():
    policy = parse_policy(example())
    assert policy.name == "tutor-upgrade/v1"
    assert policy.suite == "pedagogy-core@3"
    assert policy.repeats == 3
    assert policy.max_error_rate == 0.02
    assert [(p.metric, p.rule, p.margin) for p in policy.primary] == [
        ("pedagogy_score", "non_inferiority", 0.03)
    ]
    assert policy.slices.by == ("grade_band", "scenario")
    assert policy.slices.min_cases == 30
    assert policy.slices.alpha == 0.05
    assert policy.hard_rules == (
        RateUpperRule(metric="answer_leak", value=0.02, confidence=0.95),
        NoNewFailuresRule(metric="safety_violation", threshold=0.5),
        PassKRule(tags=("pinned",), k=3, metric=None, threshold=0.5),
    )
    assert policy.efficiency.cost_per_turn_ratio_max == 1.25
    assert policy.efficiency.p95_latency_ratio_max == 1.3
    assert policy.lower_is_better == ("answer_leak", "safety_violation")
    assert policy.confidence == 0.95
    assert policy.bootstrap_resamples == 10_000


def test_it_loads_the_shipped_default_policy():
    policy = load_policy(DEFAULT_POLICY)
    assert policy.name == "tutor-upgrade/v1"
    assert policy.source == str(DEFAULT_POLICY)
    # the shipped file spells out the defaults the design example leaves implicit
    assert policy.to_dict() | {"suite": "x"} == parse_policy(example()).to_dict() | {
        "suite": "x"
    }


def test_it_hashes_the_canonical_json_of_the_policy():
    policy = parse_policy(example())
    canonical = json.dumps(policy.to_dict(), sort_keys=True, separators=(",", ":"))
    assert policy.content_hash() == hashlib.sha256(canonical.encode()).hexdigest()
    reordered = dict(reversed(list(example().items())))
    assert parse_policy(reordered).content_hash() == policy.content_hash()
    changed = example()
    changed["primary"][0]["margin"] = 0.04
    assert parse_policy(changed).content_hash() != policy.content_hash()


def test_it_names_a_bad_margin_by_its_key_path():
    data = example()
    data["primary"][0]["margin"] = -0.03
    assert errors_for(data) == [
        "primary[0].margin: must be a number in [0, 1), got -0.03"
    ]


def test_it_names_a_missing_required_key():
    data = example()
    del data["repeats"]
    assert errors_for(data) == ["repeats: is required"]


def test_it_names_an_unknown_key_so_typos_do_not_pass_silently():
    data = example()
    data["slices"]["min_case"] = data["slices"].pop("min_cases")
    errors = errors_for(data)
    assert (
        "slices.min_case: unknown key (expected one of by, margin, multiplicity, min_cases, alpha)"
        in errors
    )
    assert "slices.min_cases: is required" in errors


def test_it_names_an_unknown_hard_rule():
    data = example()
    data["hard_rules"][1]["rule"] = "no_new_failure"
    (error,) = errors_for(data)
    assert error.startswith("hard_rules[1].rule: unknown rule 'no_new_failure'")


def test_it_refuses_a_pass_k_larger_than_the_repeats():
    data = example()
    data["hard_rules"][2]["k"] = 5
    assert errors_for(data) == [
        "hard_rules[2].k: is 5 but the policy runs only 3 repeats"
    ]


def test_it_refuses_a_rate_rule_on_a_higher_is_better_metric():
    data = example()
    data["hard_rules"][0]["metric"] = "pedagogy_score"
    (error,) = errors_for(data)
    assert error.startswith(
        "hard_rules[0].metric: 'pedagogy_score' is counted as a failure rate"
    )


def test_it_refuses_other_multiplicity_corrections_and_rules():
    data = example()
    data["slices"]["multiplicity"] = "bonferroni"
    data["primary"][0]["rule"] = "superiority"
    assert errors_for(data) == [
        "primary[0].rule: must be 'non_inferiority', got 'superiority'",
        "slices.multiplicity: must be 'holm', got 'bonferroni'",
    ]


def test_it_lists_every_problem_at_once():
    data = example()
    data["repeats"] = 0
    data["max_error_rate"] = 1.5
    data["efficiency"]["p95_latency_ratio_max"] = "fast"
    data["slices"]["by"] = "grade_band"
    data["primary"].append(
        {"metric": "pedagogy_score", "rule": "non_inferiority", "margin": 0.1}
    )
    data["hard_rules"][0] = "answer_leak"
    errors = errors_for(data)
    assert errors == [
        "repeats: must be an integer >= 1, got 0",
        "max_error_rate: must be a number in [0, 1), got 1.5",
        "primary[1].metric: 'pedagogy_score' is listed twice",
        "slices.by: must be a list of non-empty strings, got 'grade_band'",
        "hard_rules[0]: must be a mapping, got a string",
        "efficiency.p95_latency_ratio_max: must be a number in (0, inf), got 'fast'",
    ]


def test_it_refuses_booleans_where_numbers_belong():
    data = example()
    data["repeats"] = True
    data["primary"][0]["margin"] = False
    assert errors_for(data) == [
        "repeats: must be an integer >= 1, got True",
        "primary[0].margin: must be a number in [0, 1), got False",
    ]


def test_it_refuses_an_empty_primary_list_and_a_non_mapping_document():
    data = example()
    data["primary"] = []
    assert errors_for(data) == ["primary: must not be empty"]
    assert errors_for(["policy"]) == ["<root>: must be a mapping, got a list"]


def test_it_accepts_a_minimal_policy_without_slices_rules_or_efficiency():
    data = {
        k: v
        for k, v in example().items()
        if k not in {"slices", "hard_rules", "efficiency"}
    }
    policy = parse_policy(data)
    assert policy.slices is None
    assert policy.hard_rules == ()
    assert policy.efficiency is None


def test_it_names_the_file_when_loading_fails(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("policy: [unclosed\n")
    with pytest.raises(PolicyError, match=r"bad\.yaml") as info:
        load_policy(bad)
    assert info.value.errors[0].startswith("<file>: not valid YAML")

    wrong = tmp_path / "wrong.yaml"
    data = copy.deepcopy(example())
    data["hard_rules"][2]["tags"] = []
    wrong.write_text(yaml.safe_dump(data))
    with pytest.raises(PolicyError) as info:
        load_policy(wrong)
    assert info.value.source == str(wrong)
    assert info.value.errors == ["hard_rules[2].tags: must not be empty"]
    assert "hard_rules[2].tags: must not be empty" in str(info.value)
