import json
import random

import pytest
from sklearn.metrics import cohen_kappa_score, f1_score

from evals import agreement
from evals.agreement import (
    cohen_kappa,
    dimension_scores,
    grade_file,
    grade_record,
    load_records,
    macro_f1,
    main_agreement,
    parse_history,
    precision_recall,
    record_to_input,
)

HISTORY = (
    "Tutor: Hi, could you please provide a step-by-step solution for the question below? The question is: "
    "Tom has 3 bags with 4 apples each. How many apples does he have? \n Student: 3 + 4 = 7 apples.\n 7 \n "
    "Tutor: Can you talk me through it? \n Student: I added 3 and 4 to get 7."
)
SOLUTION = "Tom has 3 x 4 = 12 apples.\n 12"


def record(response, labels, conversation_id="c1", **extra):
    full = dict.fromkeys(agreement.DIMENSIONS)
    full.update(labels)
    return {
        "conversation_id": conversation_id,
        "conversation_history": HISTORY,
        "response": response,
        "ground_truth_solution": SOLUTION,
        "labels": full,
        **extra,
    }


RECORDS = [
    record(
        "Not quite: you added, but there are 3 bags of 4. What is 3 times 4?",
        {
            "Mistake_Identification": "Yes",
            "Mistake_Location": "Yes",
            "Revealing_of_the_Answer": "No",
            "Providing_Guidance": "Yes",
            "Actionability": "Yes",
            "Tutor_Tone": "Neutral",
            "humanlikeness": "Yes",
        },
    ),
    record(
        "Great job! You got it.",
        {
            "Mistake_Identification": "No",
            "Mistake_Location": "No",
            "Revealing_of_the_Answer": "No",
            "Providing_Guidance": "No",
            "Actionability": "No",
            "Tutor_Tone": "Encouraging",
            "humanlikeness": "Yes",
        },
        conversation_id="c2",
    ),
    record(
        "Actually, you should multiply: 3 x 4 = 12, so Tom has 12 apples.",
        {
            "Mistake_Identification": "Yes",
            "Mistake_Location": "Yes",
            "Revealing_of_the_Answer": "Yes (and the answer is correct)",
            "Providing_Guidance": "To some extent",
            "Actionability": "No",
            "Tutor_Tone": "Neutral",
            "humanlikeness": "Yes",
        },
        conversation_id="c3",
    ),
]


def test_it_matches_sklearn_macro_f1_and_kappa():
    rng = random.Random(7)
    labels = ["Yes", "To some extent", "No"]
    for _ in range(25):
        n = rng.randint(5, 60)
        y_true = [rng.choice(labels) for _ in range(n)]
        y_pred = [rng.choice(labels[: rng.randint(1, 3)]) for _ in range(n)]
        assert macro_f1(y_true, y_pred, labels) == pytest.approx(
            f1_score(y_true, y_pred, labels=labels, average="macro", zero_division=0)
        )
        assert macro_f1(y_true, y_pred) == pytest.approx(
            f1_score(y_true, y_pred, average="macro", zero_division=0)
        )
        assert cohen_kappa(y_true, y_pred, labels) == pytest.approx(
            cohen_kappa_score(y_true, y_pred, labels=labels), abs=1e-12
        )


def test_it_gives_zero_kappa_when_chance_agreement_is_perfect():
    assert cohen_kappa(["Yes", "Yes"], ["Yes", "Yes"]) == 0.0
    assert cohen_kappa([], []) == 0.0


def test_it_computes_precision_and_recall_of_one_class():
    assert precision_recall(
        ["Yes", "No", "Yes", "No"], ["Yes", "Yes", "No", "No"], "Yes"
    ) == (0.5, 0.5)
    assert precision_recall(["No"], ["No"], "Yes") == (0.0, 0.0)


def test_it_scores_revealing_leniently_as_any_yes():
    y_true = [
        "Yes (and the answer is correct)",
        "Yes (but the answer is incorrect)",
        "No",
        "No",
    ]
    y_pred = [
        "Yes (and the answer is correct)",
        "Yes (and the answer is correct)",
        "No",
        "Yes (and the answer is correct)",
    ]
    row = dimension_scores("Revealing_of_the_Answer", y_true, y_pred)
    assert (row["n"], row["precision"], row["recall"]) == (4, 0.6667, 1.0)
    assert row["lenient_macro_f1"] == pytest.approx(
        round(f1_score(["Y", "Y", "N", "N"], ["Y", "Y", "N", "Y"], average="macro"), 4)
    )


def test_it_parses_mrbench_histories():
    turns = parse_history(HISTORY)
    assert [t.role for t in turns] == ["tutor", "student", "tutor", "student"]
    assert turns[1].text == "3 + 4 = 7 apples.\n 7"
    assert (
        parse_history(
            [{"role": "assistant", "content": "Hi"}, {"role": "user", "text": "7"}]
        )[1].role
        == "student"
    )


def test_it_builds_an_input_from_a_record():
    inp = record_to_input(RECORDS[0])
    assert inp.final_answer == "12"
    assert inp.problem_text.startswith("Tom has 3 bags")
    assert inp.student_was_wrong is True
    assert (
        record_to_input(
            {**RECORDS[0], "ground_truth_solution": "Not Available"}
        ).solution
        is None
    )


def test_it_maps_grades_to_mrbench_labels():
    first, praise, reveal = (grade_record(r) for r in RECORDS)
    assert first["Mistake_Identification"] == "Yes"
    assert first["Revealing_of_the_Answer"] == "No"
    assert first["Actionability"] == "Yes"
    assert (
        praise["Mistake_Identification"],
        praise["Actionability"],
        praise["Tutor_Tone"],
    ) == ("No", "No", "Encouraging")
    assert reveal["Revealing_of_the_Answer"] == "Yes (and the answer is correct)"
    assert reveal["Actionability"] == "No"


def test_it_reports_agreement_per_dimension():
    scores = agreement.agreement(RECORDS)
    assert set(scores) == set(agreement.PREDICTED)
    assert scores["Revealing_of_the_Answer"] == {
        "n": 3,
        "exact_macro_f1": 1.0,
        "lenient_macro_f1": 1.0,
        "kappa": 1.0,
        "precision": 1.0,
        "recall": 1.0,
    }
    assert scores["Mistake_Identification"]["n"] == 3


def test_it_skips_records_without_a_label():
    unlabelled = record(
        "Try again?", {"Mistake_Identification": "Yes"}, conversation_id="c4"
    )
    scores = agreement.agreement([*RECORDS, unlabelled])
    assert scores["Mistake_Identification"]["n"] == 4
    assert scores["Tutor_Tone"]["n"] == 3


def test_it_prints_a_table_or_json(tmp_path):
    path = tmp_path / "labelled.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in RECORDS) + "\n")
    assert load_records(path) == RECORDS
    table = main_agreement(path)
    assert table.splitlines()[0].startswith("| dimension | n |")
    assert "| Revealing_of_the_Answer | 3 | 1.000 |" in table
    data = json.loads(main_agreement(path, as_json=True))
    assert set(data["Actionability"]) == {
        "n",
        "exact_macro_f1",
        "lenient_macro_f1",
        "kappa",
        "precision",
        "recall",
    }


def test_it_grades_a_file_of_records(tmp_path):
    src, dst = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    rows = [
        {
            "conversation_history": HISTORY,
            "response": r["response"],
            "ground_truth_solution": SOLUTION,
        }
        for r in RECORDS
    ]
    src.write_text("\n".join(json.dumps(r) for r in rows) + "\n\n")
    assert grade_file(src, dst) == 3
    out = [json.loads(line) for line in dst.read_text().splitlines()]
    assert out[2]["grades"]["answer_leak"]["label"] == "leak"
    assert (
        out[2]["labels"]["Revealing_of_the_Answer"] == "Yes (and the answer is correct)"
    )
    assert set(out[0]["grades"]["tone"]) == {
        "version",
        "passed",
        "score",
        "label",
        "detail",
    }
