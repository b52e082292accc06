"""The notebooks as a student sees them: JupyterLab in a real headless Chromium.

A JupyterLab server starts on a free local port with a token; Playwright drives
Debian's ``chromium`` (no browser download) to open each notebook, run all cells in
fast mode and look at the result: no cell may end in an error, no widget may show
JupyterLab's "Error displaying widget" fallback. A screenshot of each notebook lands
in ``build/screenshots/``. The capture panel is then clicked through as a student
would: a ``sim://imu`` recording, and a port that cannot be opened.

Run with ``make test-browser`` (installs chromium and playwright first).
"""
import json
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.timeout(1800)]

ROOT = Path(__file__).resolve().parents[1]
SHOTS = ROOT / "build" / "screenshots"
NOTEBOOKS = ("capture", "gesture", "keyword_spotting")
FALLBACK = "Error displaying widget"
# Settings of the test's own JupyterLab: every cell in the DOM (no windowing, so a
# look at the page sees every output), no news or update checks (no network), the
# notebook's kernel started without asking.
LAB_SETTINGS = {
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings":
        {"fetchNews": "false", "checkForUpdates": False},
    "@jupyterlab/apputils-extension/sessionDialogs.jupyterlab-settings":
        {"autoStartDefaultKernel": True},
}


def _chromium():
    for name in ("chromium", "chromium-browser"):
        if shutil.which(name):
            return shutil.which(name)
    pytest.fail("Debian's chromium is not installed: `apt-get install chromium` "
                "(or run `make test-browser`, which installs it)")


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Lab:
    """A JupyterLab server on 127.0.0.1 serving a copy of ``notebooks/`` (the
    notebooks in the repository are never written); kernels see this checkout's
    tinykit and run in fast mode."""

    def __init__(self, root: Path, start_timeout=120.0):
        self.root = root
        self.token = secrets.token_hex(16)
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        (root / "notebooks").mkdir(parents=True)
        for name in NOTEBOOKS:
            shutil.copy(ROOT / "notebooks" / f"{name}.ipynb", root / "notebooks")
        settings = root / "settings"
        for rel, value in LAB_SETTINGS.items():
            (settings / rel).parent.mkdir(parents=True, exist_ok=True)
            (settings / rel).write_text(json.dumps(value))
        env = dict(os.environ, TINYKIT_FAST="1", TF_USE_LEGACY_KERAS="1",
                   PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
                   JUPYTERLAB_SETTINGS_DIR=str(settings),
                   JUPYTERLAB_WORKSPACES_DIR=str(root / "workspaces"),
                   JUPYTER_RUNTIME_DIR=str(root / "runtime"),
                   JUPYTER_CONFIG_DIR=str(root / "config"))
        self.log = open(root / "lab.log", "w")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "jupyterlab", "--no-browser", "--ip=127.0.0.1",
             f"--port={self.port}", f"--IdentityProvider.token={self.token}",
             f"--ServerApp.root_dir={root}", "--ServerApp.port_retries=0",
             "--allow-root", "--LabApp.extension_manager=readonly",
             "--LabApp.news_url=None",
             "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"],
            cwd=root, env=env, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + start_timeout
        while True:
            try:
                self.api("status")
                return
            except OSError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    self.close()
                    pytest.fail(f"JupyterLab did not answer on {self.url} within "
                                f"{start_timeout:g} s; its log:\n{(root / 'lab.log').read_text()[-3000:]}")
                time.sleep(0.5)

    def api(self, path, method="GET"):
        req = urllib.request.Request(f"{self.url}/api/{path}", method=method,
                                     headers={"Authorization": f"token {self.token}"})
        with urllib.request.urlopen(req, timeout=10) as r:
            body = r.read()
        return json.loads(body) if body else None

    def saved(self, path):
        """The notebook as last saved, from the server's contents API."""
        return self.api(f"contents/{path}?content=1")["content"]

    def shutdown_kernels(self):
        for k in self.api("kernels"):
            self.api(f"kernels/{k['id']}", method="DELETE")

    def close(self):
        self.proc.terminate()
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)
        self.log.close()


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    server = Lab(tmp_path_factory.mktemp("lab"))
    yield server
    server.close()


@pytest.fixture(scope="module")
def browser():
    sync_api = pytest.importorskip("playwright.sync_api", reason="pip install '.[browser]'")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=_chromium(), headless=True,
                              args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"])
        yield b
        b.close()


def open_notebook(browser, lab, path, timeout=180.0):
    """A new page with ``path`` open in JupyterLab and its kernel idle."""
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.set_default_timeout(timeout * 1000)
    # A workspace of its own: JupyterLab would otherwise reopen (and start kernels
    # for) the notebooks an earlier page had open.
    workspace = Path(path).stem
    page.goto(f"{lab.url}/lab/workspaces/{workspace}/tree/{path}?reset&token={lab.token}")
    page.wait_for_selector(".jp-NotebookPanel .jp-Cell")
    deadline = time.monotonic() + timeout
    while not any(s["path"] == path and s["kernel"]["execution_state"] == "idle"
                  for s in lab.api("sessions")):
        if time.monotonic() > deadline:
            pytest.fail(f"the kernel of {path} was not ready within {timeout:g} s")
        time.sleep(0.5)
    return page


def run_all(page, timeout):
    """Run > Run All Cells, then wait (at most ``timeout`` s) until no cell is queued
    or running. Returns the wall time in seconds."""
    t0 = time.monotonic()
    page.locator(".lm-MenuBar-item", has_text=re.compile(r"^Run$")).click()
    page.get_by_role("menuitem", name="Run All Cells", exact=True).click()
    # "[*]" marks queued and running cells; the last code cell's prompt turns to a
    # number when it ran, or stays empty when an error aborted the queue.
    page.wait_for_function(
        """() => {
            const prompts = [...document.querySelectorAll(
                '.jp-NotebookPanel .jp-CodeCell .jp-InputArea-prompt')].map(p => p.textContent);
            return prompts.length > 0 && !prompts.some(t => t.includes('*'))
                && (/\\d/.test(prompts[prompts.length - 1])
                    || document.querySelector('.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]'));
        }""", timeout=timeout * 1000, polling=500)
    return time.monotonic() - t0


def save(page, lab, path, timeout=60.0):
    page.locator(".jp-NotebookPanel .jp-Notebook").first.click(position={"x": 5, "y": 5})
    page.keyboard.press("Control+s")
    deadline = time.monotonic() + timeout
    while page.locator(".lm-TabBar-tab.jp-mod-dirty").count():
        if time.monotonic() > deadline:
            pytest.fail(f"{path} was not saved within {timeout:g} s")
        time.sleep(0.2)
    return lab.saved(path)


def problems(page, nb) -> list:
    """What a student would see go wrong: error outputs (from the saved notebook) and
    widgets that could not be displayed (from the page: JupyterLab's "Error displaying
    widget" text, or ipywidgets' error view with its "Click to show javascript error")."""
    found = []
    for i, cell in enumerate(nb["cells"]):
        for out in cell.get("outputs", []):
            if out.get("output_type") == "error":
                found.append(f"cell {i}: {out['ename']}: {out['evalue']}")
    for text in page.locator(".jp-OutputArea-output").all_inner_texts():
        if FALLBACK in text:
            found.append(text.strip()[:300])
    for broken in page.locator(".jupyter-widgets-error-widget").all():
        broken.click()          # the error view then shows the JavaScript error
        found.append(f"{FALLBACK}: {broken.inner_text().strip()[:300]}")
    return found


def screenshot(page, name):
    """The whole notebook in one picture: the viewport grows to the notebook's height
    (the file browser folded away, so the notebook has the width)."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    if page.locator("#jp-left-stack:visible").count():
        page.get_by_role("menuitem", name="View", exact=True).click()
        page.locator(".lm-Menu-item[data-command='filebrowser:toggle-main']").click()
    scroller = ".jp-NotebookPanel .jp-WindowedPanel-outer"
    height = page.evaluate(f"""() => {{
        const s = document.querySelector('{scroller}');
        const cells = s.querySelectorAll('.jp-Cell');
        const last = cells[cells.length - 1].getBoundingClientRect();
        return last.bottom - s.getBoundingClientRect().top + s.scrollTop;
    }}""")
    page.set_viewport_size({"width": 1280, "height": min(int(height) + 160, 16000)})
    page.evaluate(f"() => document.querySelector('{scroller}').scrollTo(0, 0)")
    page.wait_for_timeout(500)
    path = SHOTS / f"{name}.png"
    page.screenshot(path=str(path))
    page.set_viewport_size({"width": 1280, "height": 900})
    return path


def run_notebook(browser, lab, name, timeout=1200.0):
    path = f"notebooks/{name}.ipynb"
    page = open_notebook(browser, lab, path)
    seconds = run_all(page, timeout)
    nb = save(page, lab, path)
    shot = screenshot(page, name)
    print(f"{name}: {seconds:.0f} s in the browser, screenshot {shot}")
    return page, nb


def panel_count(panel, label):
    """The panel's per-label table: samples of ``label`` (0 before the first)."""
    for row in panel.locator("table tr").all_inner_texts():
        cells = row.split()
        if len(cells) == 2 and cells[0] == label:
            return int(cells[1])
    return 0


def wait_until(what, check, timeout):
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            pytest.fail(f"{what}: not within {timeout:g} s")
        time.sleep(0.25)


def test_capture_notebook_and_panel(browser, lab):
    """capture.ipynb runs clean; then its panel, clicked: a live recording from
    ``sim://imu`` whose count the CSV on disk confirms, and a port that fails."""
    from tinykit.datasets.imu_csv import read_imu_csv
    page, nb = run_notebook(browser, lab, "capture")
    try:
        assert problems(page, nb) == []
        panel = page.locator(".widget-vbox").filter(
            has=page.get_by_role("button", name="Start")).last
        panel.scroll_into_view_if_needed()
        start = panel.get_by_role("button", name="Start")
        stop = panel.get_by_role("button", name="Stop")
        status = panel.locator(".widget-html").first
        for name, value in (("Port", "sim://imu"), ("Label", "Lumos"), ("Count", "0")):
            panel.get_by_label(name, exact=True).fill(value)
            panel.get_by_label(name, exact=True).press("Tab")
        start.click()
        wait_until("recording starts", lambda: "recording" in status.inner_text(), 30)
        wait_until("the live plot draws", lambda: panel.locator("img").evaluate(
            "img => img.complete && img.naturalWidth > 0"), 60)
        wait_until("the count of Lumos reaches 2", lambda: panel_count(panel, "Lumos") >= 2, 90)
        SHOTS.mkdir(parents=True, exist_ok=True)
        panel.screenshot(path=str(SHOTS / "capture_panel_recording.png"))
        stop.click()
        wait_until("the session ends", lambda: status.inner_text().startswith("done"), 30)
        counted = panel_count(panel, "Lumos")
        folder = Path(panel.get_by_label("Folder", exact=True).input_value())
        on_disk = read_imu_csv(folder / "Lumos.csv")
        assert counted >= 2 and len(on_disk.gestures) == counted and not on_disk.skipped
        assert f"saved {counted} gestures" in status.inner_text()

        errors_before = page.locator(".jp-OutputArea-output[data-mime-type="
                                     "'application/vnd.jupyter.stderr']").count()
        panel.get_by_label("Port", exact=True).fill("/dev/ttyTINYKIT-missing")
        start.click()
        wait_until("the port error shows", lambda: "cannot open port" in status.inner_text(), 30)
        panel.screenshot(path=str(SHOTS / "capture_panel_port_error.png"))
        assert "Traceback" not in panel.inner_text()
        assert "/dev/ttyTINYKIT-missing" in status.inner_text()
        assert page.locator(".jp-OutputArea-output[data-mime-type="
                            "'application/vnd.jupyter.stderr']").count() == errors_before
        assert start.is_enabled() and not stop.is_enabled()
    finally:
        page.close()
        lab.shutdown_kernels()


@pytest.mark.parametrize("name", ["gesture", "keyword_spotting"])
def test_notebook_runs_clean_in_the_browser(browser, lab, name):
    page, nb = run_notebook(browser, lab, name)
    try:
        assert problems(page, nb) == []
    finally:
        page.close()
        lab.shutdown_kernels()


def _write_notebook(path, cells):
    import nbformat
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, str(path))


def test_a_broken_widget_and_an_error_are_caught(browser, lab):
    """The checks can fail: a widget whose view module does not exist shows the
    fallback, a cell that raises leaves an error output."""
    _write_notebook(lab.root / "notebooks" / "broken.ipynb", [
        "import ipywidgets, traitlets\n"
        "class Broken(ipywidgets.DOMWidget):\n"
        "    _view_module = traitlets.Unicode('tinykit-no-such-module').tag(sync=True)\n"
        "    _view_name = traitlets.Unicode('NoSuchView').tag(sync=True)\n"
        "Broken()",
        "print('a healthy cell')",
        "1 / 0",
    ])
    page = open_notebook(browser, lab, "notebooks/broken.ipynb")
    try:
        run_all(page, 120)
        found = problems(page, save(page, lab, "notebooks/broken.ipynb"))
        assert any(FALLBACK in p for p in found), found
        assert any("ZeroDivisionError" in p for p in found), found
        assert len(found) == 2, found
    finally:
        page.close()
        lab.shutdown_kernels()
