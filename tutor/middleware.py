"""One thread hop per request under ASGI, instead of two per middleware.

Django runs an async-capable ``MiddlewareMixin`` in async mode whenever the handler below it is
async, and then calls each of its ``process_request``/``process_response`` hooks through
``sync_to_async``: with our seven middlewares, about a dozen hops between the event loop and a
thread on every request. A sync-only middleware at the bottom of the list turns the whole chain
above it synchronous, so Django adapts it once. That middleware is this one: WhiteNoise's static
files (sync-only too), last in ``MIDDLEWARE``.
"""

from __future__ import annotations

from whitenoise.middleware import WhiteNoiseMiddleware


class StaticFilesMiddleware(WhiteNoiseMiddleware):
    sync_capable = True
    async_capable = False
