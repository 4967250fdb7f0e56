"""Price tables and the cost of a call."""

from __future__ import annotations

import pytest

from runnable.chat.pricing import DEFAULT_PRICES, ModelPrice, PriceTable


def test_cost_is_per_million_tokens() -> None:
    assert ModelPrice(2.0, 8.0).cost(1_000_000, 500_000) == pytest.approx(6.0)


def test_dated_model_falls_back_to_its_base_price() -> None:
    table = PriceTable.of({"gpt-4o": (2.5, 10), "gpt-4o-mini": (0.15, 0.6)})

    assert table.price_for("gpt-4o-mini-2024-07-18") == ModelPrice(0.15, 0.6)
    assert table.price_for("gpt-4o-2024-08-06") == ModelPrice(2.5, 10)


def test_namespaced_model_uses_the_name_after_the_slash() -> None:
    assert DEFAULT_PRICES.price_for("openai/gpt-4o-mini") == DEFAULT_PRICES.price_for("gpt-4o-mini")


def test_unknown_model_has_no_price_and_no_cost() -> None:
    assert DEFAULT_PRICES.price_for("gpt-4o0") is None
    assert DEFAULT_PRICES.cost("my-model", 10, 10) is None
    assert DEFAULT_PRICES.cost(None, 10, 10) is None


def test_merged_prices_override_the_defaults() -> None:
    table = DEFAULT_PRICES.merged({"gpt-4o": {"input_per_million": 1, "output_per_million": 1}})

    assert table.price_for("gpt-4o") == ModelPrice(1, 1)
    assert table.price_for("gpt-4o-mini") == DEFAULT_PRICES.price_for("gpt-4o-mini")


def test_a_malformed_price_names_its_model() -> None:
    with pytest.raises(TypeError, match="'broken'"):
        PriceTable.of({"broken": (1.0,)})  # type: ignore[dict-item]
