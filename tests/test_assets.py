"""Vendored browser libraries: fetched over HTTPS without npm, checked by
SHA-512, written all at once; clear errors when missing or wrong. A local
server on 127.0.0.1 stands in for the npm registry."""

import hashlib
import io
import tarfile

import pytest

from vae.errors import VAEError
from vae.site import assets
from vae.site.browser import serve


def tarball(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for name, data in files.items():
            info = tarfile.TarInfo(f"package/{name}")
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


@pytest.fixture
def registry(tmp_path, monkeypatch):
    """A registry serving one package, `demo` 1.0.0; yields (package, tarball bytes)."""
    data = tarball(
        {
            "dist/demo.js": b"console.log(1)",
            "dist/fonts/a.woff2": b"font",
            "dist/fonts/a.ttf": b"old font",
            "README.md": b"not kept",
        }
    )
    root = tmp_path / "www"
    (root / "demo" / "-").mkdir(parents=True)
    (root / "demo" / "-" / "demo-1.0.0.tgz").write_bytes(data)
    package = assets.Package(
        "demo", "1.0.0", hashlib.sha512(data).hexdigest(), ("dist/demo.js",), fonts="dist/fonts"
    )
    monkeypatch.setenv(assets.VENDOR_ENV, str(tmp_path / "vendor"))
    with serve(root) as base:
        monkeypatch.setenv(assets.REGISTRY_ENV, base)
        yield package


def test_missing_package_says_how_to_get_it(tmp_path, monkeypatch):
    monkeypatch.setenv(assets.VENDOR_ENV, str(tmp_path / "none"))
    with pytest.raises(VAEError, match=r"run `python -m vae assets` once"):
        assets.katex_files()


def test_fetch_keeps_the_listed_files_and_woff2_fonts_only(registry, monkeypatch):
    monkeypatch.setenv("PATH", "/nonexistent")  # no npm, no anything: pure Python
    path, fetched = assets.ensure(registry)
    assert fetched
    assert dict(assets.files(registry)) == {
        "demo.js": path / "demo.js",
        "fonts/a.woff2": path / "fonts" / "a.woff2",
    }
    assert sorted(p.name for p in path.rglob("*") if p.is_file()) == ["a.woff2", "demo.js"]
    assert assets.ensure(registry) == (path, False)  # a second call downloads nothing


def test_a_tarball_with_the_wrong_checksum_is_refused(registry):
    wrong = assets.Package(registry.name, registry.version, "0" * 128, registry.files)
    with pytest.raises(VAEError, match="SHA-512 mismatch"):
        assets.fetch(wrong)
    assert not assets.vendor_dir(wrong).exists()


def test_an_unreachable_registry_is_one_clear_error(registry, monkeypatch):
    monkeypatch.setenv(assets.REGISTRY_ENV, "http://127.0.0.1:9")
    with pytest.raises(VAEError, match=r"could not download http://127\.0\.0\.1:9/demo"):
        assets.fetch(registry)


def test_the_pins_are_the_published_tarballs():
    """The vendored packages fetched by `python -m vae assets` before the tests."""
    katex = dict(assets.katex_files())
    assert {"katex.min.js", "katex.min.css", "contrib/auto-render.min.js"} <= set(katex)
    fonts = [name for name in katex if name.startswith("fonts/")]
    assert fonts and all(name.endswith(".woff2") for name in fonts)
    axe = dict(assets.files(assets.AXE))
    assert b"axe.run" in axe["axe.min.js"].read_bytes()[:2_000_000]
