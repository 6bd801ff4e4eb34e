"""The pages and exports with the figures and signals computed apart (a runner, not inline):
the exports take the signals the pages show; a wave's first figures answer at once."""

from __future__ import annotations

import contextlib
import io
import re
import threading
import time
from concurrent.futures import Future

import openpyxl
from sqlmodel import Session, select

from survey_service.blueprints.results_cache import CACHE_KEY
from survey_service.db import transaction
from survey_service.models import SampleDraw, SurveyWave
from survey_service.results import signal_views, signals
from survey_service.results.cache import ResultsCache
from survey_service.results.computing import Threads
from survey_service.results.exports import files
from tests.factories import make_user
from tests.results.test_exports import parse_csv
from tests.results.test_signals import PLAN, build_signals_wave
from tests.web.test_exports_web import PREFIX, _events, _register


def _threads(app) -> Threads:
    engine = app.extensions["engine"]

    @contextlib.contextmanager
    def open_session():
        with Session(engine, expire_on_commit=False) as own:
            yield own

    return Threads(open_session)


def _install(app, cache: ResultsCache) -> ResultsCache:
    app.extensions[CACHE_KEY] = cache
    return cache


def test_signal_exports_take_the_pages_signals_without_recomputing(
    app, client, auth, session, monkeypatch
):
    """Do the signals CSV and the workbook's 异常信号 sheet take the signals computed apart
    for the pages (one computation, none in the request) and show the page's rows?"""
    _register(app)
    build_signals_wave(session)
    _install(app, ResultsCache(runner=_threads(app)))
    computed: list[str] = []
    real = signals.unit_signals

    def counted(*args, **kwargs):
        computed.append(threading.current_thread().name)
        return real(*args, **kwargs)

    monkeypatch.setattr(signals, "unit_signals", counted)
    auth.login("reviewer")
    page = client.get("/statistics/results/signals").get_data(as_text=True)
    on_page = re.findall(r'<tr data-code="(\w+)"', page)
    flagged_on_page = re.findall(r'<tr data-code="(\w+)" class="flagged">', page)
    assert flagged_on_page == ["P1", "P3", "P4", "P5"] and len(on_page) == 7
    assert len(computed) == 1 and computed[0].startswith("results-wave-")  # apart

    recomputed: list[int] = []

    def recompute(*_args, **_kwargs):
        recomputed.append(1)
        raise AssertionError("the export recomputed the signals")

    monkeypatch.setattr(signal_views, "wave_signals", recompute)
    monkeypatch.setattr(files, "wave_signals", recompute)
    csv = client.get(f"{PREFIX}/signals.csv")
    book = client.get(f"{PREFIX}/report.xlsx")
    assert csv.status_code == 200 and book.status_code == 200
    assert recomputed == [] and len(computed) == 1  # the cached ones, same data version
    assert _events(session, "export.signals_csv") == 1
    assert _events(session, "export.report_xlsx") == 1

    header, rows = parse_csv(csv.data)
    assert [r["单位代码"] for r in rows] == on_page
    flag_columns = [name for name in header if name.endswith("异常")]
    flagged = [r["单位代码"] for r in rows if any(r[name] == "是" for name in flag_columns)]
    assert flagged == flagged_on_page
    by_code = {r["单位代码"]: r for r in rows}
    assert by_code["P1"]["总体评价“非常满意”(计数/分母)"] == "8/8"  # as on the page
    assert by_code["P3"]["甄别不符（没办过/记不清）(计数/分母)"] == "5/8"
    sheet = openpyxl.load_workbook(io.BytesIO(book.data))["异常信号"]
    cells = [[_value(v) for v in row] for row in sheet.iter_rows(values_only=True)]
    assert cells[0] == header
    assert cells[1:] == [[_value(r[name]) for name in header] for r in rows]


def _value(cell):
    """A cell as a number where it is one (the workbook keeps 200, the CSV writes 200.0)."""
    if cell is None:
        return ""
    try:
        return float(cell)
    except ValueError:
        return cell


class HeldRunner:
    """Threads that start computing only once ``release`` is set (a niced child on a busy
    node); counts the computations asked for."""

    def __init__(self, inner: Threads) -> None:
        self.inner = inner
        self.release = threading.Event()
        self.submitted: list[int] = []

    def submit(self, wave_id: int, *, figures: bool, with_signals: bool) -> Future:
        self.submitted.append(wave_id)
        future: Future = Future()

        def run() -> None:
            self.release.wait(60)
            inner = self.inner.submit(wave_id, figures=figures, with_signals=with_signals)
            try:
                future.set_result(inner.result(60))
            except BaseException as exc:
                future.set_exception(exc)

        threading.Thread(target=run, daemon=True).start()
        return future

    def close(self) -> None:
        self.release.set()


def test_first_figures_answer_at_once_with_a_refreshing_page(app, client, auth, session):
    """While a wave's first figures are computed apart, do the results page and the
    workbook answer 202 within the first wait with a page that refreshes itself, without
    starting the computation again; and the page the figures once they are done?"""
    _register(app)
    wave = build_signals_wave(session)
    runner = HeldRunner(_threads(app))
    _install(app, ResultsCache(runner=runner, first_wait=0.3))
    auth.login("reviewer")
    for path in ("/statistics/results", f"{PREFIX}/report.xlsx", "/statistics/results"):
        started = time.monotonic()
        response = client.get(path)
        assert time.monotonic() - started < 10
        text = response.get_data(as_text=True)
        assert response.status_code == 202 and response.mimetype == "text/html"
        assert response.headers["Retry-After"] == "5"
        assert "本轮的结果正在计算…" in text and '<meta http-equiv="refresh" content="5">' in text
    # a form that needs the figures (release to the units below target): 202, no refresh
    with transaction(session):
        make_user(session, username="statistician", role="statistician")
    draw_id = session.exec(select(SampleDraw.id)).one()
    auth.logout()
    auth.login("statistician")
    posted = client.post(f"/statistics/draws/{draw_id}/release", data={"units": ""})
    text = posted.get_data(as_text=True)
    assert posted.status_code == 202 and "本轮的结果正在计算…" in text
    assert 'http-equiv="refresh"' not in text and "请稍后返回上一页重新提交" in text
    assert len(runner.submitted) == 1  # one computation, not one a request
    assert _events(session, "export.report_xlsx") == 0
    # a background export job waits for them however long they take
    cache = app.extensions[CACHE_KEY]
    got = []

    def job() -> None:
        with Session(app.extensions["engine"], expire_on_commit=False) as own:
            got.append(cache.export_inputs(own, own.get(SurveyWave, wave.id), block=True))

    waiting = threading.Thread(target=job, daemon=True)
    waiting.start()
    waiting.join(1.0)
    assert waiting.is_alive() and got == []  # past the first wait, still waiting
    runner.release.set()
    waiting.join(60)
    assert len(got) == 1 and [s.code for s in got[0][1]] == sorted(PLAN)
    deadline = time.monotonic() + 60
    while (response := client.get("/statistics/results")).status_code == 202:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    text = response.get_data(as_text=True)
    assert response.status_code == 200 and "正在计算" not in text
    assert '<tr data-code="P1"' in text and len(runner.submitted) == 1
