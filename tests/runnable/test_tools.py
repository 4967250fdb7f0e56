"""ToolRegistry: schemas from type hints, OpenAI specs, and calls that never crash a turn."""

from __future__ import annotations

import asyncio
import json
from typing import Any, Literal

import pydantic
import pytest

from runnable.chat.completion import ToolCall
from runnable.errors import ServiceDefinitionError
from runnable.tools import ToolRegistry, run_tool_calls


class Place(pydantic.BaseModel):
    city: str
    country: str = "NO"


def weather(place: Place, unit: Literal["C", "F"] = "C") -> dict[str, Any]:
    """The weather at a place now."""
    return {"city": place.city, "temperature": 12, "unit": unit}


async def shout(text: str) -> str:
    """Say it loudly."""
    await asyncio.sleep(0)
    return text.upper()


def broken(x: int) -> int:
    """Always fails."""
    raise ValueError(f"no luck with {x} (key sk-abcdefghijklmnopqrstuvwx)")


def call(name: str, arguments: Any, call_id: str = "c1") -> ToolCall:
    text = arguments if isinstance(arguments, str) else json.dumps(arguments)
    return ToolCall(id=call_id, name=name, arguments=text)


def test_register_returns_the_openai_spec_with_the_schema_from_type_hints() -> None:
    tools = ToolRegistry()
    spec = tools.add(weather)
    assert spec["type"] == "function"
    function = spec["function"]
    assert function["name"] == "weather"
    assert function["description"] == "The weather at a place now."
    parameters = function["parameters"]
    assert parameters["required"] == ["place"]
    assert parameters["properties"]["unit"]["enum"] == ["C", "F"]
    assert parameters["properties"]["unit"]["default"] == "C"
    assert parameters["properties"]["place"]["$ref"] == "#/$defs/Place"
    assert parameters["$defs"]["Place"]["required"] == ["city"]
    assert parameters["additionalProperties"] is False
    assert tools.specs() == [spec]


def test_register_works_as_a_decorator_with_a_name_and_approval() -> None:
    tools = ToolRegistry()

    @tools.register(name="send_mail", requires_approval=True)
    def send(to: str) -> str:
        """Send a mail."""
        return "sent"

    assert send("x") == "sent"
    assert [s["function"]["name"] for s in tools.specs()] == ["send_mail"]
    assert tools.requires_approval("send_mail") and not tools.requires_approval("other")


def test_a_second_tool_with_the_same_name_is_refused_naming_it() -> None:
    tools = ToolRegistry([weather])
    with pytest.raises(ServiceDefinitionError, match="'weather' is already registered"):
        tools.register(weather)


def test_a_name_the_api_would_refuse_is_refused() -> None:
    with pytest.raises(ServiceDefinitionError, match="tool name 'two words'"):
        ToolRegistry().register(weather, name="two words")


async def test_a_plain_function_runs_and_its_result_is_json_text() -> None:
    result = await ToolRegistry([weather]).run(call("weather", {"place": {"city": "Oslo"}}))
    assert result.ok
    assert json.loads(result.content) == {"city": "Oslo", "temperature": 12, "unit": "C"}
    assert result.message().model_dump(exclude_none=True) == {
        "role": "tool",
        "content": result.content,
        "resources": [],
        "tool_call_id": "c1",
    }


async def test_an_async_function_runs_and_a_string_result_is_sent_as_it_is() -> None:
    result = await ToolRegistry([shout]).run(call("shout", {"text": "hi"}))
    assert (result.ok, result.content) == (True, "HI")


async def test_a_tool_that_raises_becomes_an_error_answer_without_the_secret() -> None:
    result = await ToolRegistry([broken]).run(call("broken", {"x": 3}))
    assert not result.ok
    assert result.content.startswith("error: broken raised ValueError: no luck with 3")
    assert "sk-abcdefghijklmnopqrstuvwx" not in result.content


async def test_arguments_that_fail_the_schema_are_reported_naming_each_problem() -> None:
    result = await ToolRegistry([weather]).run(
        call("weather", {"place": {"country": "IT"}, "unit": "K"})
    )
    assert not result.ok
    assert "invalid arguments for weather" in result.content
    assert "place.city: Field required" in result.content
    assert "unit: Input should be 'C' or 'F'" in result.content


async def test_arguments_that_are_not_json_are_reported() -> None:
    result = await ToolRegistry([weather]).run(call("weather", '{"place": '))
    assert not result.ok and "are not JSON" in result.content


async def test_a_call_to_an_unknown_tool_is_reported_with_the_known_ones() -> None:
    result = await ToolRegistry([weather]).run(call("rain", {}))
    assert not result.ok and "no tool named 'rain' (tools: weather)" in result.content


async def test_calls_run_concurrently() -> None:
    barrier = asyncio.Barrier(2)

    async def meet(who: str) -> str:
        """Waits for the other call."""
        await asyncio.wait_for(barrier.wait(), 2)
        return who

    tools = ToolRegistry([meet])
    calls = [call("meet", {"who": "a"}, "1"), call("meet", {"who": "b"}, "2")]
    results = [r async for r in run_tool_calls(tools, calls)]
    assert sorted(r.content for r in results) == ["a", "b"]
    assert all(r.ok for r in results)


async def test_a_tool_needing_approval_is_refused_where_nobody_can_approve() -> None:
    tools = ToolRegistry()
    tools.register(shout, requires_approval=True)
    (result,) = [r async for r in run_tool_calls(tools, [call("shout", {"text": "x"})])]
    assert not result.ok and "needs a person's approval" in result.content
