"""Thin HTTP layer, one blueprint per audience."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from . import (
        admin,
        auth,
        calls,
        evaluation,
        exports,
        ivr,
        ivr_aliyun,
        main,
        rectification,
        review,
        statistics,
        supervision,
        units,
    )

    app.register_blueprint(main.bp)
    app.register_blueprint(auth.bp, url_prefix="/auth")
    app.register_blueprint(units.bp, url_prefix="/unit")
    app.register_blueprint(review.bp, url_prefix="/review")
    app.register_blueprint(calls.bp, url_prefix="/calls")
    app.register_blueprint(ivr.bp, url_prefix="/ivr")
    app.register_blueprint(ivr_aliyun.bp, url_prefix="/ivr/aliyun")
    app.register_blueprint(statistics.bp, url_prefix="/statistics")
    app.register_blueprint(exports.bp, url_prefix="/statistics/exports")
    app.register_blueprint(admin.bp, url_prefix="/admin")
    app.register_blueprint(evaluation.bp, url_prefix="/evaluation")
    app.register_blueprint(rectification.bp, url_prefix="/rectification")
    app.register_blueprint(supervision.bp, url_prefix="/supervision")
