"""The other resources of the synchronous facade (loaded on first use, as the async ones are)."""

from __future__ import annotations

from .._resources.account import CreditsResource as AsyncCredits
from .._resources.account import KeyResource as AsyncKey
from .._resources.embeddings import Embeddings as AsyncEmbeddings
from .._resources.generations import Generations as AsyncGenerations
from .._resources.models import Models as AsyncModels
from .._resources.providers import Providers as AsyncProviders
from ._facade import Facade, blocking, iterating

__all__ = ["CreditsResource", "Embeddings", "Generations", "KeyResource", "Models", "Providers"]


class Models(Facade[AsyncModels]):
    """``client.models``."""

    list = blocking(AsyncModels.list)
    iter = iterating(AsyncModels.iter)
    count = blocking(AsyncModels.count)
    endpoints = blocking(AsyncModels.endpoints)


class Generations(Facade[AsyncGenerations]):
    """``client.generations``."""

    get = blocking(AsyncGenerations.get)


class Providers(Facade[AsyncProviders]):
    """``client.providers``."""

    list = blocking(AsyncProviders.list)


class CreditsResource(Facade[AsyncCredits]):
    """``client.credits`` (needs a management key)."""

    get = blocking(AsyncCredits.get)


class KeyResource(Facade[AsyncKey]):
    """``client.key``."""

    get = blocking(AsyncKey.get)


class Embeddings(Facade[AsyncEmbeddings]):
    """``client.embeddings``."""

    create = blocking(AsyncEmbeddings.create)
