"""The eval gate: decide whether a candidate release may replace the baseline.

Pure logic, no Django: ``stats`` (paired bootstrap, McNemar, Holm, power), ``policy`` (the YAML
pass bar) and ``verdict`` (``evaluate_gate``). See ``docs/eval-gate.md``.
"""

from evals.gate.policy import Policy, PolicyError, load_policy, parse_policy
from evals.gate.verdict import EXIT_CODES, GateReport, ResultRow, Verdict, evaluate_gate

__all__ = [
    "EXIT_CODES",
    "GateReport",
    "Policy",
    "PolicyError",
    "ResultRow",
    "Verdict",
    "evaluate_gate",
    "load_policy",
    "parse_policy",
]
