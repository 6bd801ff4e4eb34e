"""Thin HTTP layer, one blueprint per audience."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from . import admin, auth, calls, exports, ivr, main, review, statistics, units

    app.register_blueprint(main.bp)
    app.register_blueprint(auth.bp, url_prefix="/auth")
    app.register_blueprint(units.bp, url_prefix="/unit")
    app.register_blueprint(review.bp, url_prefix="/review")
    app.register_blueprint(calls.bp, url_prefix="/calls")
    app.register_blueprint(ivr.bp, url_prefix="/ivr")
    app.register_blueprint(statistics.bp, url_prefix="/statistics")
    app.register_blueprint(exports.bp, url_prefix="/statistics/exports")
    app.register_blueprint(admin.bp, url_prefix="/admin")
    from . import evaluation, rectification  # the office's evaluation and 整改清单

    app.register_blueprint(evaluation.bp, url_prefix="/evaluation")
    app.register_blueprint(rectification.bp, url_prefix="/rectification")
