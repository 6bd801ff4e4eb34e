"""Automated IVR calls: the telephony provider's webhooks (signed requests only)."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("ivr", __name__)
