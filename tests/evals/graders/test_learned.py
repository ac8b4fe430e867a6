from evals.agreement import record_to_input
from evals.graders import learned

ASKS = [
    "What is 3 times 4?",
    "Can you check the tens again?",
    "How did you get 20?",
    "Try adding the ones first. What do you get?",
]
TELLS = [
    "3 times 4 is 12.",
    "The answer is 12 apples.",
    "You add 3 and 4 to get 7, but it should be 12.",
    "So the total is 12.",
]


def records(n_conversations=12):
    out = []
    for c in range(n_conversations):
        for i, text in enumerate(ASKS + TELLS):
            out.append(
                {
                    "conversation_id": f"c{c}",
                    "conversation_history": "Tutor: What is 3 times 4?\n Student: 7",
                    "response": text,
                    "labels": {"Actionability": "Yes" if i < len(ASKS) else "No"},
                }
            )
    return out


def test_it_extracts_rule_features():
    feats = learned.rule_features(record_to_input(records(1)[0]))
    assert feats["telling=asks"] == 1.0
    assert "leak.final_any" in feats


def test_it_cross_validates_by_conversation_and_predicts_every_labelled_record():
    recs = records()
    preds = learned.cross_validate(
        recs, "Actionability", to_input=record_to_input, n_splits=3
    )
    assert len(preds) == len(recs)
    assert all(p in ("Yes", "No") for p in preds)
    accuracy = sum(
        p == r["labels"]["Actionability"] for p, r in zip(preds, recs, strict=True)
    ) / len(recs)
    assert accuracy >= 0.9


def test_it_tunes_a_threshold_for_a_target_recall():
    recs = records()
    preds = learned.cross_validate(
        recs,
        "Actionability",
        to_input=record_to_input,
        n_splits=3,
        binary=True,
        target_recall=1.0,
    )
    hits = [
        p
        for p, r in zip(preds, recs, strict=True)
        if r["labels"]["Actionability"] == "Yes"
    ]
    assert hits.count("Yes") == len(hits)


def test_it_skips_records_without_the_label():
    recs = records(6)
    recs[0]["labels"] = {"Actionability": None}
    preds = learned.cross_validate(
        recs, "Actionability", to_input=record_to_input, n_splits=3
    )
    assert preds[0] is None


def test_it_trains_a_model_at_run_time():
    model = learned.train(records(4), "Actionability", to_input=record_to_input)
    assert model.classes == ("No", "Yes")
    inputs = [
        record_to_input(
            {"conversation_history": "", "response": "What do you get if you add them?"}
        )
    ]
    assert model.predict(inputs) == ["Yes"]
