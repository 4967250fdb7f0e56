"""`ChatProvider`: OpenAI-compatible chat completions over httpx, plain or streamed (SSE).

Retries (exponential backoff with jitter, honouring Retry-After) happen only before the
first byte of an answer: a stream that has started is never repeated. Cancelling the task
that awaits a call or iterates a stream closes the HTTP response at once. The API key
lives in a `SecretStr`; it is sent in the Authorization header and nowhere else, and is
scrubbed from any text the provider echoes back into an error.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any

import httpx
from httpx_sse import EventSource
from pydantic import BaseModel, SecretStr

from runnable.completion import ChatCompletion, ChatDelta, ChatDone, ChatStreamEvent, TokenUsage
from runnable.exec_errors import (
    ProviderConnectionError,
    ProviderError,
    ProviderInputError,
    ProviderRateLimitError,
    ProviderStatusError,
    ProviderStreamError,
    ProviderTimeoutError,
)
from runnable.pricing import DEFAULT_PRICES, PriceLike, PriceTable
from runnable.retry import RetryPolicy, is_retryable_status, parse_retry_after

__all__ = ["ChatProvider", "MessageLike"]

logger = logging.getLogger(__name__)

MessageLike = Mapping[str, Any] | BaseModel

_REDACTED = "[redacted]"
_RESERVED_SETTINGS = ("messages", "stream")


def _describe_transport_error(exc: httpx.TransportError) -> str:
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _error_message(response: httpx.Response) -> tuple[str, str | None]:
    """The provider's own words for an error response, and its error type when given."""
    content_type = response.headers.get("content-type", "")
    text = response.text
    if "html" in content_type or text.lstrip().startswith("<"):
        return "an HTML page instead of an API answer (is the base URL right?)", None
    try:
        payload = json.loads(text)
    except ValueError:
        return (text.strip()[:300] or response.reason_phrase or "no details"), None
    if isinstance(payload, Mapping):
        error = payload.get("error", payload.get("detail", payload))
        if isinstance(error, Mapping):
            message = error.get("message") or error.get("detail") or json.dumps(error)[:300]
            error_type = error.get("type") or error.get("code")
            return str(message), str(error_type) if error_type else None
        if isinstance(error, str):
            return error, None
    return json.dumps(payload)[:300], None


def _message_dict(message: MessageLike, index: int) -> dict[str, Any]:
    if isinstance(message, BaseModel):
        data: Any = message.model_dump(mode="json", exclude_none=True)
    elif isinstance(message, Mapping):
        data = dict(message)
    else:
        raise ProviderInputError(
            f"message {index} is a {type(message).__name__}; expected a mapping with a role"
        )
    if not isinstance(data.get("role"), str) or not data["role"]:
        raise ProviderInputError(f"message {index} has no role: {data!r:.200}")
    return dict(data)


class ChatProvider:
    """A client for one OpenAI-compatible chat completions endpoint (`base_url`/chat/completions).

    `timeout` bounds connecting and each wait for data (so a slow stream may run longer,
    but never stalls longer). `prices` (per-million-token USD by model) extend the
    built-in table; pass a `PriceTable` to replace it.
    """

    def __init__(
        self,
        base_url: str,
        api_key: str | SecretStr | None = None,
        *,
        model: str | None = None,
        timeout: float | httpx.Timeout = 60.0,
        max_retries: int | None = None,
        retry: RetryPolicy | None = None,
        prices: PriceTable | Mapping[str, PriceLike] | None = None,
        headers: Mapping[str, str] | None = None,
        client: httpx.AsyncClient | None = None,
        stream_usage: bool = True,
    ) -> None:
        url = httpx.URL(base_url)
        if url.scheme not in ("http", "https") or not url.host:
            raise ProviderInputError(f"base_url must be an http(s) URL, got {base_url!r}")
        self.base_url = base_url.rstrip("/")
        self.model = model
        self._api_key = (
            api_key if isinstance(api_key, SecretStr) or api_key is None else (SecretStr(api_key))
        )
        self._timeout = timeout if isinstance(timeout, httpx.Timeout) else httpx.Timeout(timeout)
        policy = retry or RetryPolicy()
        if max_retries is not None:
            policy = RetryPolicy(
                max_retries=max_retries,
                backoff_base=policy.backoff_base,
                backoff_max=policy.backoff_max,
                jitter=policy.jitter,
                max_retry_after=policy.max_retry_after,
            )
        self.retry = policy
        if isinstance(prices, PriceTable):
            self.prices = prices
        else:
            self.prices = DEFAULT_PRICES.merged(prices or {})
        self._headers = dict(headers or {})
        self._client = client
        self._owns_client = client is None
        self._stream_usage = stream_usage

    @property
    def url(self) -> str:
        """The chat completions endpoint."""
        return f"{self.base_url}/chat/completions"

    def __repr__(self) -> str:
        key = "None" if self._api_key is None else repr(self._api_key)
        return f"ChatProvider(base_url={self.base_url!r}, model={self.model!r}, api_key={key})"

    async def aclose(self) -> None:
        """Close the HTTP client if this provider made it."""
        if self._client is not None and self._owns_client:
            await self._client.aclose()
            self._client = None

    async def __aenter__(self) -> ChatProvider:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def complete(
        self, messages: Sequence[MessageLike], *, model: str | None = None, **settings: Any
    ) -> ChatCompletion:
        """Send `messages` and return the whole answer; `settings` go into the request body."""
        body = self._body(messages, model, settings, stream=False)
        started = time.perf_counter()
        response = await self._send(body)
        try:
            await response.aread()
        except httpx.TimeoutException:
            raise self._read_timeout() from None
        except httpx.TransportError as exc:
            message = f"the answer from {self.url} broke off: {_describe_transport_error(exc)}"
            raise ProviderConnectionError(self._redact(message)) from None
        finally:
            await response.aclose()
        elapsed_ms = (time.perf_counter() - started) * 1000
        return self._completion_from_payload(self._json(response), elapsed_ms)

    def stream(
        self, messages: Sequence[MessageLike], *, model: str | None = None, **settings: Any
    ) -> AsyncIterator[ChatStreamEvent]:
        """Stream the answer: `ChatDelta` events in order, then one `ChatDone`.

        Bad messages or settings raise here, before anything is sent. Close the iterator
        (`contextlib.aclosing`) if you stop reading early; cancelling the reading task
        closes it too.
        """
        body = self._body(messages, model, settings, stream=True)
        return self._stream(body)

    async def _stream(self, body: bytes) -> AsyncIterator[ChatStreamEvent]:
        started = time.perf_counter()
        response = await self._send(body)
        try:
            if "text/event-stream" not in response.headers.get("content-type", ""):
                # A server that ignores `stream` answers in one piece.
                await response.aread()
                elapsed = (time.perf_counter() - started) * 1000
                completion = self._completion_from_payload(self._json(response), elapsed)
                if completion.text:
                    yield ChatDelta(text=completion.text)
                yield ChatDone(completion=completion)
                return
            async for event in self._read_events(response, started):
                yield event
        except httpx.TimeoutException:
            raise self._read_timeout() from None
        except httpx.TransportError as exc:
            message = f"the stream from {self.url} broke off: {_describe_transport_error(exc)}"
            raise ProviderStreamError(self._redact(message)) from None
        finally:
            await response.aclose()

    async def _read_events(
        self, response: httpx.Response, started: float
    ) -> AsyncIterator[ChatStreamEvent]:
        parts: list[str] = []
        finish_reason: str | None = None
        usage: TokenUsage | None = None
        model: str | None = None
        ttft_ms: float | None = None
        saw_done = False
        async for sse in EventSource(response).aiter_sse():
            data = sse.data.strip()
            if data == "[DONE]":
                saw_done = True
                break
            if not data:
                continue
            try:
                chunk = json.loads(data)
            except ValueError:
                message = f"unreadable chunk in the stream from {self.url}: {data[:200]!r}"
                raise ProviderStreamError(self._redact(message)) from None
            if not isinstance(chunk, Mapping):
                continue
            if chunk.get("error"):
                error = chunk["error"]
                text = error.get("message") if isinstance(error, Mapping) else error
                raise ProviderStreamError(
                    self._redact(f"the provider reported an error mid-stream: {text}")
                )
            model = chunk.get("model") or model
            usage = self._usage(chunk.get("usage")) or usage
            for choice in chunk.get("choices") or ():
                if not isinstance(choice, Mapping) or choice.get("index", 0) != 0:
                    continue
                content = (choice.get("delta") or {}).get("content")
                if isinstance(content, str) and content:
                    if ttft_ms is None:
                        ttft_ms = (time.perf_counter() - started) * 1000
                    parts.append(content)
                    yield ChatDelta(text=content)
                finish_reason = choice.get("finish_reason") or finish_reason
        if not saw_done and finish_reason is None:
            raise ProviderStreamError(
                f"the stream from {self.url} ended before the model finished "
                "(no finish_reason and no [DONE])"
            )
        yield ChatDone(
            completion=self._completion(
                "".join(parts),
                model,
                finish_reason,
                usage,
                ttft_ms,
                (time.perf_counter() - started) * 1000,
            )
        )

    def _body(
        self,
        messages: Sequence[MessageLike],
        model: str | None,
        settings: Mapping[str, Any],
        *,
        stream: bool,
    ) -> bytes:
        chosen = model or self.model
        if not chosen:
            raise ProviderInputError("no model to call: pass model= to ChatProvider or the call")
        if isinstance(messages, (str, bytes)) or not messages:
            raise ProviderInputError("messages must be a non-empty list of chat messages")
        for reserved in _RESERVED_SETTINGS:
            if reserved in settings:
                raise ProviderInputError(
                    f"{reserved!r} is not a setting: use complete() or stream() instead"
                )
        body: dict[str, Any] = {
            "model": chosen,
            "messages": [_message_dict(m, i) for i, m in enumerate(messages)],
        }
        body.update({key: value for key, value in settings.items() if value is not None})
        if stream:
            body["stream"] = True
            if self._stream_usage:
                body.setdefault("stream_options", {"include_usage": True})
        try:
            return json.dumps(body).encode()
        except (TypeError, ValueError) as exc:
            raise ProviderInputError(f"messages or settings are not JSON: {exc}") from None

    def _request_headers(self) -> dict[str, str]:
        headers = {
            **self._headers,
            "content-type": "application/json",
            "accept": "application/json, text/event-stream",
        }
        if self._api_key is not None:
            headers["authorization"] = f"Bearer {self._api_key.get_secret_value()}"
        return headers

    def _get_client(self) -> httpx.AsyncClient:
        if self._client is None:
            self._client = httpx.AsyncClient(timeout=self._timeout)
        return self._client

    async def _send(self, body: bytes) -> httpx.Response:
        """POST `body`, retrying what is worth retrying; returns an open, successful response."""
        client = self._get_client()
        attempt = 0
        while True:
            request = client.build_request(
                "POST",
                self.url,
                content=body,
                headers=self._request_headers(),
                timeout=self._timeout,
            )
            retry_after: float | None = None
            error: ProviderError
            try:
                response = await client.send(request, stream=True)
            except httpx.TimeoutException as exc:
                # Only a request that never reached the server is safe to repeat here.
                retryable = isinstance(exc, (httpx.ConnectTimeout, httpx.PoolTimeout))
                error = ProviderTimeoutError(
                    f"{self.url} did not answer within the timeout ({type(exc).__name__})"
                )
            except httpx.TransportError as exc:
                retryable = isinstance(exc, httpx.ConnectError)
                error = ProviderConnectionError(
                    self._redact(f"could not reach {self.url}: {_describe_transport_error(exc)}")
                )
            else:
                if response.status_code < 400:
                    return response
                try:
                    await response.aread()
                finally:
                    await response.aclose()
                retryable = is_retryable_status(response.status_code)
                retry_after = parse_retry_after(response.headers)
                note = ""
                if retry_after is not None and retry_after > self.retry.max_retry_after:
                    note = (
                        f" (asked to retry after {retry_after:.0f}s, more than "
                        f"max_retry_after={self.retry.max_retry_after:.0f}s)"
                    )
                error = self._status_error(response, attempt, note)
            delay = self.retry.delay(attempt, retry_after) if retryable else None
            if delay is None:
                raise error
            logger.info(
                "chat completion to %s failed (%s); retry %d of %d in %.2fs",
                self.url,
                error.message,
                attempt + 1,
                self.retry.max_retries,
                delay,
            )
            await asyncio.sleep(delay)
            attempt += 1

    def _status_error(
        self, response: httpx.Response, attempt: int, note: str = ""
    ) -> ProviderStatusError:
        status = response.status_code
        detail, error_type = _error_message(response)
        tries = f" (after {attempt + 1} attempts)" if attempt else ""
        message = self._redact(f"{self.url} answered HTTP {status}: {detail}{tries}{note}")
        cls = ProviderRateLimitError if status == 429 else ProviderStatusError
        return cls(
            message,
            status_code=status,
            error_type=error_type,
            retryable=is_retryable_status(status),
        )

    def _json(self, response: httpx.Response) -> Any:
        try:
            return response.json()
        except ValueError:
            message = (
                f"{self.url} answered with something that is not JSON: {response.text[:200]!r}"
            )
            raise ProviderError(self._redact(message), status_code=response.status_code) from None

    def _read_timeout(self) -> ProviderTimeoutError:
        return ProviderTimeoutError(
            f"{self.url} sent nothing for {self._timeout.read}s while answering (read timeout)"
        )

    def _redact(self, text: str) -> str:
        if self._api_key is not None:
            secret = self._api_key.get_secret_value()
            if secret:
                text = text.replace(secret, _REDACTED)
        return text

    @staticmethod
    def _usage(raw: Any) -> TokenUsage | None:
        if not isinstance(raw, Mapping):
            return None
        return TokenUsage(
            tokens_in=int(raw.get("prompt_tokens") or 0),
            tokens_out=int(raw.get("completion_tokens") or 0),
        )

    def _completion(
        self,
        text: str,
        model: str | None,
        finish_reason: str | None,
        usage: TokenUsage | None,
        ttft_ms: float | None,
        latency_ms: float,
    ) -> ChatCompletion:
        cost = None
        if usage is not None:
            cost = self.prices.cost(model, usage.tokens_in, usage.tokens_out)
        return ChatCompletion(
            text=text,
            model=model,
            finish_reason=finish_reason,
            usage=usage,
            cost=cost,
            ttft_ms=ttft_ms,
            latency_ms=latency_ms,
        )

    def _completion_from_payload(self, payload: Any, elapsed_ms: float) -> ChatCompletion:
        choices = payload.get("choices") if isinstance(payload, Mapping) else None
        if not choices or not isinstance(choices[0], Mapping):
            raise ProviderError(
                self._redact(f"{self.url} answered without choices: {json.dumps(payload)[:200]}")
            )
        message = choices[0].get("message") or {}
        content = message.get("content")
        if isinstance(content, list):
            # Some compatible servers answer with content parts.
            content = "".join(
                str(part.get("text", "")) for part in content if isinstance(part, Mapping)
            )
        return self._completion(
            content if isinstance(content, str) else "",
            payload.get("model"),
            choices[0].get("finish_reason"),
            self._usage(payload.get("usage")),
            elapsed_ms,
            elapsed_ms,
        )
