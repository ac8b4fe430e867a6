"""Output guard: no reply may state the final answer before the student has found it.

The guard sits between the model's stream and the student's screen. It holds back the last,
possibly unfinished word of the text so far, checks everything with the curriculum's
`find_answer_in_text`, and only then lets text through, so a leak never reaches the screen even
when the answer arrives split across chunks ("3" + "/4").

Each check reads a window, not the whole reply: the new text plus WINDOW_OVERLAP characters
before it, started on a word boundary, so that a mention beginning in text already shown is
still read whole. Checking the whole reply at every word made a long reply cost quadratic time.
A mention that the window finds entirely inside text already shown can only come from where the
window cut a phrase ("...hundred and | twenty"); that rare case is decided on the whole text.
"""

from dataclasses import dataclass, field

from curriculum.checking import AnswerKey, AnswerMention, find_answer_in_text

WINDOW_OVERLAP = 160  # characters; far longer than any way of writing one answer


@dataclass
class LeakGuard:
    key: AnswerKey | None
    known_values: tuple[str, ...] = ()
    active: bool = True  # off once the student has solved the problem
    text: str = ""
    emitted: int = 0
    leaked: str | None = field(default=None)

    def feed(self, delta: str) -> str:
        """Add a delta; return the text that is now safe to show (maybe empty)."""
        if self.leaked is not None:
            return ""
        self.text += delta
        boundary = max(self.text.rfind(" "), self.text.rfind("\n"))
        return self._release(boundary + 1 if boundary >= 0 else 0)

    def finish(self) -> str:
        """End of stream: check and release whatever was held back."""
        if self.leaked is not None:
            return ""
        return self._release(len(self.text))

    def _release(self, upto: int) -> str:
        if upto <= self.emitted:
            return ""
        if self.active and self.key is not None:
            mention = self._mention(upto)
            if mention is not None:
                self.leaked = mention.value
                return ""
        chunk = self.text[self.emitted : upto]
        self.emitted = upto
        return chunk

    @property
    def shown(self) -> str:
        return self.text[: self.emitted]

    def _mention(self, upto: int) -> AnswerMention | None:
        assert self.key is not None
        start = self._window_start()
        mention = find_answer_in_text(self.key, self.text[start:upto], self.known_values)
        if mention is None or start == 0 or start + mention.span[1] > self.emitted:
            return mention
        return find_answer_in_text(self.key, self.text[:upto], self.known_values)

    def _window_start(self) -> int:
        cut = self.emitted - WINDOW_OVERLAP
        if cut <= 0:
            return 0
        return max(self.text.rfind(" ", 0, cut), self.text.rfind("\n", 0, cut)) + 1
