"""The embed widget's configuration of a community: its scorer weights and its stamp sections."""
from __future__ import annotations

from db.queries import accounts


class EmbedConfig:
    def __init__(self, pool, stamps):
        self._pool = pool
        self._stamps = stamps  # the weights, as /internal/embed/weights serves them

    def config(self, community_id: int) -> tuple[dict[str, float], str]:
        """(the weights, the stamp sections as JSON text: ``[{"title", "order", "items":
        [{"platform_id", "order"}]}]``); NotFound for an unknown community. Sections are empty when
        the community has no customization, as in Python."""
        weights = self._stamps.weights(community_id)
        with self._pool.cursor() as cur:
            return weights, accounts.embed_stamp_sections(cur, community_id)
