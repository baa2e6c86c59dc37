"""The stand-in's model: deterministic prose about the prompt, cut by maxTokens or a stop."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from local.standins.bedrock.reply import count_tokens, tokenize, write_reply

PROMPT = "How do retries and dead-letter queues work in Amazon SQS?"


def reply(prompt: str = PROMPT, system: tuple[str, ...] = (), **options: object) -> str:
    return write_reply(system, [prompt], prompt, 10_000, **options).text  # type: ignore[arg-type]


@given(st.text())
def test_tokens_join_back_to_the_text(text: str) -> None:
    assert "".join(tokenize(text)) == text.rstrip()


def test_a_token_is_a_word_or_a_mark_with_its_leading_space() -> None:
    assert tokenize("Hello, world!\n\nIt's 42.") == [
        "Hello",
        ",",
        " world",
        "!",
        "\n\nIt",
        "'",
        "s",
        " 42",
        ".",
    ]
    assert count_tokens(["Hello, world!", "  "]) == 4


@given(st.text(max_size=300), st.text(max_size=100))
def test_the_same_conversation_gives_the_same_reply(prompt: str, system: str) -> None:
    assert reply(prompt, (system,)) == reply(prompt, (system,))


def test_the_reply_is_about_the_prompts_phrases() -> None:
    text = reply()

    assert "retries" in text
    assert "dead-letter queues" in text
    assert "Amazon SQS" in text
    assert reply("Tell me about Kubernetes operators.") != text
    assert reply(system=("Be brief.",)) != text


@given(st.text(max_size=300))
def test_any_prompt_gets_a_few_hundred_tokens_of_sentences(prompt: str) -> None:
    result = write_reply((), [prompt], prompt, 10_000)

    assert 200 <= len(result.tokens) <= 500
    assert result.stop_reason == "end_turn"
    assert result.text[0].isupper()
    assert all(paragraph.endswith(".") for paragraph in result.text.split("\n\n"))


def test_max_tokens_cuts_the_reply_to_that_many_tokens() -> None:
    full = write_reply((), [PROMPT], PROMPT, 10_000)
    cut = write_reply((), [PROMPT], PROMPT, 17)

    assert cut.tokens == full.tokens[:17]
    assert cut.stop_reason == "max_tokens"
    assert write_reply((), [PROMPT], PROMPT, len(full.tokens)).stop_reason == "end_turn"


def test_the_earliest_stop_sequence_ends_the_reply_before_it() -> None:
    full = reply()
    first, later = full.split()[30], full.split()[5]
    result = write_reply((), [PROMPT], PROMPT, 10_000, stop_sequences=[first, later])

    assert result.stop_reason == "stop_sequence"
    assert result.text == full[: min(full.index(first), full.index(later))].rstrip()
