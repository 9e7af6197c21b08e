"""Rows the Django admin would create (accounts, scorers, communities, API keys, cached stamps).

Never used by the service itself: the demo data of ``make run``, the tests and the benchmark data
generator build their data with these, so every INSERT of that kind lives in one place. All
functions take an open cursor and leave transaction control to the caller.
"""
from __future__ import annotations

import uuid
from datetime import datetime, timezone
from decimal import Decimal

from psycopg2.extras import Json

# registry_humanpointsconfig as migration registry.0050 seeds it in production.
HUMAN_POINTS_CONFIG = {"SCB": 500, "HKY": 100, "ISB": 100, "ISS": 200, "ISG": 500, "CSB": 100,
                       "CSE": 200, "CST": 500, "PMT": 300, "HIM": 1000}


def _now() -> datetime:
    return datetime.now(timezone.utc)


def create_account(cur, address: str | None = None) -> int:
    username = f"user-{uuid.uuid4().hex[:12]}"
    cur.execute(
        """INSERT INTO auth_user (password, is_superuser, username, first_name, last_name, email,
                                  is_staff, is_active, date_joined)
           VALUES ('!', false, %s, '', '', '', false, true, now()) RETURNING id""", (username,))
    user_id = cur.fetchone()[0]
    cur.execute("INSERT INTO account_account (address, user_id) VALUES (%s, %s) RETURNING id",
                ((address or "0x" + uuid.uuid4().hex.ljust(40, "0"))[:42].lower(), user_id))
    return cur.fetchone()[0]


def create_scorer(cur, weights: dict, threshold: Decimal | str | float = "20",
                  kind: str = "WEIGHTED_BINARY") -> int:
    """A scorer_weighted_scorer row and its child (binary weighted or weighted) with the config."""
    cur.execute("INSERT INTO scorer_weighted_scorer (type, exclude_from_weight_updates) "
                "VALUES (%s, false) RETURNING id", (kind,))
    scorer_id = cur.fetchone()[0]
    child = ("scorer_weighted_binaryweightedscorer" if kind == "WEIGHTED_BINARY"
             else "scorer_weighted_weightedscorer")
    cur.execute(f"INSERT INTO {child} (scorer_ptr_id, weights, threshold) VALUES (%s, %s, %s)",
                (scorer_id, Json(weights), Decimal(str(threshold))))
    return scorer_id


def create_community(cur, account_id: int, scorer_id: int, name: str | None = None, *,
                     human_points_program: bool = False, external_scorer_id: str | None = None) -> int:
    cur.execute(
        """INSERT INTO account_community (name, description, account_id, scorer_id, created_at, rule,
                                          use_case, external_scorer_id, human_points_program)
           VALUES (%s, 'My community', %s, %s, now(), 'LIFO', 'demo', %s, %s) RETURNING id""",
        (name or f"community-{uuid.uuid4().hex[:8]}", account_id, scorer_id, external_scorer_id,
         human_points_program))
    return cur.fetchone()[0]


def create_customization(cur, community_id: int) -> int:
    """A partner customization of the community (its NOT NULL columns at the admin's defaults)."""
    cur.execute(
        """INSERT INTO account_customization (path, scorer_id, use_custom_dashboard_panel,
             body_display_info_tooltip, button_action_type, show_explanation_panel, partner_name,
             nav_order, show_in_top_nav)
           VALUES (%s, %s, false, false, 'Simple Link', true, 'Partner', 0, false) RETURNING id""",
        (f"path-{community_id}", community_id))
    return cur.fetchone()[0]


def create_api_key(cur, account_id: int, prefix: str, hashed: str, hashed_sha256: str | None,
                   name: str = "key", *, revoked: bool = False, expiry_date: datetime | None = None,
                   read_scores: bool = True, embed_rate_limit: str | None = "125/15m") -> str:
    """A key row as the Django library stores it, from its prefix and hashes
    (``app.api_keys.new_key``); returns the row id."""
    key_id = f"{prefix}.{hashed}"[:150]
    cur.execute(
        """INSERT INTO account_accountapikey
             (id, prefix, hashed_key, created, name, revoked, expiry_date, account_id, rate_limit,
              create_scorers, read_scores, submit_passports, analysis_rate_limit, historical_endpoint,
              embed_rate_limit, hashed_key_sha256)
           VALUES (%s, %s, %s, now(), %s, %s, %s, %s, '125/15m', false, %s, true, '15/15m', false,
                   %s, %s)""",
        (key_id, prefix, hashed, name, revoked, expiry_date, account_id, read_scores,
         embed_rate_limit, hashed_sha256))
    return key_id


def add_cached_stamp(cur, address: str, credential: dict, *, source_app: int | None = 1,
                     source_scorer_id: int | None = None, updated_at: datetime | None = None) -> int:
    """A live V1 ceramic-cache row for ``credential``, as the bulk endpoints write it."""
    subject = credential.get("credentialSubject", {})
    cur.execute(
        """INSERT INTO ceramic_cache_ceramiccache
             (address, provider, stamp, created_at, updated_at, type, compose_db_save_status,
              compose_db_stream_id, expiration_date, issuance_date, proof_value, source_app,
              source_scorer_id)
           VALUES (%s, %s, %s, now(), %s, 1, 'pending', '', %s, %s, %s, %s, %s) RETURNING id""",
        (address.lower(), subject.get("provider", ""), Json(credential), updated_at or _now(),
         credential.get("expirationDate"), credential.get("issuanceDate"),
         credential.get("proof", {}).get("proofValue", ""), source_app, source_scorer_id))
    return cur.fetchone()[0]


def seed_human_points_config(cur) -> None:
    cur.execute("SELECT count(*) FROM registry_humanpointsconfig")
    if cur.fetchone()[0]:
        return
    for action, points in HUMAN_POINTS_CONFIG.items():
        cur.execute("INSERT INTO registry_humanpointsconfig (action, points, active) VALUES (%s, %s, true)",
                    (action, points))
