"""Admins' image uploads: checked, re-encoded and stored under `/media/`."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any, Final

from fastapi import APIRouter, Depends, UploadFile

from metaverse.api.deps import AdminUser, AuthFirstRoute, Context
from metaverse.media.store import MediaStore
from metaverse.media.uploads import MAX_UPLOAD_BYTES, check_size, reencode

router = APIRouter(prefix="/admin", route_class=AuthFirstRoute, tags=["admin"])

# What a multipart body may add around the file: boundaries and part headers.
MULTIPART_OVERHEAD_BYTES: Final = 64 * 1024
MAX_UPLOAD_BODY_BYTES: Final = MAX_UPLOAD_BYTES + MULTIPART_OVERHEAD_BYTES
UPLOAD_PATH: Final = "/admin/media"


def get_media(context: Context) -> MediaStore:
    return MediaStore.in_data_dir(context.settings.data_dir)


Media = Annotated[MediaStore, Depends(get_media)]


@router.post(
    "/media",
    status_code=201,
    form_limits={"max_files": 1, "max_fields": 4, "max_part_size": 1024},
)
async def upload_media(file: UploadFile, _admin: AdminUser, store: Media) -> Any:
    if file.size is not None:
        check_size(file.size)
    data = await file.read(MAX_UPLOAD_BYTES + 1)
    upload = await asyncio.to_thread(reencode, data)
    url = await asyncio.to_thread(store.save, upload.data, upload.extension)
    return {
        "url": url,
        "width": upload.width,
        "height": upload.height,
        "contentType": upload.content_type,
    }
