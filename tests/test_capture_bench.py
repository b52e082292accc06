"""The capture benchmark, short: no frame lost on a clean link, all corruption caught."""
import json
import shutil
import subprocess
import sys

import pytest

MISSING = [t for t in ("socat", "qemu-system-arm", "arm-none-eabi-gcc") if shutil.which(t) is None]


@pytest.mark.slow
@pytest.mark.skipif(bool(MISSING), reason=f"{MISSING} not installed; run `sh boards/install-tools.sh`")
def test_bench_capture(root, tmp_path):
    out = tmp_path / "capture.json"
    subprocess.run([sys.executable, str(root / "bench" / "capture.py"), "--seconds", "2",
                    "--json", str(out)], check=True, cwd=root, timeout=300)
    runs = json.loads(out.read_text())["scenarios"]
    for name, r in runs.items():
        if "corrupt" in name:
            assert r["corrupt_injected"] > 0
            assert r["corrupt_detected"] == r["corrupt_injected"], name
            assert 0 < r["frames_dropped"] <= r["corrupt_injected"], name
            assert r["frames_received"] + r["frames_dropped"] == r["frames_sent"], name
        else:
            assert r["frames_received"] == r["frames_sent"] and r["frames_dropped"] == 0, name
            assert r["corrupt_detected"] == 0, name
    assert runs["pty-realtime"]["bytes_per_second"] > 30000    # 16 kHz int16 is 32 kB/s + framing
