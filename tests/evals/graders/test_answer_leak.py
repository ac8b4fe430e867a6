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


# ---------------------------------------------------------------- declared answers (1.1)

POSTERS = (
    "T: The question is: A store has 50 posters. Two-fifths are small and half are medium. "
    "How many large posters are there?",
    "S: 50 x 2/5 = 20 small. 70 - 50 = 20.\n 20",
)
POSTERS_SOLUTION = (
    "50 x 2/5 = 20 posters are small.\nAnd 50/2 = 25 posters are medium.\n"
    "So 20 + 25 = 45 posters are not large.\nTherefore, 50 - 45 = 5 posters are large.\n 5"
)


def posters(response: str, **kwargs):
    kwargs.setdefault("final_answer", "5")
    kwargs.setdefault("solution", POSTERS_SOLUTION)
    kwargs.setdefault("problem_text", POSTERS[0].split(": ", 2)[-1])
    return grade(reply(response, *POSTERS, **kwargs))


def test_it_reads_the_quantity_a_question_asks_for():
    aq = answer_leak.asked_quantity
    assert aq("How many large posters are there?").words == ("large", "poster")
    assert aq("How much money would the bakery make?").unit == "$"
    assert aq("How much (in dollars) would it cost to use the boards?").unit == "$"
    assert aq("How long will it take her?").unit == "time"
    assert aq("What is the value of pi?").words == ("value", "pi")
    assert aq("Can you try again?") is None
    assert answer_leak.question_of("Tom has 3 cats. How many legs? Explain.") == "How many legs?"


def test_it_flags_a_wrong_value_stated_as_the_asked_quantity():
    g = posters("There are 20 large posters.")
    assert (g.passed, g.label) == (False, "leak_incorrect")
    assert "declared answer (states the asked quantity) 20" in g.detail


def test_it_flags_the_asked_quantity_named_before_its_value():
    g = grade(
        reply(
            "You're almost there! 100 cents is equal to $1, so the total cost would be $1.",
            "T: The question is: Ink costs 50 cents per ml. How much (in dollars) would it cost to use the boards?",
            "S: 200 x 0.5 = 100 cents, so it costs $1.\n 1",
            final_answer="25",
            problem_text="Ink costs 50 cents per ml. How much (in dollars) would it cost to use the boards?",
        )
    )
    assert g.label == "leak_incorrect"
    assert "total cost would be $1" in g.detail


def test_it_does_not_flag_a_step_of_the_solution_in_the_asked_unit():
    # 20 posters is an intermediate result of the solution ("20 posters are small")
    assert posters("Right, there are 20 posters that are small. What about the medium ones?").passed


def test_it_does_not_flag_a_rate_or_a_contrasted_value_of_the_asked_quantity():
    assert posters("Each shelf holds 12 large posters per row. How many rows are there?").passed
    assert posters("You found 30 large posters, but check the medium ones again.").passed


def test_it_flags_the_answer_cue_with_the_students_own_answer():
    g = posters("Your steps are fine, so the answer is indeed 20.")
    assert g.label == "leak_incorrect"
    assert "states the answer" in g.detail


def test_it_flags_a_confirmation_of_the_students_wrong_final_answer():
    g = posters("Since you've found 20 large posters, that's correct.")
    assert g.label == "leak_incorrect"
    assert "confirms the student's answer" in g.detail


def test_it_does_not_count_a_partial_confirmation_or_a_solved_problem():
    assert posters("You're right that you found 20, but let's check the medium posters.").passed
    # the student was right: confirming their answer reveals nothing new
    assert posters(
        "Since you've found 20 large posters, that's correct.", student_was_wrong=False
    ).passed


def test_it_flags_a_correction_that_replaces_the_students_answer():
    g = grade(
        reply(
            "So, the total time would be 80 minutes, not 110.",
            "T: The question is: It takes 5 minutes per cake, 8 with a sprained wrist. How much longer would it take to frost 10 cakes?",
            "S: 8 x 10 = 80 and 3 x 10 = 30, so 80 + 30 = 110 minutes.\n 110",
            final_answer="30",
            solution="5*10=50 minutes\n8*10=80 minutes\n80-50=30 more minutes\n 30",
        )
    )
    assert g.label == "leak_incorrect"
    assert "replaces the student's answer" in g.detail


def test_it_does_not_count_a_correction_of_another_number():
    g = grade(
        reply(
            "Remember Julia had 12 spoons after using 3 for the stew, not 9. Try x + 5 + 3 = 12.",
            "T: The question is: Julia bought a package of spoons. How many spoons were in the package?",
            "S: 12 - 5 + 3 = 10 spoons.\n 10",
            final_answer="4",
        )
    )
    assert g.passed is True


def test_it_flags_an_endorsed_short_wrong_answer():
    turns = ("T: What is the name of the 5 sided shape?", "S: hexagon")
    g = grade(reply("Great job, a hexagon indeed has 5 sides!", *turns))
    assert g.label == "leak_incorrect"
    assert "confirms the student's answer" in g.detail
    assert grade(reply("Not quite: a hexagon has 6 sides. Count again?", *turns)).passed


def test_it_flags_a_reply_that_concludes_with_a_new_result():
    turns = (
        "T: The question is: Candice had 80 post-it notes and used 220. How many were in the package?",
        "S: 277 - 80 = 197.\n 197",
    )
    g = grade(
        reply(
            "We use combinations: 5C3 = 5! / (3!(5-3)!) = 120 / (6 * 2) = 10.\n\n"
            "Therefore, there are 10 different ways to choose 3 shirts out of 5 different colors.",
            *turns,
            final_answer="163",
        )
    )
    assert g.label == "leak_incorrect"
    assert "concludes with a new result" in g.detail
    directive = grade(
        reply(
            "That's a start. So, we need to continue this for 4 weeks to find the total.",
            *turns,
            final_answer="163",
        )
    )
    assert directive.passed is True


def test_it_trusts_a_curriculum_key_over_the_step_heuristics():
    """Authored hints quote coefficients and sub-steps; with a key only the final answer counts."""
    solve_for_h = AnswerKey(spec=AnswerSpec(kind="equation", value="h=-3"))
    hint = "I can't give you the answer, but I can help you find it! The $h$-term is $-3h$. First undo the 4."
    assert grade(reply(hint, answer_key=solve_for_h)).label == "no_leak"
    assert grade(reply("Great, so h = -3 is the answer.", answer_key=solve_for_h)).label == "leak"
    sixty = AnswerKey(spec=AnswerSpec(kind="integer", value="60"))
    step = "Last step: 100% of 40 is 40 and 50% of 40 is 20. Add them. What do you think?"
    assert grade(reply(step, answer_key=sixty)).label == "no_leak"
