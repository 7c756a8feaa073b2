"""The Upmetr API client, sync and async, with the same namespaces:

from shared.client import Client
with Client("http://127.0.0.1:8080", api_key="upk_...") as api:
    for member in api.users.list().items:
        print(member.email)
"""

from shared.client.clients import AsyncClient, Client
from shared.client.core import USER_AGENT, normalize_base_url
from shared.client.errors import (
    ApiConnectionError,
    ApiError,
    BadRequest,
    ClientError,
    Conflict,
    Forbidden,
    NotFound,
    RateLimited,
    ServerError,
    Unauthorized,
)

__all__ = [
    "USER_AGENT",
    "ApiConnectionError",
    "ApiError",
    "AsyncClient",
    "BadRequest",
    "Client",
    "ClientError",
    "Conflict",
    "Forbidden",
    "NotFound",
    "RateLimited",
    "ServerError",
    "Unauthorized",
    "normalize_base_url",
]
