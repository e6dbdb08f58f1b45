"""One settings object, read from the environment and ``.env`` (SPEC §4.1).

Nothing else in the code reads ``os.environ`` for configuration.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore", populate_by_name=True)

    database_url: str = Field(default="sqlite:///data/councilbot.db", alias="DATABASE_URL")
    index_dir: Path = Field(default=Path("index"), alias="INDEX_DIR")
    export_dir: Path = Field(default=Path("exports"), alias="EXPORT_DIR")

    slack_bot_token: str | None = Field(default=None, alias="SLACK_BOT_TOKEN")
    slack_signing_secret: str | None = Field(default=None, alias="SLACK_SIGNING_SECRET")
    slack_app_token: str | None = Field(default=None, alias="SLACK_APP_TOKEN")
    slack_api_url: str = Field(default="https://slack.com/api/", alias="SLACK_API_URL")
    slack_intake_channel: str | None = Field(default=None, alias="SLACK_INTAKE_CHANNEL")

    llm_provider: Literal["offline", "openai", "azure"] = Field(default="offline", alias="LLM_PROVIDER")
    openai_api_key: str | None = Field(default=None, alias="OPENAI_API_KEY")
    openai_base_url: str | None = Field(default=None, alias="OPENAI_BASE_URL")
    openai_model: str | None = Field(default=None, alias="OPENAI_MODEL")
    azure_openai_endpoint: str | None = Field(default=None, alias="AZURE_OPENAI_ENDPOINT")
    azure_openai_api_version: str | None = Field(default=None, alias="AZURE_OPENAI_API_VERSION")
    # For drafting, the deadline of the whole draft: connecting, retries and the streamed reply together.
    llm_timeout_seconds: float = Field(default=60.0, alias="LLM_TIMEOUT_SECONDS")
    llm_max_retries: int = Field(default=3, alias="LLM_MAX_RETRIES")
    # The model's context window and the room kept for its reply; the prompt is trimmed to fit the rest.
    llm_context_tokens: int = Field(default=32768, gt=0, alias="LLM_CONTEXT_TOKENS")
    llm_max_output_tokens: int = Field(default=2048, gt=0, alias="LLM_MAX_OUTPUT_TOKENS")

    # Semantic search stage (意味検索): local (default: bundled USE multilingual v3, runs in-process,
    # nothing leaves the machine), openai or azure (an embeddings endpoint), or none (keyword search only).
    embeddings_provider: Literal["none", "local", "openai", "azure"] = Field(
        default="local", alias="EMBEDDINGS_PROVIDER"
    )
    embeddings_model: str | None = Field(default=None, alias="EMBEDDINGS_MODEL")
    embeddings_base_url: str | None = Field(default=None, alias="EMBEDDINGS_BASE_URL")
    # Asymmetric models served by a generic server (e5: "query: " / "passage: ") need their prefixes.
    embeddings_query_prefix: str = Field(default="", alias="EMBEDDINGS_QUERY_PREFIX")
    embeddings_passage_prefix: str = Field(default="", alias="EMBEDDINGS_PASSAGE_PREFIX")

    # The city's edited copy of the drafting rules; left unset and absent, the defaults shipped in the package.
    prompts_dir: Path = Field(default=Path("prompts"), alias="PROMPTS_DIR")
    tz_name: str = Field(default="Asia/Tokyo", alias="TZ_NAME")
    # Least severe level the long-running processes (serve, web) write to stderr.
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(default="INFO", alias="LOG_LEVEL")
    # Who acts at the command line: a staff member's chat id (their roles are checked); unset,
    # the server's operator, who holds General Affairs and admin (services.common.cli_user).
    cli_operator: str | None = Field(default=None, alias="COUNCILBOT_OPERATOR")

    # Web view (答弁検討会・進捗の画面). The address staff open; sign-in links sent by chat start with it.
    web_base_url: str = Field(default="http://localhost:8080", alias="WEB_BASE_URL")
    web_link_minutes: int = Field(default=10, ge=1, le=60, alias="WEB_LINK_MINUTES")
    web_session_hours: int = Field(default=8, ge=1, le=24, alias="WEB_SESSION_HOURS")
    # Off unless both are set: the header an authenticating intranet proxy puts the user's id in,
    # and the proxy addresses (IPs or networks, comma-separated) whose header is believed.
    web_trusted_header: str | None = Field(default=None, alias="WEB_TRUSTED_HEADER")
    web_trusted_proxies: str | None = Field(default=None, alias="WEB_TRUSTED_PROXIES")


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
