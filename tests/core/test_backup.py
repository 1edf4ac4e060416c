"""`gisserver backup` and `gisserver restore`: a backup restored into a fresh database is the same."""

from __future__ import annotations

import io
import json
import os
import tarfile

import pytest
from sqlalchemy import text

from gisserver.accounts.users import create_user
from gisserver.app import create_app
from gisserver.backup import table_contents, verify_restore
from gisserver.core.cluster import private_cluster
from gisserver.core.config import Settings
from gisserver.core.exceptions import Invalid
from tests.conftest import suite_database_name
from tests.sample_city import build_sample_city

pytestmark = pytest.mark.skipif(
    bool(os.environ.get("GISSERVER_TEST_DATABASE_URL")), reason="needs the private cluster to create a second database"
)


@pytest.fixture
def fresh_database_url():
    cluster = private_cluster(Settings.from_env())
    name = suite_database_name() + "_restore"
    return cluster.recreate_database(name)


def test_backup_restores_into_a_fresh_database(app, cli, db, database_url, fresh_database_url, tmp_path):
    # Every kind of stored thing: areas, a layer's own data table, cameras, hotspots, a report, a user.
    build_sample_city(db, tmp_path)
    create_user(db, "nguyen-van-a", "correct horse battery", ["officer"], display_name="Nguyễn Văn A")
    db.commit()
    data_dir = app.config["SETTINGS"].data_dir
    photo = data_dir / "photos" / "2026" / "r1.jpg"
    photo.parent.mkdir(parents=True)
    photo.write_bytes(b"\xff\xd8 fake jpeg bytes \xff\xd9")
    snapshot = data_dir / "snapshots" / "2026" / "11" / "cam.jpg"
    snapshot.parent.mkdir(parents=True)
    snapshot.write_bytes(b"\xff\xd8 camera snapshot \xff\xd9")

    archive = tmp_path / "backup.tar"
    made = cli("backup", str(archive))
    assert made.exit_code == 0, made.output
    assert "2 files" in made.output

    restored_dir = tmp_path / "restored-data"
    target = create_app({"DATABASE_URL": fresh_database_url, "DATA_DIR": restored_dir})
    runner = target.test_cli_runner()
    from gisserver.cli import main

    result = runner.invoke(main, ["restore", str(archive)])
    assert result.exit_code == 0, result.output
    source = table_contents(database_url)
    assert any(name.startswith("layer_data.") for name in source) and source["public.reports"]["rows"] == 1
    # Same tables, same rows, same content (an order-independent checksum of every row's text).
    assert table_contents(fresh_database_url) == source
    assert (restored_dir / "photos" / "2026" / "r1.jpg").read_bytes() == photo.read_bytes()
    assert (restored_dir / "snapshots" / "2026" / "11" / "cam.jpg").read_bytes() == snapshot.read_bytes()

    with target.extensions["gisserver.db"].transaction() as session:
        from sqlalchemy import select

        from gisserver.accounts.models import User
        from gisserver.accounts.users import authenticate

        assert session.scalar(select(User.display_name).where(User.username == "nguyen-van-a")) == "Nguyễn Văn A"
        assert authenticate(session, "nguyen-van-a", "correct horse battery") is not None
    # The restored city answers through the app as the original does.
    restored_items = target.test_client().get("/ogc/collections/parcels/items").get_json()
    assert restored_items["numberMatched"] == 6

    # A second restore onto data is refused unless asked for.
    again = runner.invoke(main, ["restore", str(archive)])
    assert again.exit_code == 1 and "--replace" in again.output
    assert runner.invoke(main, ["restore", "--replace", str(archive)]).exit_code == 0
    assert table_contents(fresh_database_url) == table_contents(database_url)

    # A damaged archive (a stored photo changed after the backup) is refused before anything is touched.
    damaged = tmp_path / "damaged.tar"
    with tarfile.open(archive) as original, tarfile.open(damaged, "w") as copy:
        for member in original.getmembers():
            content = original.extractfile(member).read()
            if member.name.endswith("r1.jpg"):
                content = b"\xff\xd8 someone else's photo \xff\xd9"
                member.size = len(content)
            copy.addfile(member, io.BytesIO(content))
    refused = runner.invoke(main, ["restore", "--replace", str(damaged)])
    assert refused.exit_code == 1 and "damaged" in refused.output and "r1.jpg" in refused.output
    assert (restored_dir / "photos" / "2026" / "r1.jpg").read_bytes() == photo.read_bytes()
    assert table_contents(fresh_database_url) == table_contents(database_url)

    # verify_restore notices a single changed row.
    with tarfile.open(archive) as tar:
        manifest = json.loads(tar.extractfile("manifest.json").read())
    verify_restore(fresh_database_url, restored_dir, manifest)
    with target.extensions["gisserver.db"].transaction() as session:
        session.execute(text("UPDATE cameras SET name = 'Cầu Tràng Tiền' WHERE code = 'CAM-1'"))
    with pytest.raises(Invalid) as found:
        verify_restore(fresh_database_url, restored_dir, manifest)
    assert found.value.details["tables"] == ["public.cameras"]
    target.extensions["gisserver.db"].dispose()


def test_restore_refuses_a_file_that_is_not_a_backup(cli, tmp_path):
    bogus = tmp_path / "not-a-backup.tar"
    bogus.write_text("hello")
    result = cli("restore", str(bogus))
    assert result.exit_code == 1 and "not a gisserver backup" in result.output


def test_restore_names_the_missing_extensions_before_touching_anything(cli, database_url, tmp_path):
    """A database made by someone else's superuser without PostGIS: the restore says what to run, restores nothing,
    and works once that is done."""
    import psycopg
    from psycopg import sql

    from gisserver.cli import main

    archive = tmp_path / "backup.tar"
    assert cli("backup", str(archive)).exit_code == 0
    cluster = private_cluster(Settings.from_env())
    name = suite_database_name() + "_bare"
    with psycopg.connect(cluster._dsn(), autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        conn.execute(sql.SQL("CREATE DATABASE {} OWNER gisserver").format(sql.Identifier(name)))
    target = create_app({"DATABASE_URL": cluster.url(name), "DATA_DIR": tmp_path / "restored"})
    try:
        refused = target.test_cli_runner().invoke(main, ["restore", str(archive)])
        assert refused.exit_code == 1
        assert "lacks the extension(s) postgis, pg_trgm, unaccent; nothing was restored" in refused.output
        assert "CREATE EXTENSION IF NOT EXISTS postgis;" in refused.output
        assert "CREATE EXTENSION IF NOT EXISTS unaccent;" in refused.output
        assert table_contents(cluster.url(name)) == {}
        cluster._create_extensions(name)  # what the message asked a superuser to do
        done = target.test_cli_runner().invoke(main, ["restore", str(archive)])
        assert done.exit_code == 0, done.output
        assert "public.reports" in table_contents(cluster.url(name))
    finally:
        target.extensions["gisserver.db"].dispose()
        with psycopg.connect(cluster._dsn(), autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
