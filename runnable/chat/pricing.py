"""Token prices per model and the cost of a call."""

from __future__ import annotations

from collections.abc import Mapping

import attrs

__all__ = ["DEFAULT_PRICES", "ModelPrice", "PriceTable"]


@attrs.frozen(slots=True)
class ModelPrice:
    """USD per million input (prompt) and output (completion) tokens."""

    input_per_million: float
    output_per_million: float

    def cost(self, tokens_in: int, tokens_out: int) -> float:
        """The price of one call with these token counts, in USD."""
        return (
            tokens_in * self.input_per_million + tokens_out * self.output_per_million
        ) / 1_000_000


PriceLike = ModelPrice | tuple[float, float] | Mapping[str, float]


def _as_price(model: str, value: PriceLike) -> ModelPrice:
    if isinstance(value, ModelPrice):
        return value
    if isinstance(value, tuple) and len(value) == 2:
        return ModelPrice(float(value[0]), float(value[1]))
    if isinstance(value, Mapping) and {"input_per_million", "output_per_million"} <= set(value):
        return ModelPrice(float(value["input_per_million"]), float(value["output_per_million"]))
    raise TypeError(
        f"price for model {model!r} must be a ModelPrice, an (input, output) pair or a mapping "
        f"with input_per_million and output_per_million; got {value!r}"
    )


@attrs.frozen(slots=True)
class PriceTable:
    """Prices by model name; a dated or namespaced model falls back to its base name.

    `gpt-4o-2024-08-06` is priced as `gpt-4o` and `openai/gpt-4o-mini` as `gpt-4o-mini`
    unless the table names them; the longest known prefix wins.
    """

    prices: Mapping[str, ModelPrice] = attrs.field(factory=dict)

    @classmethod
    def of(cls, prices: PriceTable | Mapping[str, PriceLike] | None) -> PriceTable:
        """A table from a table, a mapping of prices, or None (the empty table)."""
        if isinstance(prices, PriceTable):
            return prices
        if prices is None:
            return cls()
        return cls({model: _as_price(model, value) for model, value in prices.items()})

    def merged(self, other: PriceTable | Mapping[str, PriceLike]) -> PriceTable:
        """A table with `other`'s prices on top of these."""
        return PriceTable({**self.prices, **PriceTable.of(other).prices})

    def price_for(self, model: str) -> ModelPrice | None:
        """The price of `model`, or None when the table does not know it."""
        for name in (model, model.rpartition("/")[2]):
            if name in self.prices:
                return self.prices[name]
        base = model.rpartition("/")[2]
        best: str | None = None
        for known in self.prices:
            if base.startswith(known + "-") and (best is None or len(known) > len(best)):
                best = known
        return self.prices[best] if best is not None else None

    def cost(self, model: str | None, tokens_in: int, tokens_out: int) -> float | None:
        """The USD cost of a call, or None when the model has no price."""
        price = self.price_for(model) if model else None
        return price.cost(tokens_in, tokens_out) if price is not None else None


# List prices (USD per 1M tokens) published by OpenAI, mid-2025. They change: pass
# `prices=` to a ChatProvider to correct or extend them.
DEFAULT_PRICES = PriceTable.of(
    {
        "gpt-4o": (2.50, 10.00),
        "gpt-4o-mini": (0.15, 0.60),
        "gpt-4.1": (2.00, 8.00),
        "gpt-4.1-mini": (0.40, 1.60),
        "gpt-4.1-nano": (0.10, 0.40),
        "gpt-4-turbo": (10.00, 30.00),
        "gpt-3.5-turbo": (0.50, 1.50),
        "o3-mini": (1.10, 4.40),
        "o4-mini": (1.10, 4.40),
    }
)
