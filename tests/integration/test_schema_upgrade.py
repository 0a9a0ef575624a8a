"""A database made before the kernel's migrations left the core module.

The fixtures (tests/unit/fixtures/core*-before-kernel-split.sql) were made by
main at 3a1b053: every table under "core" versions 1 to 13 (or 1 to 7). A
real tremplind started on them takes the kernel's steps as applied (or runs
the missing ones), serves the old rows, and ends with the schema a fresh
daemon makes.
"""
import os
import sqlite3

import pytest

import tremplin_test as tt

FIXTURES = os.path.join(tt.TOP_SRCDIR, "tests", "unit", "fixtures")


def schema(path):
    con = sqlite3.connect(path)
    try:
        return (con.execute("SELECT type, name, tbl_name, sql FROM sqlite_schema"
                            " ORDER BY type, name").fetchall(),
                con.execute("SELECT module, max(version) FROM schema_migrations"
                            " GROUP BY module ORDER BY module").fetchall())
    finally:
        con.close()


@pytest.fixture(scope="module")
def fresh_schema(module_daemons):
    d = module_daemons()
    assert d.stop() == 0
    return schema(d.database)


@pytest.mark.parametrize("upto", [13, 7])
def test_old_database__started__kernel_steps_taken_rows_served_schema_as_fresh(
        make_daemon, fresh_schema, upto):
    d = make_daemon(start=False)
    with open(os.path.join(FIXTURES, "core%d-before-kernel-split.sql" % upto)) as f:
        dump = f.read()
    con = sqlite3.connect(d.database)
    con.executescript(dump)
    con.close()
    offset = d.log_size()
    d.start()
    e = d.get("/v1/employees/1", who="coordinator")
    assert e.status == 200, e
    assert e.body["last_name"] == "Bernard"
    assert d.stop() == 0
    log = d.log_since(offset)
    # Taken as applied where the old code ran them, run where it did not.
    adopted = [v for v in range(1, 8) if "migration kernel %d was applied as core" % v in log]
    assert adopted == ([1, 2, 3, 4, 5, 6, 7] if upto == 13 else [1, 2, 3, 4]), log
    assert d.sql("SELECT version FROM schema_migrations WHERE module = 'kernel'"
                 " ORDER BY version") == [(v,) for v in range(1, 8)]
    # The core's steps after the split (14 on) run on it as on a fresh one.
    assert d.sql("SELECT max(version) FROM schema_migrations WHERE module = 'core'")[0][0] \
        == dict(fresh_schema[1])["core"]
    assert schema(d.database) == fresh_schema
    # Started again: nothing left to do.
    offset = d.log_size()
    d.start()
    assert d.stop() == 0
    assert "migration" not in d.log_since(offset)
