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


# Python (api/embed/api.py): the customization of the community (scorer_id is unique there); its
# section orders by ("order", id), each with the stamp platforms of that customization and section
# header by ("order", id). A section without platforms is listed with no items; platforms under a
# header the customization does not order are left out. The server builds the JSON, keys in order.
_EMBED_STAMP_SECTIONS = """
SELECT coalesce(json_agg(json_build_object(
           'title', h.name, 'order', so."order",
           'items', (SELECT coalesce(json_agg(json_build_object('platform_id', pm.platform_id,
                                                                'order', sp."order")
                                              ORDER BY sp."order", sp.id), '[]')
                     FROM account_embedstampplatform sp
                     JOIN registry_platformmetadata pm ON pm.id = sp.platform_id
                     WHERE sp.customization_id = so.customization_id AND sp.section_id = so.section_id))
         ORDER BY so."order", so.id), '[]')::text
FROM account_customization cu
JOIN account_embedsectionorder so ON so.customization_id = cu.id
JOIN account_embedsectionheader h ON h.id = so.section_id
WHERE cu.scorer_id = %s
"""


def embed_stamp_sections(cur, community_id: int) -> str:
    """The community's embed stamp sections as JSON text (``[]`` without a customization)."""
    cur.execute(_EMBED_STAMP_SECTIONS, (community_id,))
    return cur.fetchone()[0]
