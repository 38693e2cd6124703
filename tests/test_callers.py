"""Callers' numbers: one spelling per number before hashing, so repeat callers match across sources."""

import pytest

from qingzhi.core.callers import hash_caller, normalise_number


@pytest.mark.parametrize("spelling", ["+86 138-0013-8000", "13800138000", "0086 13800138000", "+8613800138000"])
def test_spellings_of_one_mobile_number_hash_alike(spelling: str) -> None:
    assert normalise_number(spelling) == "+8613800138000"
    assert hash_caller("k", spelling) == hash_caller("k", "138 0013 8000")


def test_different_numbers_and_keys_hash_differently() -> None:
    assert hash_caller("k", "13800138000") != hash_caller("k", "13800138001")
    assert hash_caller("k", "13800138000") != hash_caller("other", "13800138000")


def test_blank_number_has_no_hash_and_the_hash_hides_the_number() -> None:
    assert hash_caller("k", "  ") is None and hash_caller("k", None) is None
    assert "13800138000" not in hash_caller("k", "13800138000")


def test_unparseable_number_falls_back_to_its_digits() -> None:
    assert normalise_number("110") == "110"
