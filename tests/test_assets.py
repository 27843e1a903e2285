"""KaTeX vendoring: clear errors when it is missing or cannot be fetched."""

import pytest

from vae import assets
from vae.errors import VAEError


def test_missing_katex_says_how_to_get_it(tmp_path, monkeypatch):
    monkeypatch.setenv("VAE_KATEX_DIR", str(tmp_path / "none"))
    with pytest.raises(VAEError, match=r"run `python -m vae assets` once"):
        assets.katex_files()


def test_without_npm_the_fetch_fails_clearly(tmp_path, monkeypatch):
    monkeypatch.setenv("VAE_KATEX_DIR", str(tmp_path / "katex"))
    monkeypatch.setattr(assets.shutil, "which", lambda name: None)
    with pytest.raises(VAEError, match="npm is needed"):
        assets.fetch_katex()
    assert not (tmp_path / "katex").exists()


def test_a_tarball_with_the_wrong_checksum_is_refused(tmp_path, monkeypatch):
    """A stand-in `npm` writes a tarball that is not the published one."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake = bin_dir / "npm"
    fake.write_text(
        f'#!/bin/sh\ndest=$4\nprintf "not katex" > "$dest/katex-{assets.KATEX_VERSION}.tgz"\n'
    )
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}:/usr/bin:/bin")
    monkeypatch.setenv("VAE_KATEX_DIR", str(tmp_path / "katex"))
    with pytest.raises(VAEError, match="SHA-512 mismatch"):
        assets.fetch_katex()
    assert not (tmp_path / "katex").exists()


def test_the_served_files_are_the_script_styles_and_woff2_fonts():
    files = dict(assets.katex_files())  # fetched by `python -m vae assets` before the tests
    assert {"katex.min.js", "katex.min.css", "contrib/auto-render.min.js"} <= set(files)
    fonts = [name for name in files if name.startswith("fonts/")]
    assert fonts and all(name.endswith(".woff2") for name in fonts)
