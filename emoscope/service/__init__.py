"""emoscope over HTTP: a FastAPI service (``emoscope serve``) with a web page; needs the ``serve`` extra.

:func:`create_app` builds the app from :class:`ServiceSettings`; see :mod:`emoscope.service.app` for the
endpoints.
"""

from emoscope.service.settings import ServiceSettings


def create_app(settings: ServiceSettings | None = None):  # -> fastapi.FastAPI
    """Build the service (imports FastAPI only when called); see :func:`emoscope.service.app.create_app`."""
    from emoscope.service.app import create_app as _create_app

    return _create_app(settings)


__all__ = ["ServiceSettings", "create_app"]
