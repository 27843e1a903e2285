"""The cache of finished pages, when things go wrong: a kept page that is not
whole is finished again, a full disk keeps nothing, and pruning removes only
the files the cache wrote."""

import errno
import json
import os
import subprocess
import sys

import pytest

from vae import atomic
from vae.atomic import DiskFullError
from vae.site import finish as finish_module
from vae.site.finish import FINISHERS, PageCache, finish

# Long enough to be cut in half, with a heading mark (two bytes in UTF-8).
PAGE = (
    "<!doctype html>\n<html><head><title>t</title></head>\n<body>\n"
    '<h2 id="k">The KL term<a class="headerlink" href="#k">¶</a></h2>\n'
    + "".join(f"<pre><code>x = {i}</code></pre>\n<p>Paragraph {i}.</p>\n" for i in range(200))
    + "</body></html>"
)


def kept_pages(directory):
    return sorted(directory.glob(finish_module.PAGE_NAMES))


def refuse(*args):
    raise AssertionError("finished again")


def test_a_page_cut_in_half_is_finished_again_and_kept_whole(tmp_path, monkeypatch):
    whole = PageCache(tmp_path).finish(PAGE, notebook=False)
    assert whole == finish(PAGE, notebook=False)
    [path] = kept_pages(tmp_path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])

    again = PageCache(tmp_path).finish(PAGE, notebook=False)
    assert again == whole
    assert path.read_bytes() == data  # kept whole again
    monkeypatch.setattr(finish_module, "finish", refuse)
    assert PageCache(tmp_path).finish(PAGE, notebook=False) == whole  # and read back


@pytest.mark.parametrize(
    "damage",
    [
        lambda data: data[:-1] + b"!",  # one byte changed, same length
        lambda data: data.partition(b"\n")[2],  # no digest line: the page alone
        lambda data: b"",  # empty
        lambda data: data[:70] + b"\xff\xfe" + data[72:],  # not UTF-8
    ],
    ids=["changed", "no digest", "empty", "not utf-8"],
)
def test_a_damaged_page_is_never_published(tmp_path, damage):
    whole = PageCache(tmp_path).finish(PAGE, notebook=False)
    [path] = kept_pages(tmp_path)
    path.write_bytes(damage(path.read_bytes()))
    assert PageCache(tmp_path).finish(PAGE, notebook=False) == whole


def test_a_full_disk_raises_one_line_and_keeps_nothing(tmp_path, monkeypatch):
    def full_disk(fd):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(atomic.os, "fsync", full_disk)
    with pytest.raises(DiskFullError) as raised:
        PageCache(tmp_path).finish(PAGE, notebook=False)
    message = str(raised.value)
    assert message.startswith(f"no space left on the device while writing {tmp_path}/")
    assert message.endswith(".html") and "\n" not in message
    assert list(tmp_path.iterdir()) == []


def dead_pid() -> int:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def test_prune_removes_only_the_files_the_cache_wrote(tmp_path):
    old = PageCache(tmp_path)
    old.finish(PAGE, notebook=False)
    old.finish(PAGE.replace("x = 1<", "x = -1<"), notebook=False)
    cache = PageCache(tmp_path)
    cache.finish(PAGE, notebook=False)
    [used] = cache.used
    [unused] = {p.name for p in kept_pages(tmp_path)} - cache.used
    key = unused.removesuffix(".html")
    live = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        theirs = [
            "index.html",
            "notes.txt",
            key.upper() + ".html",  # not a name the cache writes (its digits are lowercase)
            key[:-1] + ".html",  # 63 digits
            key + ".html.bak",
            f".{key}.html.{live.pid}.partial",  # a live writer's page, not yet in place
            f".notes.txt.{dead_pid()}.partial",
            ".hidden",
        ]
        for name in theirs:
            (tmp_path / name).write_text("someone's")
        (tmp_path / "a folder").mkdir()
        (tmp_path / "a folder" / unused).write_text("someone's")
        killed = tmp_path / f".{key}.html.{dead_pid()}.partial"
        killed.write_text("a page a killed build left half written")

        cache.prune()
        assert sorted(p.name for p in tmp_path.iterdir()) == sorted([used, "a folder", *theirs])
        assert (tmp_path / "a folder" / unused).exists()
    finally:
        live.kill()
        live.wait()


def test_prune_leaves_a_folder_that_has_a_pages_name(tmp_path):
    cache = PageCache(tmp_path)
    cache.finish(PAGE, notebook=False)
    folder = tmp_path / ("0" * 64 + ".html")
    folder.mkdir()
    cache.prune()
    assert folder.is_dir() and len(kept_pages(tmp_path)) == 2


LOADED = """
import json, sys
before = set(sys.modules)
{code}
print(json.dumps(sorted(m for m in set(sys.modules) - before if m.startswith("vae.site."))))
"""


def site_modules_loaded(code: str) -> set[str]:
    """The `vae.site` modules a fresh interpreter loads to run `code`."""
    script = LOADED.format(code=code)
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    return set(json.loads(run.stdout))


def test_the_cache_key_holds_all_the_code_that_finishes_a_page():
    """A module that finishing loads and the key leaves out would let a page
    finished by old code be read back after that code changed."""
    finishing = site_modules_loaded(
        "from vae.site.finish import finish\n"
        f"finish({PAGE!r}, notebook=False)\nfinish({PAGE!r}, notebook=True)"
    )
    # pages.py takes the `FigureScript` type from project.py, for the scripts page.
    not_shaping = site_modules_loaded("import vae.site.project")
    in_key = {f"vae.site.{name.removesuffix('.py')}" for name in FINISHERS}
    assert finishing - not_shaping == in_key
