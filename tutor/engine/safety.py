"""Replies that never go to a model: care for a student in distress, a redirect for unsafe input."""

DISTRESS_REPLY = (
    "I'm really sorry you're feeling this way. You matter, and you don't have to handle this alone. "
    "Please talk to a trusted adult right now: a parent, your teacher or the school counsellor. "
    "If you might be in danger, call your local emergency number. In the US you can call or text 988, "
    "in the UK call Childline on 0800 1111 or text SHOUT to 85258. "
    "I've let your teacher know so someone can check in with you. Maths can wait."
)
UNSAFE_INPUT_REPLY = (
    "Let's keep our chat kind and safe. I'm here to help with maths: shall we get back to the problem?"
)
PERSONAL_DATA_REPLY = (
    "Please don't share personal details like phone numbers, addresses, emails or passwords here, "
    "even with me. Let's get back to the problem: what's your next step?"
)


def safety_reply(categories: tuple[str, ...]) -> str | None:
    if "self_harm" in categories:
        return DISTRESS_REPLY
    if "personal_data" in categories:
        return PERSONAL_DATA_REPLY
    if categories:
        return UNSAFE_INPUT_REPLY
    return None
