"""`POST /admin/media` uploads, `/media/` serving, and thumbnails rendered for new maps."""

from __future__ import annotations

import io
import zlib
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from tests.component.conftest import Api

UPLOAD = "/api/v1/admin/media"
MAX = 2 * 1024 * 1024


def image_bytes(
    fmt: str, size: tuple[int, int] = (40, 20), mode: str = "RGBA", **save: Any
) -> bytes:
    image = Image.new(mode, size, (200, 30, 30, 255) if mode == "RGBA" else (200, 30, 30))
    out = io.BytesIO()
    image.save(out, fmt, **save)
    return out.getvalue()


def media_files(api: Api) -> list[Path]:
    root = api.context.settings.data_dir / "media"
    return sorted(p for p in root.rglob("*") if p.is_file())


async def upload(
    api: Api, headers: dict[str, str], data: bytes, name: str = "x.png", kind: str = "image/png"
) -> Any:
    return await api.client.post(UPLOAD, files={"file": (name, data, kind)}, headers=headers)


async def test_only_admins_upload_and_auth_comes_before_the_body(api: Api) -> None:
    png = image_bytes("PNG")
    anonymous = await api.client.post(UPLOAD, files={"file": ("x.png", png, "image/png")})
    assert anonymous.status_code == 403
    _, user = await api.user()
    refused = await upload(api, user, png)
    assert refused.status_code == 403 and refused.json()["code"] == "forbidden"
    malformed = await api.client.post(
        UPLOAD,
        content=b"--nope\r\ngarbage",
        headers={**user, "content-type": "multipart/form-data; boundary=nope"},
    )
    assert malformed.status_code == 403
    assert media_files(api) == []


@pytest.mark.parametrize(
    ("fmt", "extension", "content_type"),
    [("PNG", "png", "image/png"), ("JPEG", "jpg", "image/jpeg"), ("WEBP", "webp", "image/webp")],
)
async def test_upload_is_stored_and_served(
    api: Api, fmt: str, extension: str, content_type: str
) -> None:
    _, admin = await api.user(admin=True)
    mode = "RGB" if fmt == "JPEG" else "RGBA"
    response = await upload(api, admin, image_bytes(fmt, mode=mode), f"pic.{extension}")
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["width"] == 40 and body["height"] == 20
    assert body["contentType"] == content_type
    url = body["url"]
    assert url.startswith("/media/") and url.endswith(f".{extension}")
    served = await api.client.get(url)
    assert served.status_code == 200
    assert served.headers["content-type"] == content_type
    assert served.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert served.headers["x-content-type-options"] == "nosniff"
    with Image.open(io.BytesIO(served.content)) as image:
        assert image.format == fmt and image.size == (40, 20)
    # Usable as an element's image right away.
    element = await api.client.post(
        "/api/v1/admin/element",
        json={"imageUrl": url, "width": 2, "height": 1, "static": True},
        headers=admin,
    )
    assert element.status_code == 200


async def test_the_same_image_twice_is_one_file(api: Api) -> None:
    _, admin = await api.user(admin=True)
    png = image_bytes("PNG")
    first = (await upload(api, admin, png)).json()["url"]
    second = (await upload(api, admin, png, "other-name.png")).json()["url"]
    assert first == second
    assert len(media_files(api)) == 1


async def test_metadata_is_stripped_and_rotation_applied(api: Api) -> None:
    _, admin = await api.user(admin=True)
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation: rotate 90 degrees clockwise to display
    exif[0x010F] = "SecretCam"  # camera make
    jpeg = image_bytes("JPEG", (40, 20), mode="RGB", exif=exif.tobytes(), comment=b"hello")
    png = image_bytes("PNG", pnginfo=_text_chunk("Author", "someone@example.org"))
    for data, name in ((jpeg, "p.jpg"), (png, "p.png")):
        response = await upload(api, admin, data, name)
        assert response.status_code == 201, response.text
        stored = (await api.client.get(response.json()["url"])).content
        assert b"SecretCam" not in stored and b"someone@example.org" not in stored
        with Image.open(io.BytesIO(stored)) as image:
            assert not image.getexif()
            assert "comment" not in image.info and "Author" not in image.info
            if name == "p.jpg":
                assert (
                    image.size
                    == (20, 40)
                    == (
                        response.json()["width"],
                        response.json()["height"],
                    )
                )


def _text_chunk(key: str, value: str) -> Any:
    from PIL import PngImagePlugin

    info = PngImagePlugin.PngInfo()
    info.add_text(key, value)
    return info


async def test_animations_keep_their_first_frame(api: Api) -> None:
    _, admin = await api.user(admin=True)
    frames = [Image.new("RGBA", (8, 8), color) for color in ((255, 0, 0, 255), (0, 0, 255, 255))]
    out = io.BytesIO()
    frames[0].save(out, "PNG", save_all=True, append_images=frames[1:], duration=100, loop=0)
    response = await upload(api, admin, out.getvalue())
    assert response.status_code == 201, response.text
    stored = (await api.client.get(response.json()["url"])).content
    with Image.open(io.BytesIO(stored)) as image:
        assert getattr(image, "n_frames", 1) == 1
        assert image.convert("RGBA").getpixel((0, 0)) == (255, 0, 0, 255)


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (b"just some text, not an image", "unsupported_media"),
        (
            b"<svg xmlns='http://www.w3.org/2000/svg'><script>alert(1)</script></svg>",
            "unsupported_media",
        ),
        (image_bytes("GIF", mode="RGB"), "unsupported_media"),
        (image_bytes("BMP", mode="RGB"), "unsupported_media"),
        (image_bytes("PNG")[:60], "invalid_image"),  # truncated
        (image_bytes("PNG", (4097, 1)), "invalid_image"),
        (image_bytes("PNG", (1, 5000)), "invalid_image"),
        (b"", "unsupported_media"),
    ],
    ids=["text", "svg", "gif", "bmp", "truncated", "too-wide", "too-tall", "empty"],
)
async def test_anything_else_is_refused_and_nothing_stored(
    api: Api, data: bytes, code: str
) -> None:
    _, admin = await api.user(admin=True)
    response = await upload(api, admin, data)
    assert response.status_code == 400, response.text
    assert response.json()["code"] == code
    assert response.json()["message"]
    assert media_files(api) == []


async def test_decompression_bombs_are_refused(api: Api) -> None:
    # A valid PNG header claiming 30000 x 30000 pixels: refused before any decoding.
    png = image_bytes("PNG", (1, 1))
    ihdr = b"IHDR" + (30000).to_bytes(4, "big") * 2 + png[24:29]
    bomb = png[:12] + ihdr + zlib.crc32(ihdr).to_bytes(4, "big") + png[33:]
    _, admin = await api.user(admin=True)
    response = await upload(api, admin, bomb)
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_image"


async def test_files_over_2_mb_are_too_large(api: Api) -> None:
    _, admin = await api.user(admin=True)
    response = await upload(api, admin, b"\0" * (MAX + 1))
    assert response.status_code == 413
    assert response.json()["code"] == "too_large"
    huge = await upload(api, admin, b"\0" * (3 * MAX))
    assert huge.status_code == 413
    assert media_files(api) == []


async def test_json_bodies_keep_their_1_mib_limit(api: Api) -> None:
    _, admin = await api.user(admin=True)
    response = await api.client.post(
        "/api/v1/admin/avatar",
        content=b'{"name": "x", "imageUrl": "/' + b"a" * (1024 * 1024) + b'"}',
        headers={**admin, "content-type": "application/json"},
    )
    assert response.status_code == 413
    assert response.json()["code"] == "payload_too_large"


async def test_the_form_needs_one_file_field(api: Api) -> None:
    _, admin = await api.user(admin=True)
    missing = await api.client.post(UPLOAD, data={"other": "x"}, headers=admin)
    assert missing.status_code == 400 and missing.json()["code"] == "invalid_request"
    as_json = await api.client.post(UPLOAD, json={"file": "x"}, headers=admin)
    assert as_json.status_code == 400
    png = image_bytes("PNG")
    two = await api.client.post(
        UPLOAD,
        files=[("file", ("a.png", png, "image/png")), ("file", ("b.png", png, "image/png"))],
        headers=admin,
    )
    assert two.status_code == 400
    assert media_files(api) == []


async def test_media_paths_do_not_escape_the_media_folder(api: Api) -> None:
    (api.context.settings.data_dir / "secret.txt").write_text("no")
    for path in ("/media/../secret.txt", "/media/%2e%2e/secret.txt", "/media/..%2fsecret.txt"):
        assert (await api.client.get(path)).status_code == 404, path


# --------------------------------------------------------------------------- thumbnails


async def test_empty_thumbnail_renders_one_from_the_elements(api: Api) -> None:
    _, admin = await api.user(admin=True)
    red = (await upload(api, admin, image_bytes("PNG", (64, 32)))).json()["url"]
    desk = await api.element(admin, imageUrl=red, width=2, height=1)
    elsewhere = await api.element(admin, imageUrl="https://example.com/chair.png")
    created = await api.client.post(
        "/api/v1/admin/map",
        json={
            "thumbnail": "",
            "dimensions": "20x10",
            "name": "Office",
            "defaultElements": [
                {"elementId": desk, "x": 1, "y": 1},
                {"elementId": elsewhere, "x": 5, "y": 5},
            ],
        },
        headers=admin,
    )
    assert created.status_code == 200, created.text
    map_id = created.json()["id"]
    thumbnail = (await api.client.get(f"/api/v1/maps/{map_id}")).json()["thumbnail"]
    assert thumbnail.startswith("/media/thumbnails/") and thumbnail.endswith(".png")
    served = await api.client.get(thumbnail)
    assert served.status_code == 200 and served.headers["content-type"] == "image/png"
    with Image.open(io.BytesIO(served.content)) as image:
        assert image.size == (640, 320)  # 32 px a cell, 20 x 10 cells
        rgb = image.convert("RGB")
        assert rgb.getpixel((32 + 10, 32 + 10)) == (200, 30, 30)  # the uploaded desk
        assert rgb.getpixel((5 * 32 + 16, 5 * 32 + 16)) != (200, 30, 30)  # a placeholder
        assert rgb.getpixel((5 * 32 + 16, 5 * 32 + 16)) != rgb.getpixel((300, 20))  # not floor

    # Spaces made from the map show the same thumbnail.
    space = await api.client.post(
        "/api/v1/space", json={"name": "Ours", "mapId": map_id}, headers=admin
    )
    assert space.status_code == 200, space.text
    detail = await api.client.get(f"/api/v1/space/{space.json()['spaceId']}", headers=admin)
    assert detail.json()["thumbnail"] == thumbnail


async def test_given_or_absent_thumbnails_are_kept_as_they_are(api: Api) -> None:
    _, admin = await api.user(admin=True)
    for given, kept in (("https://x/t.png", "https://x/t.png"), (None, None)):
        body: dict[str, Any] = {"dimensions": "5x5", "name": "m", "defaultElements": []}
        if given is not None:
            body["thumbnail"] = given
        created = await api.client.post("/api/v1/admin/map", json=body, headers=admin)
        assert created.status_code == 200, created.text
        detail = (await api.client.get(f"/api/v1/maps/{created.json()['id']}")).json()
        assert detail["thumbnail"] == kept
    assert [p for p in media_files(api) if "thumbnails" in p.parts] == []


async def test_an_invalid_map_renders_nothing(api: Api) -> None:
    _, admin = await api.user(admin=True)
    response = await api.client.post(
        "/api/v1/admin/map",
        json={
            "thumbnail": "",
            "dimensions": "5x5",
            "name": "m",
            "defaultElements": [{"elementId": "nope", "x": 1, "y": 1}],
        },
        headers=admin,
    )
    assert response.status_code == 400
    assert (await api.client.get("/api/v1/maps")).json() == {"maps": []}
    assert media_files(api) == []
    blank = await api.client.post(
        "/api/v1/admin/map",
        json={"thumbnail": "   ", "dimensions": "5x5", "name": "m"},
        headers=admin,
    )
    assert blank.status_code == 400
