"""Address lists (allow lists) and custom credential definitions."""
from __future__ import annotations


def is_list_member(cur, list_name: str, address: str) -> bool:
    cur.execute("""SELECT EXISTS (SELECT 1 FROM account_addresslistmember m
                                  JOIN account_addresslist l ON l.id = m.list_id
                                  WHERE l.name = %s AND m.address = %s)""", (list_name, address))
    return cur.fetchone()[0]


def credential_definition(cur, provider_id: str):
    """The ruleset's ``definition`` JSON, or None."""
    cur.execute("SELECT definition FROM account_customcredentialruleset WHERE provider_id = %s", (provider_id,))
    row = cur.fetchone()
    return None if row is None else row[0]
