"""Uploads read only after the request has been authorised.

FastAPI reads and parses a body declared with ``Form``/``File`` *before* any dependency runs,
so a caller without rights would still make the server receive and parse their file. Upload
endpoints therefore declare no body parameters: their guard dependencies (sign-in, rights in
the place, CSRF, rate limits) come first in the signature, then ``UploadForm``, which reads
the multipart body; ``fields`` validates its text fields with a pydantic model (422 as for any
other body) and ``files`` returns the files' bytes. ``multipart_doc`` puts the form back into
the OpenAPI description.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ValidationError
from starlette.datastructures import FormData, UploadFile

from renewmap.errors import InvalidInput

M = TypeVar("M", bound=BaseModel)
MAX_FORM_FIELDS = 50
MAX_FORM_FILES = 10
MAX_FIELD_BYTES = 256 * 1024  # one text field of a multipart form


async def _read_form(request: Request) -> AsyncIterator[FormData]:
    async with request.form(
        max_files=MAX_FORM_FILES, max_fields=MAX_FORM_FIELDS, max_part_size=MAX_FIELD_BYTES
    ) as form:
        yield form


UploadForm = Annotated[FormData, Depends(_read_form)]


def fields(form: FormData, model: type[M]) -> M:
    """The form's text fields validated by ``model`` (a 422 naming each bad field)."""
    values: dict[str, Any] = {}
    for name in model.model_fields:
        items = [v for v in form.getlist(name) if isinstance(v, str) and v != ""]
        if items:  # as FastAPI's forms: an empty field is a missing one
            values[name] = items[0]
    try:
        return model.model_validate(values)
    except ValidationError as exc:
        errors = [{**e, "loc": ("body", *e["loc"])} for e in exc.errors(include_url=False)]
        raise RequestValidationError(errors) from None


def files(
    form: FormData, name: str, *, limit: int, at_most: int, required: bool = False
) -> list[tuple[str, bytes]]:
    """The uploaded files of field ``name`` as (file name, bytes), each read up to
    ``limit`` + 1 bytes (the service names a file that is too large); empty inputs skipped."""
    out: list[tuple[str, bytes]] = []
    for item in form.getlist(name):
        if not isinstance(item, UploadFile):
            continue
        if not item.filename and not item.size:
            continue  # an empty file input
        if len(out) == at_most:
            raise InvalidInput(
                "{field}: at most {limit} file(s), got more",
                key="too_many_files",
                field=name,
                limit=at_most,
            )
        out.append((item.filename or name, item.file.read(limit + 1)))
    if required and not out:
        raise InvalidInput("{field}: a file is required", key="file_required", field=name)
    return out


async def _read_json(request: Request) -> Any:
    return await request.json()  # already checked by the body limit (limits.py)


JSONBody = Annotated[Any, Depends(_read_json)]


def validated(data: Any, model: type[M]) -> M:
    """A JSON body validated by ``model`` (a 422 naming each bad field)."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        errors = [{**e, "loc": ("body", *e["loc"])} for e in exc.errors(include_url=False)]
        raise RequestValidationError(errors) from None


def json_doc(model: type[BaseModel] | None = None, description: str = "") -> dict[str, Any]:
    """``openapi_extra`` describing a JSON body read after the guards."""
    schema = model.model_json_schema() if model else {"type": "object", "description": description}
    return {"requestBody": {"content": {"application/json": {"schema": schema}}, "required": True}}


def multipart_doc(model: type[BaseModel], **file_fields: bool) -> dict[str, Any]:
    """``openapi_extra`` describing the form: ``model``'s fields and the file fields
    (``True``: several files)."""
    schema = model.model_json_schema()
    properties = dict(schema.get("properties", {}))
    binary = {"type": "string", "format": "binary"}
    for name, many in file_fields.items():
        properties[name] = {"type": "array", "items": binary} if many else binary
    required = [*schema.get("required", []), *(n for n, many in file_fields.items() if not many)]
    body = {"type": "object", "properties": properties, "required": required}
    return {"requestBody": {"content": {"multipart/form-data": {"schema": body}}, "required": True}}
