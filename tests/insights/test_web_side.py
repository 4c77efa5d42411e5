"""The web process reads stored insights only: it never loads the forecasting libraries."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_serving_admin_and_tasks_do_not_import_statsforecast():
    script = (
        "import os, sys\n"
        "os.environ['DJANGO_SETTINGS_MODULE'] = 'shop.settings'\n"
        "import django\n"
        "django.setup()\n"
        "import recommendations.receivers, recommendations.tasks, recommendations.urls\n"
        "import recommendations.serving.pipeline, recommendations.serving.preview\n"
        "import recommendations.admin, recommendations.insights.ranking\n"
        "import recommendations.insights.pricing\n"
        "print(sorted(m for m in ('statsforecast', 'numba', 'pandas') if m in sys.modules))\n"
        "import recommendations.insights.nightly\n"
        "print('statsforecast' in sys.modules)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-2:] == ["[]", "True"]
