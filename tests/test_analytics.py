"""API-key analytics: rows are queued per request and written in batches of one statement each."""
from __future__ import annotations

from app.analytics import UsageRecorder, usage_row
from db.pool import Pool


def _rows(key_id: str) -> list[dict]:
    return [
        usage_row(api_key_id=key_id, path="/v2/stamps/1/score/0xabc", status=200,
                  headers={"X-API-KEY": "secret.key", "Accept": "application/json"}, query={},
                  payload=None, response=b'{"score": "1.00000", "n": [1, 2.5, null]}'),
        usage_row(api_key_id=key_id, path="/embed/stamps/0xabc", status=422,
                  headers={"Content-Type": "application/json"}, query={"a": "1"},
                  payload={"scorer_id": "7", "stamps": [{"é": "ünïcode"}]},
                  response={"detail": "Invalid stamp.", "error": "Invalid stamp."}),
        usage_row(api_key_id=key_id, path="/" + "x" * 1200, status=404, headers={}, query={"b": ["1", "2"]},
                  payload=[], response=None),
    ]


def test_a_batch_is_written_with_every_column(database_url, world):
    pool = Pool(database_url, size=1)
    recorder = UsageRecorder(pool)
    key_id, _ = world.api_key(world.account())
    try:
        for row in _rows(key_id):
            recorder.record(row)
        assert recorder.flush()
    finally:
        pool.close()
    assert recorder.dropped == 0
    rows = world.query(
        "SELECT path, base_path, error, headers, path_segments, payload, query_params, response, "
        "response_skipped, status_code, created_at IS NOT NULL FROM account_accountapikeyanalytics "
        "WHERE api_key_id = %s ORDER BY id", key_id)
    # As Python's Lambda: no base_path, the key's prefix kept, the response body as a JSON string.
    assert rows[0] == ("/v2/stamps/1/score/0xabc", None, None,
                       {"x-api-key": "secret.***", "accept": "application/json"},
                       ["v2", "stamps", "1", "score", "0xabc"], None, {},
                       '{"score": "1.00000", "n": [1, 2.5, null]}', False, 200, True)
    assert rows[1][1:] == (None, "Invalid stamp.", {"content-type": "application/json"},
                           ["embed", "stamps", "0xabc"], {"scorer_id": "7", "stamps": [{"é": "ünïcode"}]},
                           {"a": "1"}, '{"detail":"Invalid stamp.","error":"Invalid stamp."}', False, 422, True)
    # Long paths are cut to the column's limit rather than failing the whole batch.
    assert len(rows[2][0]) == 1000
    assert rows[2][4:8] == (["x" * 1200], [], {"b": ["1", "2"]}, None)


def test_rows_recorded_together_are_written_in_one_transaction(database_url, world):
    """A busy worker writes one batch per interval, not one small transaction per request."""
    pool = Pool(database_url, size=1)
    recorder = UsageRecorder(pool, max_delay=0.3)
    key_id, _ = world.api_key(world.account())
    try:
        for i in range(50):
            recorder.record(usage_row(api_key_id=key_id, path=f"/v2/stamps/1/score/{i}", status=200,
                                      headers={}, query={}, payload=None, response=b"{}"))
        assert recorder.flush()
    finally:
        pool.close()
    assert world.query("SELECT count(*), count(DISTINCT xmin::text) FROM account_accountapikeyanalytics "
                       "WHERE api_key_id = %s", key_id) == [(50, 1)]
