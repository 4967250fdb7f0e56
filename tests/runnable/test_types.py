"""Tests of the boundary data types: refs, runnables, ports and execution results."""

from datetime import UTC, datetime, timedelta

import pytest
from pydantic import BaseModel, TypeAdapter, ValidationError

from runnable.errors import InvalidRefError, RunnableError
from runnable.types import (
    ErrorInfo,
    ExecutionMetrics,
    ExecutionResult,
    ExecutionStatus,
    RunnableData,
    RunnablePort,
    RunnableRef,
    TraceInfo,
)


def round_trip(model: BaseModel) -> BaseModel:
    return type(model).model_validate_json(model.model_dump_json())


def test_ref_positional_text_and_keywords_are_equal() -> None:
    assert RunnableRef("app_revision", "rev-42") == RunnableRef("app_revision:rev-42")
    assert RunnableRef("app_revision:rev-42") == RunnableRef(kind="app_revision", id="rev-42")


def test_ref_splits_at_the_first_colon_only() -> None:
    ref = RunnableRef("app_revision:urn:rev:42")
    assert (ref.kind, ref.id) == ("app_revision", "urn:rev:42")


def test_ref_without_colon_is_a_bare_id() -> None:
    ref = RunnableRef("rev-42")
    assert ref.kind is None
    assert ref.id == "rev-42"
    assert str(ref) == "rev-42"


def test_ref_str_is_kind_colon_id() -> None:
    assert str(RunnableRef("prompt", "p1")) == "prompt:p1"


def test_ref_validates_from_text_where_a_ref_is_expected() -> None:
    class Holder(BaseModel):
        ref: RunnableRef

    assert Holder.model_validate({"ref": "prompt:p1"}).ref == RunnableRef("prompt", "p1")
    assert TypeAdapter(RunnableRef).validate_python("prompt:p1").kind == "prompt"


@pytest.mark.parametrize("text", [":id", "kind:"])
def test_malformed_ref_text_is_refused_with_its_text(text: str) -> None:
    with pytest.raises(InvalidRefError, match=f"'{text}' is not 'kind:id'"):
        RunnableRef(text)


@pytest.mark.parametrize("text", ["", "  "])
def test_empty_ref_text_is_refused(text: str) -> None:
    with pytest.raises(RunnableError, match="empty"):
        RunnableRef(text)


def test_malformed_ref_text_in_a_payload_is_a_validation_error() -> None:
    with pytest.raises(ValidationError, match="is not 'kind:id'"):
        TypeAdapter(RunnableRef).validate_python("prompt:")


def test_ref_is_hashable_and_frozen() -> None:
    ref = RunnableRef("prompt", "p1")
    assert {ref: 1}[RunnableRef("prompt:p1")] == 1
    with pytest.raises(ValidationError):
        ref.id = "other"


def test_ref_parse_accepts_refs_text_and_dicts() -> None:
    ref = RunnableRef("prompt", "p1")
    assert RunnableRef.parse(ref) is ref
    assert RunnableRef.parse("prompt:p1") == ref
    assert RunnableRef.parse({"kind": "prompt", "id": "p1"}) == ref


def test_ref_round_trips_through_json() -> None:
    ref = RunnableRef("evaluator_revision", "e-1")
    assert round_trip(ref) == ref
    assert round_trip(RunnableRef("bare")) == RunnableRef("bare")


def test_runnable_data_needs_only_id_and_kind() -> None:
    data = RunnableData(id="r1", kind="prompt")
    assert data.configuration == {}
    assert data.schemas.inputs is None
    assert data.ref == RunnableRef("prompt", "r1")


def test_runnable_data_round_trips_through_json() -> None:
    data = RunnableData(
        id="r1",
        kind="app_revision",
        name="Summariser",
        version=3,
        slug="summariser",
        configuration={"temperature": 0.2, "nested": {"a": [1, 2]}},
        invocation_url="http://127.0.0.1:8000/test",
        schemas={"inputs": {"type": "object"}, "outputs": {"type": "string"}},  # type: ignore[arg-type]
    )
    assert round_trip(data) == data


def test_port_needs_only_a_key() -> None:
    port = RunnablePort(key="country")
    assert (port.name, port.type, port.required, port.schema) == (None, "string", False, None)


def test_port_round_trips_through_json_with_its_schema() -> None:
    port = RunnablePort(
        key="n", name="N", type="integer", required=True, schema={"type": "integer"}
    )
    assert round_trip(port) == port
    assert port.model_dump()["schema"] == {"type": "integer"}


def test_status_values_are_the_contract_strings() -> None:
    assert [s.value for s in ExecutionStatus] == [
        "idle",
        "pending",
        "running",
        "success",
        "error",
        "cancelled",
        "skipped",
    ]
    assert ExecutionStatus("success") == "success"


def test_terminal_statuses_are_the_final_ones() -> None:
    terminal = {s for s in ExecutionStatus if s.is_terminal}
    assert terminal == {"success", "error", "cancelled", "skipped"}


def test_execution_result_defaults_to_a_fresh_idle_result() -> None:
    first, second = ExecutionResult(), ExecutionResult()
    assert first.status is ExecutionStatus.IDLE
    assert first.execution_id != second.execution_id
    assert first.metrics == ExecutionMetrics()


def test_execution_result_round_trips_through_json() -> None:
    start = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
    result = ExecutionResult(
        execution_id="x1",
        status="error",  # type: ignore[arg-type]
        started_at=start,
        completed_at=start + timedelta(milliseconds=1500),
        output={"text": "partial"},
        structured_output=[1, {"a": None}],
        error=ErrorInfo(message="boom", type="HTTPError", status_code=502),
        trace=TraceInfo(trace_id="t1", span_id="s1"),
        metrics=ExecutionMetrics(latency_ms=1500.0, ttft_ms=80.5, tokens_in=10, tokens_out=5),
    )
    assert round_trip(result) == result
    assert result.duration_ms == 1500.0


def test_error_accepts_a_plain_message() -> None:
    result = ExecutionResult.model_validate({"status": "error", "error": "timed out"})
    assert result.error == ErrorInfo(message="timed out")


def test_total_tokens_adds_in_and_out_or_is_none() -> None:
    assert ExecutionMetrics(tokens_in=3, tokens_out=4).total_tokens == 7
    assert ExecutionMetrics().total_tokens is None


def test_unknown_status_is_refused() -> None:
    with pytest.raises(ValidationError, match="status"):
        ExecutionResult.model_validate({"status": "done"})


def test_ports_and_runnables_take_their_fields_positionally_as_in_the_contract() -> None:
    port = RunnablePort("country", "Country", "string", True)
    assert (port.key, port.name, port.type, port.required) == ("country", "Country", "string", True)
    data = RunnableData("rev-42", "app_revision", "capitals")
    assert (data.id, data.kind, data.name) == ("rev-42", "app_revision", "capitals")
    assert RunnableData.model_validate_json(data.model_dump_json()) == data
