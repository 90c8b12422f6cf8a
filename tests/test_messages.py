"""How the planner's error messages cut long values: a value quoted by a validator is cut to its start and
its length, and nothing else is (oracle: the messages written out by hand)."""

from __future__ import annotations

from sim.scenario.messages import ECHO_LIMIT, cut_long_quotes


def test_a_long_quoted_value_is_cut_to_its_start_and_length():
    value = "x" * 1_000_000
    assert cut_long_quotes(f"'{value}' is not a distribution") == \
        f"'{'x' * ECHO_LIMIT}...' (1,000,000 characters) is not a distribution"


def test_the_words_between_two_short_quoted_values_are_left_alone():
    """The words between the closing quote of one value and the opening quote of the next are not a value."""
    words = "is not one of the names this stream knows, which are, in the order they were written, "
    message = f"'maghreb' {words}'other' and 'all'"
    assert len(words) > ECHO_LIMIT
    assert cut_long_quotes(message) == message


def test_an_apostrophe_in_a_word_opens_no_value():
    message = "the stream's origin groups don't sum to one: " + "a" * (ECHO_LIMIT + 5) + " 'x'"
    assert cut_long_quotes(message) == message
