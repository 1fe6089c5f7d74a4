"""The route class every router uses: a request's transaction ends in the endpoint's own thread.

A sync endpoint runs in a worker thread; the request's write transaction is committed (or
rolled back) right there, when the endpoint returns (or raises), before the response is
built. Nothing is left for a second thread to finish: under a burst of writes to one row,
the transaction holding the row lock never waits for a free thread to commit in while every
thread waits for its lock (issue 19: sixty +1s at once gave 500s after 30 s).
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Annotated, Any, get_args, get_origin

from fastapi import params
from fastapi.dependencies.utils import get_typed_signature
from fastapi.routing import APIRoute
from sqlalchemy.orm import Session

from renewmap.db import guards

OWNED = "renewmap.request_transaction"  # a session get_session made for this request
FINISHED = "renewmap.transaction_finished"


def write_session_params(endpoint: Callable[..., Any]) -> list[str]:
    """Names of the endpoint's parameters that are the request's write session
    (``deps.WriteSession``)."""
    from renewmap.api.deps import get_session

    names = []
    for name, param in get_typed_signature(endpoint).parameters.items():
        annotation = param.annotation
        if get_origin(annotation) is not Annotated:
            continue
        for meta in get_args(annotation)[1:]:
            if isinstance(meta, params.Depends) and meta.dependency is get_session:
                names.append(name)
    return names


def end_transaction(session: Session, *, failed: bool) -> None:
    """Commit (or roll back) the request's transaction and mark it done, so that the
    dependency's exit only closes the session. A session the request did not make (a test's,
    through a dependency override) is left to its owner."""
    if session.info.get(FINISHED) or not session.info.get(OWNED):
        return
    session.info[FINISHED] = True
    guards.finish(session, failed=failed)


def committing(endpoint: Callable[..., Any]) -> Callable[..., Any]:
    """``endpoint``, ending its write transaction in its own thread (sync endpoints with a
    ``WriteSession``; others are returned as they are)."""
    if (
        inspect.iscoroutinefunction(endpoint)
        or inspect.isgeneratorfunction(endpoint)
        or inspect.isasyncgenfunction(endpoint)
    ):
        return endpoint
    names = write_session_params(endpoint)
    if not names:
        return endpoint

    @functools.wraps(endpoint)
    def run(*args: Any, **kwargs: Any) -> Any:
        sessions = [kwargs[n] for n in names if isinstance(kwargs.get(n), Session)]
        try:
            result = endpoint(*args, **kwargs)
        except BaseException:
            for session in sessions:
                end_transaction(session, failed=True)
            raise
        for session in sessions:
            end_transaction(session, failed=False)
        return result

    return run


class TransactionalRoute(APIRoute):
    """An ``APIRoute`` whose sync endpoint commits its write transaction itself."""

    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        super().__init__(path, committing(endpoint), **kwargs)
