"""One persistent chdb session (the embedded ClickHouse engine of PyPI chdb-core) behind a
line protocol, so that tests written in TypeScript can use a current ClickHouse without a server
(test/helpers/chdb.ts; fetched by infra/local/chdb.sh).

Usage: PYTHONPATH=<chdb-core folder> python3 run.py DATA_DIR

DATA_DIR holds the engine's databases; it is created when missing and kept (open it again to see
the same data). The engine keeps its own defaults, which are those of a ClickHouse 26.9 server,
except `implicit_select`, which clickhouse-local turns on (a bare `1 + 1` runs as a SELECT) and
the profile here turns off again.

Protocol: one JSON object per line on stdin, one JSON object per line on stdout, in order.
First line out, once the engine is up: {"ok": true, "version": "26.9.2.1"}.
  {"query": "SELECT ...", "format": "JSONEachRow"}   -> {"ok": true, "rows": [...]}
  {"query": "CREATE ...", "format": "TSV"}           -> {"ok": true, "text": "..."}
  {"query": "INSERT INTO db.t (a, b) SETTINGS k = 'v'", "format": "TabSeparated",
   "data_base64": "..."}                             -> {"ok": true, "written_rows": 2}
  any failure                                        -> {"ok": false, "error": "Code: 60. DB::Exception: ..."}
"format" defaults to JSONEachRow for queries and TabSeparated for inserts. Insert data goes to the
engine as bytes through a streaming insert (the HTTP body of a server): data appended to the
query text would pass through a Python str and UTF-8, which changes every byte >= 0x80.

The default user may manage access (as compose's CLICKHOUSE_DEFAULT_ACCESS_MANAGEMENT=1 allows),
so RBAC statements are authorised and then fail for the one reason an embedded engine has: no
writable access storage (Code 514), never for lack of privileges.
"""

import base64
import json
import os
import sys

CONFIG_XML = """<clickhouse>
  <user_directories><users_xml><path>users.xml</path></users_xml></user_directories>
</clickhouse>
"""

USERS_XML = """<clickhouse>
  <profiles><default><implicit_select>0</implicit_select></default></profiles>
  <quotas><default/></quotas>
  <users>
    <default>
      <password/>
      <networks><ip>::/0</ip></networks>
      <profile>default</profile>
      <quota>default</quota>
      <access_management>1</access_management>
    </default>
  </users>
</clickhouse>
"""


def error_text(err):
    """The engine's own message from `Code: N` on (chdb prefixes some with its own words)."""
    text = str(err)
    at = text.find("Code: ")
    return text[at:] if at >= 0 else f"{type(err).__name__}: {text}"


def handle(conn, request):
    query = request["query"]
    if "data_base64" in request:
        inserter = conn.send_insert(query, request.get("format", "TabSeparated"))
        try:
            inserter.append(base64.b64decode(request["data_base64"], validate=True))
            result = inserter.finish()
        finally:
            inserter.cancel()  # a no-op after finish; aborts the insert when append failed
        return {"ok": True, "written_rows": result.rows_written}
    fmt = request.get("format", "JSONEachRow")
    text = conn.query(query, fmt).bytes().decode("utf-8", errors="replace")
    if fmt == "JSONEachRow":
        return {"ok": True, "rows": [json.loads(line) for line in text.splitlines() if line]}
    return {"ok": True, "text": text}


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: PYTHONPATH=<chdb-core folder> python3 run.py DATA_DIR")
    data_dir = os.path.abspath(sys.argv[1])
    if any(c in data_dir for c in "?&="):
        sys.exit(f"run.py: DATA_DIR must not contain ? & or = (it goes into a connection string): {data_dir}")
    config_dir = os.path.join(data_dir, "runner")
    os.makedirs(config_dir, exist_ok=True)
    for name, content in (("config.xml", CONFIG_XML), ("users.xml", USERS_XML)):
        with open(os.path.join(config_dir, name), "w", encoding="utf-8") as f:
            f.write(content)

    # Replies get their own copy of stdout; fd 1 then points at stderr, so that anything the
    # engine itself prints cannot corrupt the protocol.
    replies = os.fdopen(os.dup(1), "w", encoding="utf-8")
    os.dup2(2, 1)

    import chdb  # after the redirect: loading the engine may print

    conn = chdb.connect(f"{data_dir}?config-file={os.path.join(config_dir, 'config.xml')}")

    def reply(obj):
        replies.write(json.dumps(obj) + "\n")
        replies.flush()

    version = conn.query("SELECT version()", "TSV").bytes().decode().strip()
    reply({"ok": True, "version": version})
    try:
        for line in sys.stdin:
            if not line.strip():
                continue
            try:
                reply(handle(conn, json.loads(line)))
            except Exception as err:  # every failure is an answer; the session stays usable
                reply({"ok": False, "error": error_text(err)})
    finally:
        conn.close()


if __name__ == "__main__":
    main()
