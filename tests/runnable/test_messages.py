"""Tests of turn messages: first-turn merge, later turns, resources and attachments."""

import re
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from runnable.errors import MessageError
from runnable.messages import (
    ChatMessage,
    ImagePart,
    Resource,
    TextPart,
    build_turn_messages,
    render_resource_block,
    resource_attachment,
    to_provider_messages,
)

SYSTEM = {"role": "system", "content": "You answer questions about {{topic}}."}
USER = {"role": "user", "content": "Context: {{context}}"}
VARIABLES = {"topic": "tides", "context": "the moon"}


def test_first_turn_renders_every_template_message() -> None:
    messages = build_turn_messages([SYSTEM, USER], VARIABLES)
    assert [m.content for m in messages] == [
        "You answer questions about tides.",
        "Context: the moon",
    ]


def test_first_turn_appends_input_to_a_last_user_template_after_a_blank_line() -> None:
    messages = build_turn_messages([SYSTEM, USER], VARIABLES, user_input="Why two a day?")
    assert len(messages) == 2
    assert messages[-1] == ChatMessage(role="user", content="Context: the moon\n\nWhy two a day?")


def test_first_turn_sends_input_as_a_new_user_message_after_a_non_user_template() -> None:
    messages = build_turn_messages([SYSTEM], VARIABLES, user_input="Hi")
    assert [(m.role, m.content) for m in messages] == [
        ("system", "You answer questions about tides."),
        ("user", "Hi"),
    ]


def test_user_input_is_never_rendered_as_a_template() -> None:
    messages = build_turn_messages([SYSTEM, USER], VARIABLES, user_input="What is {{topic}}?")
    assert messages[-1].content == "Context: the moon\n\nWhat is {{topic}}?"


def test_template_formats_are_honoured() -> None:
    template = [{"role": "user", "content": "{% for x in xs %}{{ x }} {% endfor %}"}]
    (message,) = build_turn_messages(template, {"xs": [1, 2]}, format="jinja2")
    assert message.content == "1 2 "


def test_text_parts_of_template_messages_are_rendered_and_images_kept() -> None:
    template = [
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "Describe {{thing}}"},
                {"type": "image_url", "image_url": {"url": "https://img.test/a.png"}},
            ],
        }
    ]
    (message,) = build_turn_messages(template, {"thing": "this"}, user_input="briefly")
    assert isinstance(message.content, list)
    assert message.content[0] == TextPart(text="Describe this")
    assert isinstance(message.content[1], ImagePart)
    assert message.content[2] == TextPart(text="briefly")


def test_later_turns_send_history_plus_the_new_message_without_re_rendering() -> None:
    history = [
        {"role": "system", "content": "About {{topic}}"},
        {"role": "user", "content": "first"},
        {"role": "assistant", "content": "reply"},
    ]
    messages = build_turn_messages([SYSTEM], VARIABLES, history=history, user_input="second")
    assert [(m.role, m.content) for m in messages] == [
        ("system", "About {{topic}}"),
        ("user", "first"),
        ("assistant", "reply"),
        ("user", "second"),
    ]


def test_a_later_turn_without_input_or_resources_is_the_history() -> None:
    history = [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}]
    assert len(build_turn_messages([], {}, history=history)) == 2


def test_nothing_to_send_is_an_error() -> None:
    with pytest.raises(MessageError, match="nothing to send"):
        build_turn_messages([], {})


def test_an_unknown_role_is_refused() -> None:
    with pytest.raises(ValueError, match="role"):
        build_turn_messages([{"role": "wizard", "content": "x"}], {})


# --- resources -----------------------------------------------------------------------------


def test_a_resource_renders_as_an_escaped_block() -> None:
    block = render_resource_block(Resource(kind="note", name='A "note"', content="a < b & c"))
    assert (
        block == '<resource kind="note" name="A &quot;note&quot;">\na &lt; b &amp; c\n</resource>'
    )


def test_a_table_resource_is_sent_as_json() -> None:
    block = render_resource_block({"kind": "table", "content": [{"a": 1}]})
    assert '[{"a": 1}]' in block


@given(st.text(alphabet=st.sampled_from(list("<>/\"'&= resourcekindsystem\n")), max_size=60))
def test_resource_text_cannot_close_the_block_or_open_another(text: str) -> None:
    block = render_resource_block(Resource(kind="text", name=text, content=text))
    assert block.count("<resource ") == 1
    assert block.count("</resource>") == 1
    assert block.endswith("\n</resource>")
    assert re.fullmatch(r'<resource kind="text" name="[^"<>]*">\n[^<>]*\n</resource>', block)


def test_resources_ride_on_the_turn_user_message_and_render_as_blocks() -> None:
    note = Resource(kind="note", name="n", content="{{topic}} stays literal")
    messages = build_turn_messages([SYSTEM, USER], VARIABLES, user_input="Q", resources=[note])
    payload = to_provider_messages(messages)
    assert payload[-1] == {
        "role": "user",
        "content": (
            "Context: the moon\n\nQ\n\n"
            '<resource kind="note" name="n">\n{{topic}} stays literal\n</resource>'
        ),
    }


def test_resources_without_input_still_make_a_user_message() -> None:
    messages = build_turn_messages([SYSTEM], VARIABLES, resources=[{"content": "doc"}])
    assert messages[-1].role == "user"
    assert "doc" in to_provider_messages(messages)[-1]["content"]


def test_image_and_url_resources_become_attachments_never_dropped() -> None:
    resources = [
        Resource(kind="image", name="chart", url="https://img.test/c.png", detail="low"),
        Resource(kind="url", name="page", url="https://docs.test/page?a=1&b=2"),
        Resource(kind="file", name="r.pdf", url="data:application/pdf;base64,AAAA"),
    ]
    messages = build_turn_messages([SYSTEM], VARIABLES, user_input="Look", resources=resources)
    content = to_provider_messages(messages)[-1]["content"]
    assert content == [
        {"type": "text", "text": "Look"},
        {"type": "image_url", "image_url": {"url": "https://img.test/c.png", "detail": "low"}},
        {
            "type": "text",
            "text": '<resource kind="url" name="page" url="https://docs.test/page?a=1&amp;b=2">'
            "\n\n</resource>",
        },
        {
            "type": "file",
            "file": {"file_data": "data:application/pdf;base64,AAAA", "filename": "r.pdf"},
        },
    ]


@pytest.mark.parametrize(
    "resource",
    [
        Resource(kind="url", url="https://x.test/pic.JPG"),
        Resource(kind="file", url="data:image/png;base64,AA"),
        Resource(kind="file", url="https://x.test/blob", mime_type="image/webp"),
    ],
)
def test_images_are_recognised_by_suffix_data_url_or_mime_type(resource: Resource) -> None:
    assert isinstance(resource_attachment(resource), ImagePart)


def test_an_image_without_a_url_is_an_error_not_a_silent_drop() -> None:
    with pytest.raises(MessageError, match="'logo' has no url"):
        to_provider_messages(
            [ChatMessage(role="user", resources=[Resource(kind="image", name="logo")])]
        )


def test_only_kept_resources_stay_on_later_turns() -> None:
    kept = Resource(kind="note", name="kept", content="K", keep=True)
    once = Resource(kind="note", name="once", content="O")
    turn1 = build_turn_messages([SYSTEM], VARIABLES, user_input="one", resources=[kept, once])
    history = [*turn1, ChatMessage(role="assistant", content="ok")]
    turn2 = build_turn_messages([SYSTEM], VARIABLES, history=history, user_input="two")
    payload = to_provider_messages(turn2)
    first_user = payload[1]["content"]
    assert 'name="kept"' in first_user and 'name="once"' not in first_user
    assert payload[-1] == {"role": "user", "content": "two"}
    # On its own turn, both were sent.
    assert 'name="once"' in to_provider_messages(turn1)[-1]["content"]


def test_extra_message_fields_pass_through_to_the_provider() -> None:
    message: dict[str, Any] = {
        "role": "assistant",
        "content": None,
        "tool_calls": [{"id": "c1", "type": "function"}],
    }
    (payload,) = to_provider_messages([message])
    assert payload == {"role": "assistant", "content": None, "tool_calls": message["tool_calls"]}


def test_messages_round_trip_through_json() -> None:
    message = ChatMessage(
        role="user",
        content=[TextPart(text="hi")],
        resources=[Resource(kind="url", url="https://x.test", keep=True)],
    )
    assert ChatMessage.model_validate_json(message.model_dump_json()) == message
