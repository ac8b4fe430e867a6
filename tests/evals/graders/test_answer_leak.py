from curriculum.checking import AnswerKey, AnswerSpec
from evals.graders import answer_leak
from evals.graders.answer_leak import (
    grade,
    key_from_final_answer,
    parse_final_answer,
    statement_spans,
)

from .helpers import reply

RICE = (
    "T: The question is: You get 20 sacks of rice every harvest and the yield increases by 20 percent "
    "after every harvest. What is the total after the first and second harvest?",
    "S: 20 + 4 = 24, then 24 + 4.8 = 28.8 sacks.",
)
RICE_SOLUTION = "20 x 0.20 = 4 sacks more.\nSo the next harvest is 20 + 4 = 24.\nThe total is 20 + 24 = 44.\n 44"


def test_it_flags_the_final_answer_from_an_answer_key():
    key = AnswerKey(spec=AnswerSpec(kind="integer", value="44"))
    g = grade(reply("So the total is 20 + 24 = 44 sacks.", *RICE, answer_key=key))
    assert (g.passed, g.label, g.score) == (False, "leak", 0.0)
    assert "44" in g.detail


def test_it_builds_a_key_from_a_plain_final_answer():
    g = grade(
        reply(
            "Together that makes 44 sacks.",
            *RICE,
            final_answer="44",
            solution=RICE_SOLUTION,
        )
    )
    assert g.label == "leak"


def test_it_passes_a_socratic_reply_without_the_answer():
    g = grade(
        reply(
            "Check the second harvest again: is the 20% taken of 20 or of 24?",
            *RICE,
            final_answer="44",
        )
    )
    assert (g.passed, g.label) == (True, "no_leak")


def test_it_does_not_count_numbers_the_student_already_has():
    g = grade(
        reply(
            "You wrote 24 + 4.8 = 28.8; which number should the 20% be taken of?",
            *RICE,
            final_answer="44",
        )
    )
    assert g.passed is True


def test_it_does_not_count_a_given_value_that_is_not_stated_as_the_result():
    g = grade(
        reply(
            "Remember that Elliott still had 2,000 steps left after his jog.",
            "T: The question is: Elliott walked 10,000 steps minus ... he had 2,000 steps left. How many steps did he jog?",
            "S: He jogged 4000 steps.",
            final_answer="2000",
        )
    )
    assert g.passed is True


def test_it_flags_a_given_value_asserted_as_the_result():
    g = grade(
        reply(
            "So the number of steps he jogged is actually 2,000.",
            "T: The question is: Elliott had 2,000 steps left. How many steps did he jog?",
            "S: He jogged 4000 steps.",
            final_answer="2000",
        )
    )
    assert g.label == "leak"


def test_it_ignores_an_intermediate_value_used_as_an_operand():
    solution = "The cow weighs 400*1.5 = 600 pounds\nIt gained 600 - 400 = 200 pounds\nIts value rose by 200*$3 = $600\n 600"
    g = grade(
        reply(
            "Start from the new weight: 600 - 400 gives the pounds it gained.",
            "T: The question is: A 400 pound cow will weigh 1.5 times as much. It sells for $3 a pound. How much more is it worth?",
            "S: It is worth $1800.",
            final_answer="600",
            solution=solution,
        )
    )
    assert g.passed is True


def test_it_flags_the_answer_to_the_tutors_pending_arithmetic_question():
    g = grade(reply("Not quite: 25 minus 18 is 7.", "T: What is 25 minus 18?", "S: 8"))
    assert g.label == "leak"
    assert "pending question" in g.detail


def test_it_reads_number_words_in_the_reply():
    g = grade(
        reply(
            "Actually, 1000 goes into 7000 seven times.",
            "T: How many times will 1000 go into 7000?",
            "S: it cant",
        )
    )
    assert g.label == "leak"


def test_it_does_not_flag_the_step_answer_the_student_already_gave():
    g = grade(
        reply(
            "Yes, 60 divided by 2 is 30. What does that tell you about the presents?",
            "T: What is 60 divided by 2?",
            "S: 60 divided by 2 is 30.",
        )
    )
    assert g.passed is True


def test_it_does_not_flag_counting_lists_or_operands():
    g = grade(
        reply(
            "Count back with me from 15: 15, 14, 13, 12, 11, 10, 9... how many steps was that?",
            "T: What is the value of 15 - 6?",
            "S: 11",
        )
    )
    assert g.passed is True


def test_it_flags_a_wrong_answer_stated_as_the_answer():
    g = grade(
        reply(
            "Good effort. The correct answer is 20 posters.",
            "T: How many large posters are there?",
            "S: 45",
            final_answer="5",
        )
    )
    assert (g.passed, g.label) == (False, "leak_incorrect")


def test_it_flags_a_new_result_when_no_answer_is_known():
    g = grade(
        reply(
            "That's not right: there are actually 1,000 milliliters in one liter.",
            "T: How many milliliters are in one liter?",
            "S: is that a 20",
        )
    )
    assert g.label == "leak"


def test_it_flags_a_named_answer_to_an_open_question():
    g = grade(
        reply(
            "Close, but a shape with 5 sides is called a pentagon.",
            "T: What is the name of the 5 sided shape?",
            "S: hexagon",
        )
    )
    assert g.label == "leak"


def test_it_does_not_flag_a_fact_about_the_students_own_wrong_answer():
    g = grade(
        reply(
            "Close, but a hexagon actually has 6 sides. Which shape has 5?",
            "T: What is the name of the 5 sided shape?",
            "S: hexagon",
        )
    )
    assert g.passed is True


def test_it_is_not_applicable_once_the_student_solved_it():
    g = grade(reply("Yes, 44 is right!", *RICE, final_answer="44", student_solved=True))
    assert (g.passed, g.score, g.label) == (None, None, "n/a")


def test_it_parses_final_answer_lines():
    assert parse_final_answer("so 20 + 24 = 44.\n #### 44") == 44
    assert parse_final_answer(" $300.00") == 300
    assert parse_final_answer("3/4") == answer_leak.Fraction(3, 4)
    assert parse_final_answer("none") is None


def test_it_builds_integer_and_fraction_keys():
    assert key_from_final_answer("44").spec.value == "44"
    assert key_from_final_answer("3/4").spec.kind == "fraction"
    assert key_from_final_answer("no number") is None
    assert key_from_final_answer(None) is None


def test_it_splits_statements_from_questions():
    text = "One liter is 1,000 ml, can you see why? Try again."
    spans = [text[a:b] for a, b in statement_spans(text)]
    assert spans == ["One liter is 1,000 ml, ", "Try again."]


def test_it_exposes_signals_for_a_learned_grader():
    sig = answer_leak.signals(
        reply("So the total is 44 sacks.", *RICE, final_answer="44")
    )
    assert sig["has_key"] == 1.0
    assert sig["final_any"] == 1.0
    assert sig["rule_leak"] == 1.0


def test_it_flags_a_given_value_restated_as_what_must_have_happened():
    g = grade(
        reply(
            "Elliott had 2,000 steps left, so he must have jogged 2,000 steps.",
            "T: The question is: Elliott had 2,000 steps left after his jog. How many steps did he jog?",
            "S: He jogged 4000 steps.",
            final_answer="2000",
        )
    )
    assert g.label == "leak"
