"""The stand-in's model: a deterministic writer of plain prose, and its tokenizer.

The reply is a function of the conversation alone: the same system prompt and messages always
give the same text, whatever the model id, temperature or topP. It is built from the prompt's
own phrases (runs of content words) set into sentence templates by a generator seeded with a
hash of the conversation, so it reads as English about the prompt's subject and is a few
hundred tokens long. It knows nothing; it is there to make a stream of the right shape.

A token is a word, a number or one punctuation mark, with the whitespace before it: joining
a text's tokens gives the text back, and each ``contentBlockDelta`` carries one token.
"""

from __future__ import annotations

import hashlib
import random
import re
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["Reply", "count_tokens", "tokenize", "write_reply"]

END_TURN = "end_turn"
MAX_TOKENS = "max_tokens"
STOP_SEQUENCE = "stop_sequence"

_TOKEN = re.compile(r"\s*(?:\w+|[^\w\s])")
_WORD = re.compile(r"[^\W_]+(?:['\u2019-][^\W_]+)*")  # it's (either apostrophe), well-known
_STOPWORD_TEXT = """
    a about above after again all also am an and any are as at be because been before being
    below between both but by can could did do does doing down during each few for from
    further had has have having he her here hers him his how i if in into is it its just me
    more most my no nor not now of off on once only or other our out over own please same
    she should so some such than that the their them then there these they this those
    through to too under until up very was we were what when where which while who whom why
    will with would you your yours explain describe tell write give show make let know want
    need like get use using used help thing things way ways something anything one
"""
_STOPWORDS = frozenset(_STOPWORD_TEXT.split())
_FALLBACK_TOPICS = ("the question", "the context", "the details")

_OPENINGS = (
    "You asked about {list}.",
    "Here is a short answer about {list}.",
    "Let us look at {list}, one step at a time.",
    "This is a question about {list}, and it has a fairly clear answer.",
)
_PARAGRAPH_STARTS = (
    "Next, consider {a}.",
    "There is also {a} to think about.",
    "Another angle is {a}.",
    "Then there is the matter of {a}.",
)
_SENTENCES = (
    "The first thing to know about {a} is that it rarely stands alone.",
    "{a} is easiest to understand next to {b}.",
    "Most of what matters about {a} comes down to {b}.",
    "When {a} changes, {b} usually changes with it.",
    "A common mistake is to treat {a} and {b} as the same thing.",
    "In practice, {a} is shaped by the way people handle {b}.",
    "It helps to ask what {a} is for before asking how it works.",
    "Seen from a distance, {a} looks simple; up close, it depends on {b}.",
    "Good examples of {a} tend to share one habit: they keep {b} in view.",
    "There is no single rule for {a}, but there are useful patterns.",
    "One way to think about {a} is as a balance between {b} and {c}.",
    "People who work with {a} every day tend to focus on {b}.",
    "The details of {a} matter less than the reasons behind it.",
    "A small change in {b} can make a large difference to {a}.",
    "Over time, {a} has become more important, mostly because of {b}.",
    "If {a} seems confusing at first, start with {b} and come back to it.",
)
_CLOSINGS = (
    "In short, {a} is worth understanding well, and {b} is the place to start.",
    "To sum up, {a} and {b} make the most sense when you look at them together.",
    "That is the core of it: start with {a}, and the rest follows.",
)
_LENGTH_RANGE = (220, 420)
"""How many tokens a full reply has, before maxTokens or a stop sequence cuts it."""


@dataclass(frozen=True)
class Reply:
    """The reply as the model emits it: its tokens and why it stopped."""

    tokens: tuple[str, ...]
    stop_reason: str

    @property
    def text(self) -> str:
        return "".join(self.tokens)


def tokenize(text: str) -> list[str]:
    """The text's tokens, each with its leading whitespace (trailing whitespace is dropped)."""
    return _TOKEN.findall(text)


def count_tokens(texts: Sequence[str]) -> int:
    return sum(len(tokenize(text)) for text in texts)


def write_reply(
    system: Sequence[str],
    conversation: Sequence[str],
    prompt: str,
    max_tokens: int,
    stop_sequences: Sequence[str] = (),
) -> Reply:
    """The reply to ``prompt`` (the last user turn) in this conversation.

    ``conversation`` is every message's text, in order, ``prompt`` included; together with
    ``system`` it seeds the generator, and ``prompt``'s phrases are what the reply is about.
    """
    seed = hashlib.sha256("\x1e".join([*system, "\x1d", *conversation]).encode()).digest()
    rng = random.Random(seed)
    text = _compose(rng, _topics(prompt) or _topics(" ".join(system)))
    stop_reason = END_TURN
    cut = min((i for s in stop_sequences if s and (i := text.find(s)) >= 0), default=None)
    if cut is not None:
        text, stop_reason = text[:cut], STOP_SEQUENCE
    tokens = tokenize(text)
    if len(tokens) > max_tokens:
        tokens, stop_reason = tokens[:max_tokens], MAX_TOKENS
    return Reply(tuple(tokens), stop_reason)


def _topics(text: str) -> list[str]:
    """The text's phrases: runs of up to three content words, each phrase once, in order."""
    phrases: dict[str, str] = {}
    run: list[str] = []
    for piece in re.findall(rf"{_WORD.pattern}|[^\w\s]", text):
        if _WORD.fullmatch(piece) and piece.lower() not in _STOPWORDS:
            run.append(piece)
            if len(run) < 3:
                continue
        phrase = " ".join(run)
        if len(phrase) > 2:
            phrases.setdefault(phrase.lower(), phrase)
        run = []
    if run and len(phrase := " ".join(run)) > 2:
        phrases.setdefault(phrase.lower(), phrase)
    return list(phrases.values())


def _compose(rng: random.Random, topics: list[str]) -> str:
    listed = _listing(topics[:3]) if topics else "your question"
    topics = [*topics, *_FALLBACK_TOPICS[: max(0, 3 - len(topics))]]
    sentences = _Deck(rng, _SENTENCES)
    target = rng.randint(*_LENGTH_RANGE)
    paragraphs = [[rng.choice(_OPENINGS).format(list=listed)]]
    length = len(tokenize(paragraphs[0][0]))
    while length < target:
        if len(paragraphs[-1]) >= rng.randint(3, 5):
            paragraphs.append([])
            sentence = rng.choice(_PARAGRAPH_STARTS).format(a=rng.choice(topics))
        else:
            sentence = _fill(rng, sentences.draw(), topics)
        paragraphs[-1].append(sentence)
        length += len(tokenize(sentence))
    paragraphs[-1].append(_fill(rng, rng.choice(_CLOSINGS), topics[:3]))
    return "\n\n".join(" ".join(paragraph) for paragraph in paragraphs)


def _listing(phrases: list[str]) -> str:
    return phrases[0] if len(phrases) == 1 else f"{', '.join(phrases[:-1])} and {phrases[-1]}"


def _fill(rng: random.Random, template: str, topics: list[str]) -> str:
    a, b, c = rng.sample(topics, 3)
    sentence = template.format(a=a, b=b, c=c)
    return sentence[0].upper() + sentence[1:]


class _Deck:
    """Templates drawn in a shuffled order, each once before any repeats."""

    def __init__(self, rng: random.Random, templates: Sequence[str]) -> None:
        self._rng, self._templates, self._left = rng, list(templates), []

    def draw(self) -> str:
        if not self._left:
            self._left = self._rng.sample(self._templates, len(self._templates))
        return self._left.pop()
